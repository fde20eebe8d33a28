"""The hit row every layer shares, without the hit store: no SQLAlchemy, no models.

The readers, the analyzer's spool and ``scan --jobs`` workers build and pass these rows; only storing
them needs :mod:`storage.repositories.hits` (which re-exports both names). Workers forked before the
parent imports SQLAlchemy (``scan --jobs N``) then never import it.
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import itemgetter
from typing import NamedTuple


class HitRow(NamedTuple):
    """One hit as stored (without its post, id and times): the row type every layer shares."""

    attachment_sha256: str | None
    source: str
    locator: str
    id_type: str
    form: str
    digest: bytes
    key_id: str
    subject_id: int | None
    subject_slot: int
    compatible_subjects: int
    match_kind: str
    obfuscation: str
    confidence: float
    masked: str
    explanation: str  # JSON text (rendered once per distinct explanation)

    @property
    def identity(self) -> tuple[str, str, bytes, int]:
        """What makes two rows of one post the same hit."""
        return (self.id_type, self.form, self.digest, self.subject_slot)


#: :attr:`HitRow.identity` read in C (no property call per row): type, form, digest, subject slot.
_IDENTITY = itemgetter(*(HitRow._fields.index(name) for name in ("id_type", "form", "digest", "subject_slot")))


def best_rows(rows: Iterable[HitRow]) -> list[HitRow]:
    """One row per identity, the most confident (the first of equals) winning.

    One dictionary operation a row in the usual case (an identity seen once): ``setdefault``
    stores the row or returns the one already there."""
    best: dict[tuple[str, str, bytes, int], HitRow] = {}
    keep = best.setdefault
    identity = _IDENTITY
    for row in rows:
        key = identity(row)
        current = keep(key, row)
        if current is not row and row.confidence > current.confidence:
            best[key] = row
    return list(best.values())
