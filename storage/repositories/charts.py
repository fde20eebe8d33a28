"""Counts per day for the console's pictures, grouped in the database (never a row per hit loaded).

Days are UTC calendar days. Hits a triage label excludes (``excluded``) are not counted. New
subjects per day read the first sightings kept at store time (``subject_first_seen``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any, Literal

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased

from storage.models.cases import HitLabel, Incident
from storage.models.charts import SubjectFirstSeen
from storage.models.core import HitRecord
from storage.repositories.first_seen import as_date
from storage.repositories.hits import effective_filter

GroupBy = Literal["source", "id_type"]


def _day(session: Session, column: Any) -> Any:
    """The UTC calendar day of a timestamp column, in SQL."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)  # SQLite keeps the UTC time as text


def _utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date() if moment.tzinfo else moment.date()


def _day_param(session: Session, moment: datetime) -> Any:
    """``moment``'s UTC day as a value to compare with :func:`_day`'s."""
    day = _utc_day(moment)
    return day if session.get_bind().dialect.name == "postgresql" else day.isoformat()


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
    return sorted((as_date(d), str(k), int(n)) for d, k, n in session.execute(statement))


def new_subjects_per_day(
    session: Session, *, since: datetime, by: GroupBy, excluded: Sequence[str]
) -> list[tuple[date, str, int]]:
    """(day, source or identifier type, subjects first seen that day for that source or type).

    A subject counts once per source (or type): on the (UTC) day of its earliest effective hit there,
    if that day is on or after ``since``'s day. Partial hits (no subject) never count. Read from the
    first sightings kept as hits are stored (:class:`storage.models.charts.SubjectFirstSeen`: one
    row per subject and day, grouped by day and its JSON list of keys in SQL, the lists split here),
    never a scan of every hit; a subject with a hit whose current label is an excluding one (a
    handful: triage labels are human or suppression-rule made) is recounted from its hits instead.
    """
    seen = SubjectFirstSeen
    keys = seen.sources if by == "source" else seen.types
    kept = (
        select(seen.day, keys, func.count())
        .where(seen.day >= _utc_day(since), seen.subject_id.not_in(_labelled_subjects(excluded)))
        .group_by(seen.day, keys)
    )  # one group per day and set of keys first seen that day (a mass breach: a handful), split here
    counts: dict[tuple[date, str], int] = {}
    for d, found, n in session.execute(kept):
        for k in json.loads(found):
            counts[(as_date(d), str(k))] = counts.get((as_date(d), str(k)), 0) + int(n)
    label, (joined, effective) = effective_filter(excluded)
    key = HitRecord.source if by == "source" else HitRecord.id_type
    first = (
        select(HitRecord.subject_id, key.label("key"), func.min(HitRecord.first_seen).label("first"))
        .select_from(HitRecord)
        .outerjoin(label, joined)
        .where(HitRecord.subject_id.in_(_labelled_subjects(excluded)), effective)
        .group_by(HitRecord.subject_id, key)
        .having(_day(session, func.min(HitRecord.first_seen)) >= _day_param(session, since))
        .subquery()
    )
    recount = _day(session, first.c.first)
    for d, k, n in session.execute(select(recount, first.c.key, func.count()).group_by(recount, first.c.key)):
        counts[(as_date(d), str(k))] = counts.get((as_date(d), str(k)), 0) + int(n)
    return sorted((d, k, n) for (d, k), n in counts.items())


def _labelled_subjects(excluded: Sequence[str]) -> Any:
    """Subjects with a hit whose current (latest) label is one of ``excluded``, from the labels' side."""
    later = aliased(HitLabel)
    newer = exists().where(later.hit_id == HitLabel.hit_id, later.id > HitLabel.id)
    return (
        select(HitRecord.subject_id)
        .select_from(HitLabel)
        .join(HitRecord, HitRecord.id == HitLabel.hit_id)
        .where(HitLabel.label.in_(excluded), ~newer, HitRecord.subject_id.is_not(None))
    )


def incidents_by_status(session: Session) -> dict[str, int]:
    """How many incidents are in each status (open, closed, merged)."""
    rows = session.execute(select(Incident.status, func.count()).group_by(Incident.status))
    return {str(status): int(count) for status, count in rows}
