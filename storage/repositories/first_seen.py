"""Subjects' first sightings per source and per identifier type (see
:class:`storage.models.charts.SubjectFirstSeen`), folded in set-based as hits are stored.

Takes a Session, never commits.
"""

from __future__ import annotations

import weakref
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

from storage.models.charts import BY_ID_TYPE, BY_SOURCE

_NEW = "FROM hits WHERE post_id = :post AND id > :after AND subject_id IS NOT NULL"
#: SQLite: ``+post_id`` keeps the planner off the identity index (post, type, form, digest, ...),
#: whose order is the digests' (random): the new hits were read one rowid look-up each, at random
#: over the table (2.4 s CPU for 200k hits, half of ``store_hits``). A rowid range (``id > :after``)
#: reads them in table order instead (0.3 s); ``after`` is then best the table's highest id before
#: the store (see :func:`storage.repositories.hits.store_hits`), so the range holds this store's rows.
_NEW_SQLITE = "FROM hits WHERE +post_id = :post AND id > :after AND subject_id IS NOT NULL"
_UPSERT = (
    "ON CONFLICT (subject_id, kind, key) DO UPDATE SET first_seen = excluded.first_seen "
    "WHERE excluded.first_seen < subject_first_seen.first_seen"  # only an earlier sighting writes
)
#: The post's hits with ``id > :after`` (those just stored) upserted as (subject, source) and
#: (subject, type) rows, keeping the earlier time. PostgreSQL: grouped first (one statement may
#: not touch a row twice) and in key order, so two stores upserting overlapping subjects take their
#: row locks in one order (no deadlock). SQLite (one writer at a time): every hit straight into the
#: upsert, no sort; a repeated key is one index probe (27 % less CPU than grouping at 4M hits).
_SQL = {
    "postgresql": (
        "INSERT INTO subject_first_seen (subject_id, kind, key, first_seen) "
        f"SELECT subject_id, {BY_SOURCE}, source, min(first_seen) {_NEW} GROUP BY subject_id, source "
        f"UNION ALL SELECT subject_id, {BY_ID_TYPE}, id_type, min(first_seen) {_NEW} GROUP BY subject_id, id_type "
        f"ORDER BY 1, 2, 3 {_UPSERT}"
    ),
    "sqlite": (
        "INSERT INTO subject_first_seen (subject_id, kind, key, first_seen) "  # noqa: S608 - fixed names
        "SELECT subject_id, kind, key, first_seen FROM ("
        f"SELECT subject_id, {BY_SOURCE} AS kind, source AS key, first_seen {_NEW_SQLITE} "
        f"UNION ALL SELECT subject_id, {BY_ID_TYPE}, id_type, first_seen {_NEW_SQLITE}"
        f") AS new WHERE true {_UPSERT}"  # WHERE: SQLite's rule for an upsert after a SELECT
    ),
}


#: Engines whose schema has the table (looked up until it does: a schema older than migration
#: ``exports_0009`` stores hits without it, and that migration fills the table from them).
_READY: weakref.WeakSet[Any] = weakref.WeakSet()


def note_first_seen(session: Session, post_id: int, after: int) -> None:
    """Fold the post's hits stored after hit id ``after`` into the subjects' first sightings."""
    bind = session.get_bind()
    if bind not in _READY:
        if not inspect(session.connection()).has_table("subject_first_seen"):
            return
        _READY.add(bind)
    session.execute(text(_SQL[bind.dialect.name]), {"post": post_id, "after": after})
