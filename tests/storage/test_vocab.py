"""Stored vocabularies are StrEnums whose values are exactly the strings stored before them.

No migration came with the enums: this pins every value byte for byte, so changing one fails here
first (a changed value needs a migration and a changelog line).
"""

from __future__ import annotations

from enum import StrEnum

import pytest

from crawlers.files import report
from matchers.model import Form, Validation
from matchers.registry import IdentifierRegistry
from storage.models.cases import EXCLUDING_LABELS, INCIDENT_STATUSES, LABELS
from storage.models.vocab import AttachmentStatus, HitLabelValue, IncidentStatus, PostChange, PostStatus, RunStatus

STORED: list[tuple[type[StrEnum], set[str]]] = [
    (PostStatus, {"ok", "partial", "failed"}),
    (AttachmentStatus, {"ok", "partial", "skipped", "failed"}),
    (PostChange, {"new", "changed", "unchanged"}),
    (RunStatus, {"running", "ok", "failed", "deferred", "interrupted"}),
    (IncidentStatus, {"open", "closed", "merged"}),
    (HitLabelValue, {"confirmed", "false_positive", "seller_contact", "test_data"}),
    (Validation, {"checksum_ok", "checksum_mismatch", "luhn_ok", "luhn_fail"}),
    (
        Form,
        {"full", "fl", "f", "p1d", "p2d", "p3d", "p6s4", "p5", "p6", "p7", "p8", "p2s4", "p3s4", "p4s4"},
    ),
]


@pytest.mark.parametrize(("enum", "values"), STORED, ids=[enum.__name__ for enum, _ in STORED])
def test_enum_values_are_the_stored_strings(enum: type[StrEnum], values: set[str]) -> None:
    assert {member.value for member in enum} == values
    assert all(isinstance(member, str) and str(member) == member.value for member in enum)


def test_the_old_tuples_are_the_enums() -> None:
    assert LABELS == ("confirmed", "false_positive", "seller_contact", "test_data")
    assert EXCLUDING_LABELS == ("false_positive", "seller_contact", "test_data")
    assert INCIDENT_STATUSES == ("open", "closed", "merged")
    statuses = {report.STATUS_OK, report.STATUS_PARTIAL, report.STATUS_SKIPPED, report.STATUS_FAILED}
    assert statuses == {status.value for status in AttachmentStatus}


def test_every_form_a_recognizer_stores_is_declared() -> None:
    registry = IdentifierRegistry.default()
    produced = {"full"} | {form for rec in registry.recognizers() for form in rec.partial_forms}
    assert produced == {form.value for form in Form}


def test_validation_labels_come_from_the_declaration() -> None:
    registry = IdentifierRegistry.default()
    labels = {
        registry.get("card").validation_label("4111111111111111"),
        registry.get("card").validation_label("4111111111111112"),
        registry.get("rrn").validation_label("9001011234567"),
    }
    assert labels <= {label.value for label in Validation}
