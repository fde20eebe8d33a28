"""Subjects' first sightings per source and per identifier type (see
:class:`storage.models.charts.SubjectFirstSeen`), folded in set-based as hits are stored.

Takes a Session, never commits.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from storage.models.charts import BY_ID_TYPE, BY_SOURCE

#: The post's hits with ``id > :after`` (those just stored), one row per subject and source and per
#: subject and type, upserted keeping the earlier time. Ordered by key, so two PostgreSQL stores
#: upserting overlapping subjects take their row locks in one order (no deadlock).
_FOLD = (
    "INSERT INTO subject_first_seen (subject_id, kind, key, first_seen) "  # noqa: S608 - fixed names
    "SELECT subject_id, kind, key, first_seen FROM ("
    f"SELECT subject_id, {BY_SOURCE} AS kind, source AS key, min(first_seen) AS first_seen FROM hits "
    "WHERE post_id = :post AND id > :after AND subject_id IS NOT NULL GROUP BY subject_id, source "
    "UNION ALL "
    f"SELECT subject_id, {BY_ID_TYPE}, id_type, min(first_seen) FROM hits "
    "WHERE post_id = :post AND id > :after AND subject_id IS NOT NULL GROUP BY subject_id, id_type"
    ") AS new WHERE true ORDER BY subject_id, kind, key "  # WHERE: SQLite's upsert-after-SELECT rule
    "ON CONFLICT (subject_id, kind, key) DO UPDATE SET first_seen = CASE "
    "WHEN excluded.first_seen < subject_first_seen.first_seen THEN excluded.first_seen "
    "ELSE subject_first_seen.first_seen END"
)


def note_first_seen(session: Session, post_id: int, after: int) -> None:
    """Fold the post's hits stored after hit id ``after`` into the subjects' first sightings."""
    session.execute(text(_FOLD), {"post": post_id, "after": after})
