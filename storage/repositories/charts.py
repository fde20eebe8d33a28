"""Counts per day for the console's pictures, grouped in the database (never a row per hit loaded).

Days are UTC calendar days. Hits a triage label excludes (``excluded``) are not counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models.cases import Incident
from storage.models.core import HitRecord
from storage.repositories.hits import effective_filter

GroupBy = Literal["source", "id_type"]


def _day(session: Session, column: Any) -> Any:
    """The UTC calendar day of a timestamp column, in SQL."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)  # SQLite keeps the UTC time as text


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def hits_per_day(
    session: Session, *, since: datetime, by: GroupBy, excluded: Sequence[str]
) -> list[tuple[date, str, int]]:
    """(day, source or identifier type, hits first seen that day) since ``since``."""
    label, (joined, effective) = effective_filter(excluded)
    key = HitRecord.source if by == "source" else HitRecord.id_type
    day = _day(session, HitRecord.first_seen)
    statement = (
        select(day, key, func.count())
        .select_from(HitRecord)
        .outerjoin(label, joined)
        .where(HitRecord.first_seen >= since, effective)
        .group_by(day, key)
    )
    return sorted((_as_date(d), str(k), int(n)) for d, k, n in session.execute(statement))


def new_subjects_per_day(
    session: Session, *, since: datetime, by: GroupBy, excluded: Sequence[str]
) -> list[tuple[date, str, int]]:
    """(day, source or identifier type, subjects first seen that day for that source or type).

    A subject counts once per source (or type): on the day of its earliest effective hit there, if
    that day is on or after ``since``. Partial hits (no subject) never count.
    """
    label, (joined, effective) = effective_filter(excluded)
    key = HitRecord.source if by == "source" else HitRecord.id_type
    first = (
        select(HitRecord.subject_id, key.label("key"), func.min(HitRecord.first_seen).label("first"))
        .select_from(HitRecord)
        .outerjoin(label, joined)
        .where(HitRecord.subject_id.is_not(None), effective)
        .group_by(HitRecord.subject_id, key)
        .having(func.min(HitRecord.first_seen) >= since)
        .subquery()
    )
    day = _day(session, first.c.first)
    statement = select(day, first.c.key, func.count()).group_by(day, first.c.key)
    return sorted((_as_date(d), str(k), int(n)) for d, k, n in session.execute(statement))


def incidents_by_status(session: Session) -> dict[str, int]:
    """How many incidents are in each status (open, closed, merged)."""
    rows = session.execute(select(Incident.status, func.count()).group_by(Incident.status))
    return {str(status): int(count) for status, count in rows}
