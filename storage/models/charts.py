"""Summaries behind the console's pictures, kept as hits are stored (never recounted from every hit)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, UTCDateTime

#: ``SubjectFirstSeen.kind``: the key is a hit's source, or its identifier type.
BY_SOURCE = 0
BY_ID_TYPE = 1


class SubjectFirstSeen(Base):
    """When a subject was first seen at a source (``kind`` 0) and with an identifier type (``kind`` 1).

    The earliest ``first_seen`` of the subject's hits there, folded in set-based as hits are stored
    (:func:`storage.repositories.first_seen.note_first_seen`). A record, like an incident's
    aggregates: it stays when retention deletes the hits behind it, and goes with the subject (a
    trigger on ``subjects``; no foreign key, whose per-row check would tax the mass-breach store).
    Triage labels are not folded in: the chart recounts the few subjects that carry an excluding label.
    """

    __tablename__ = "subject_first_seen"
    __table_args__ = ({"sqlite_with_rowid": False},)

    subject_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime())
