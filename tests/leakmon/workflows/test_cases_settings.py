"""Every field of the [alerts] and [retention] sections is described (docs are tested)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from leakmon.workflows.alerts import AlertSettings, EmailChannel, WebhookChannel
from leakmon.workflows.retention import RetentionSettings

MODELS: list[type[BaseModel]] = [AlertSettings, WebhookChannel, EmailChannel, RetentionSettings]


@pytest.mark.parametrize(
    ("model", "name"),
    [(model, name) for model in MODELS for name in model.model_fields],
    ids=lambda v: v if isinstance(v, str) else v.__name__,
)
def test_every_field_is_described(model: type[BaseModel], name: str) -> None:
    assert model.model_fields[name].description, f"{model.__name__}.{name} has no description"


def test_secrets_stay_masked_in_repr() -> None:
    channel = WebhookChannel(url="https://hooks.example/T000/secret-token")
    assert "secret-token" not in repr(channel)
