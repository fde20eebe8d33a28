"""``scan`` output reads a file's stored hits back in one sorted, streamed query (not one per page)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event

import leakmon.scan as scan
from leakmon.hitout import HIT_FIELDS
from storage.db import make_engine, make_sessionmaker
from storage.migrate import upgrade
from storage.models.core import Post, Subject
from storage.repositories.hits import HitRow, store_hits

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def _row(i: int, subject: int) -> HitRow:
    return HitRow(
        None, "scan", f"d.csv:row {i}", "phone", "full", i.to_bytes(32, "big"), "k1", subject, subject, 1,
        "exact", "none", 0.9, "010-****-0000", "{}",
    )  # fmt: skip


def test_a_files_hits_come_back_in_id_order_from_one_query(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        subject = Subject(subject_ref="cust-1", created_at=T0)
        post = Post(source="scan", external_id="f", venue="file", first_seen=T0, last_seen=T0, content_hash="h")
        session.add_all([subject, post])
        session.flush()
        post_id, subject_id = post.id, subject.id
        store_hits(session, post_id, [[_row(i, subject_id) for i in range(b, b + 5)] for b in (50, 0, 25)], T0)
    selects: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM hits" in statement:
            selects.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    monkeypatch.setattr(scan, "PAGE_ROWS", 2)
    rows: list[Any] = []
    real_record = scan.hit_record

    def record(row: Any, *args: Any) -> scan.HitRecordOut:
        rows.append(row)
        return real_record(row, *args)

    monkeypatch.setattr(scan, "hit_record", record)
    records = list(scan.stored_records(sessions, post_id, T0, 0.0))
    event.remove(engine, "before_cursor_execute", count)
    engine.dispose()
    ids = [r["hit_id"] for r in records]
    assert ids == sorted(ids)
    assert len(ids) == 15
    assert [r["locator"] for r in records[:5]] == [f"d.csv:row {i}" for i in range(50, 55)]
    assert {r["subject_ref"] for r in records} == {"cust-1"}
    assert len(selects) == 1  # keyset pages of PAGE_ROWS made 8, each sorting every hit of the post
    assert {(r["post_id"], r["incident_id"]) for r in records} == {(post_id, None)}
    # Every field the one rendering reads is a column: a missing one is an exception per field and row.
    assert all(set(HIT_FIELDS) <= set(row._fields) for row in rows)
