"""A hit as output: the one frozen type and the one JSON rendering `scan` and `hits` share.

The contract (ARCHITECTURE.md, "A hit as JSON"): ``source``, ``locator``, ``subject_ref``,
``id_type``, ``match_kind``, ``obfuscation``, ``confidence``, ``masked``, then the ids ``hit_id``,
``post_id``, ``incident_id`` (null until stored). A command adds its own columns after these
(``scan``: ``compatible_subjects``; ``hits``: venue, permalink, label, times...), never instead of them.
Masked values and opaque subject references only: there is no field a plaintext could go in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: The contract's keys, in the order every command writes them.
HIT_FIELDS = (
    "source",
    "locator",
    "subject_ref",
    "id_type",
    "match_kind",
    "obfuscation",
    "confidence",
    "masked",
    "hit_id",
    "post_id",
    "incident_id",
)
#: Digits a confidence is written with (stored values are floats).
CONFIDENCE_DIGITS = 3


@dataclass(frozen=True, slots=True)
class HitOut:
    """One hit as a command shows it."""

    source: str
    locator: str
    subject_ref: str | None
    id_type: str
    match_kind: str
    obfuscation: str
    confidence: float
    masked: str
    hit_id: int | None = None
    post_id: int | None = None
    incident_id: int | None = None

    @classmethod
    def of(cls, row: Any, **fields: Any) -> HitOut:
        """From anything with the stored hit's attributes (a ``HitRow``, a result row); ``fields``
        give or override the rest (``subject_ref``, ids, the ``source`` a command shows)."""
        values: dict[str, Any] = {name: getattr(row, name, None) for name in HIT_FIELDS}
        values.update(fields)
        return cls(**values)

    @classmethod
    def from_mapping(cls, row: Mapping[str, Any], **fields: Any) -> HitOut:
        values: dict[str, Any] = {name: row.get(name) for name in HIT_FIELDS}
        values.update(fields)
        return cls(**values)

    def json(self) -> dict[str, object]:
        """The contract's keys in order, the confidence rounded: the one rendering."""
        return hit_json(
            self.source,
            self.locator,
            self.subject_ref,
            self.id_type,
            self.match_kind,
            self.obfuscation,
            self.confidence,
            self.masked,
            self.hit_id,
            self.post_id,
            self.incident_id,
        )


def hit_json(
    source: str,
    locator: str,
    subject_ref: str | None,
    id_type: str,
    match_kind: str,
    obfuscation: str,
    confidence: float,
    masked: str,
    hit_id: int | None = None,
    post_id: int | None = None,
    incident_id: int | None = None,
) -> dict[str, object]:
    """:meth:`HitOut.json` of these fields, without building a :class:`HitOut` (a big scan writes one
    record per hit: the frozen instance and its attribute look-ups were most of the cost)."""
    return {
        "source": source,
        "locator": locator,
        "subject_ref": subject_ref,
        "id_type": id_type,
        "match_kind": match_kind,
        "obfuscation": obfuscation,
        "confidence": round(float(confidence), CONFIDENCE_DIGITS),
        "masked": masked,
        "hit_id": hit_id,
        "post_id": post_id,
        "incident_id": incident_id,
    }
