"""The hit row every layer shares, without the hit store: no SQLAlchemy, no models.

The readers, the analyzer's spool and ``scan --jobs`` workers build and pass these rows; only storing
them needs :mod:`storage.repositories.hits` (which re-exports both names). Workers forked before the
parent imports SQLAlchemy (``scan --jobs N``) then never import it.
"""

from __future__ import annotations

from collections.abc import Iterable
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


def best_rows(rows: Iterable[HitRow]) -> list[HitRow]:
    """One row per identity, the most confident (the first of equals) winning."""
    best: dict[tuple[str, str, bytes, int], HitRow] = {}
    for row in rows:
        current = best.get(row.identity)
        if current is None or row.confidence > current.confidence:
            best[row.identity] = row
    return list(best.values())
