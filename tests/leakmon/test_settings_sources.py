"""Settings read the environment and the TOML file as pydantic-settings did (issue 11: start-up).

``leakmon.settings`` reads plain ``LEAKMON_`` values itself and leaves the rest to pydantic-settings'
environment source; each case here is read both ways: by it and by a ``BaseSettings`` class with
the old configuration (prefix, ``__`` delimiter, the TOML file under the environment).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError, create_model
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from leakmon.settings import Settings, config_path, plain_environment


class _ReferenceBase(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEAKMON_", env_nested_delimiter="__", extra="forbid")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_path())
        return (init_settings, env_settings, file_secret_settings, toml)


Reference: Any = create_model(  # type: ignore[call-overload]
    "Reference", __base__=_ReferenceBase, **{name: (f.annotation, f) for name, f in Settings.model_fields.items()}
)

TOML = """
home = "/srv/leakmon"
brands = ["acme"]
[evidence]
store_files = true
[files]
max_members = 10
[alerts]
min_confidence = 0.5
"""

CASES: list[tuple[str, dict[str, str], dict[str, Any]]] = [
    ("nothing", {}, {}),
    ("plain values", {"LEAKMON_HOME": "/tmp/ws", "LEAKMON_DATABASE_URL": "sqlite:///x", "LEAKMON_KEY_FILE": "k"}, {}),
    ("lower-case name", {"leakmon_home": "/tmp/lower", "LEAKMON_REDIS_URL": "redis://r"}, {}),
    ("empty value", {"LEAKMON_DATABASE_URL": ""}, {}),
    ("names of no setting", {"LEAKMON_HMAC_KEY": "abc", "LEAKMON_TEST_PG": "x", "LEAKMON_HOMEX": "y"}, {}),
    ("nested key", {"LEAKMON_EVIDENCE__STORE_POST_TEXT": "none", "LEAKMON_HOME": "/tmp/ws"}, {}),
    ("nested under a table", {"LEAKMON_FILES__MAX_MEMBERS": "5", "LEAKMON_ALERTS__JUMP": "0.2"}, {}),
    ("a JSON list", {"LEAKMON_BRANDS": '["x", "y"]'}, {}),
    ("a JSON table", {"LEAKMON_SCAN": '{"jobs": 1}', "LEAKMON_SCAN__MIN_CONFIDENCE": "0.3"}, {}),
    ("custom type", {"LEAKMON_IDENTIFIERS__CUSTOM__MEMBER__PATTERN": "M[0-9]{6}"}, {}),
    ("overrides", {"LEAKMON_HOME": "/tmp/ws"}, {"home": "/tmp/over", "alerts": {"jump": 0.1}}),
    ("an unknown nested key", {"LEAKMON_EVIDENCE__TYPO": "1"}, {}),
    ("an invalid value", {"LEAKMON_SCAN__JOBS": "0"}, {}),
    ("an unknown override", {}, {"typo": 1}),
]


def outcome(cls: Any, overrides: dict[str, Any]) -> Any:
    try:
        return cls(**overrides).model_dump()
    except ValidationError as exc:
        return [(error["type"], error["loc"], error["msg"]) for error in exc.errors()]


@pytest.mark.parametrize("with_toml", [False, True], ids=["no file", "toml"])
@pytest.mark.parametrize(("environment", "overrides"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_settings_are_read_as_pydantic_settings_reads_them(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    environment: dict[str, str],
    overrides: dict[str, Any],
    with_toml: bool,
) -> None:
    for name in [name for name in __import__("os").environ if name.upper().startswith("LEAKMON_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no config/leakmon.toml here
    if with_toml:
        (tmp_path / "leakmon.toml").write_text(TOML, encoding="utf-8")
        monkeypatch.setenv("LEAKMON_CONFIG", str(tmp_path / "leakmon.toml"))
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert outcome(Settings, overrides) == outcome(Reference, overrides)


def test_plain_values_are_read_without_pydantic_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEAKMON_HOME", "/tmp/ws")
    monkeypatch.setenv("LEAKMON_HMAC_KEY", "not a setting")
    monkeypatch.delenv("LEAKMON_DATABASE_URL", raising=False)
    assert plain_environment() is not None
    monkeypatch.setenv("LEAKMON_EVIDENCE__STORE_FILES", "true")
    assert plain_environment() is None
