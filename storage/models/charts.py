"""Summaries behind the console's pictures, kept as hits are stored (never recounted from every hit)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base


class SubjectFirstSeen(Base):
    """The sources and identifier types a subject was first seen at on one UTC day.

    One row per subject and day on which something was new for it: ``sources`` and ``types`` are
    JSON arrays of strings (either may be empty), and each source and each type of the subject is
    in exactly one of its rows, the one of the day of its earliest hit there. A mass breach of
    subjects never seen before is one row a subject. Folded in set-based as hits are stored
    (:func:`storage.repositories.first_seen.note_first_seen`); a sighting stored later but dated
    earlier moves its keys to the earlier day. A record, like an incident's aggregates: it stays
    when retention deletes the hits behind it, and goes with the subject (a trigger on ``subjects``;
    no foreign key, whose per-row check would tax the mass-breach store). Triage labels are not
    folded in: the chart recounts the few subjects that carry an excluding label.
    """

    __tablename__ = "subject_first_seen"
    __table_args__ = ({"sqlite_with_rowid": False},)

    subject_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    sources: Mapped[str] = mapped_column(Text)  # JSON array of sources first seen that day
    types: Mapped[str] = mapped_column(Text)  # JSON array of identifier types first seen that day
