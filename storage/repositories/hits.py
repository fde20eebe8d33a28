"""Hits: insert-or-ignore on their identity, so re-runs and resumed runs never duplicate them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models.core import HitRecord

_IDENTITY = ["post_id", "id_type", "form", "digest", "subject_slot"]


def insert_hits(
    session: Session, post_id: int, rows: Sequence[Mapping[str, Any]], now: datetime
) -> tuple[list[HitRecord], int]:
    """Insert the post's hits; returns (the rows that are new, the post's total hit count).

    Each row holds HitRecord columns except ``post_id``, ``first_seen`` and ``last_seen``.
    Hits already stored for the post get ``last_seen`` moved forward.
    """
    session.execute(update(HitRecord).where(HitRecord.post_id == post_id).values(last_seen=now))
    new_ids: list[int] = []
    if rows:
        values = [{**row, "post_id": post_id, "first_seen": now, "last_seen": now} for row in rows]
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        # One Core statement with a parameter list: compiled once and sent in "insertmanyvalues"
        # batches (a statement with 500 literal VALUES tuples was compiled anew for every batch).
        table = cast(Table, HitRecord.__table__)
        statement = insert(table).on_conflict_do_nothing(index_elements=_IDENTITY).returning(table.c.id)
        new_ids.extend(session.connection().execute(statement, values).scalars())
    new_hits = list(session.scalars(select(HitRecord).where(HitRecord.id.in_(new_ids)))) if new_ids else []
    total = session.query(HitRecord).filter(HitRecord.post_id == post_id).count()
    return new_hits, total
