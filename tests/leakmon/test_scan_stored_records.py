"""``scan`` output: a file's stored hits read back in one sorted, streamed query as plain tuples,
each rendered once into exactly the bytes the record's ``json.dumps`` (or CSV/table writer) gives."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import event, text

import leakmon.scan as scan
from leakmon.output import RecordWriter
from storage.db import make_engine, make_sessionmaker
from storage.migrate import upgrade
from storage.models.core import Post, Subject
from storage.repositories.hits import HitRow, store_hits

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def _row(i: int, subject: int | None, confidence: float = 0.9) -> HitRow:
    return HitRow(
        None, "scan", f"d.csv:row {i}", "phone", "full", i.to_bytes(32, "big"), "k1", subject, subject or 0, 1,
        "exact", "none", confidence, "010-****-0000", "{}",
    )  # fmt: skip


def _stored(db_url: str, batches: list[list[HitRow]], *, later: list[HitRow] | None = None) -> tuple[Any, int]:
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        subject = Subject(subject_ref="cust-1", created_at=T0)
        post = Post(source="scan", external_id="f", venue="file", first_seen=T0, last_seen=T0, content_hash="h")
        other = Post(source="scan", external_id="g", venue="file", first_seen=T0, last_seen=T0, content_hash="h")
        session.add_all([subject, post, other])
        session.flush()
        post_id = post.id
        subject_id = subject.id
        store_hits(
            session,
            post_id,
            [[r._replace(subject_id=subject_id, subject_slot=subject_id) for r in b] for b in batches],
            T0,
        )
        if later is not None:  # another post's hits stored between, then this post's again (a rerun)
            store_hits(session, other.id, [[_row(9000 + i, None) for i in range(3)]], T0)
            store_hits(session, post_id, [later], T0 + timedelta(hours=1))
    return engine, post_id


@pytest.mark.parametrize("walk_rows", [1, 1_000_000])  # SQLite: the walk in id order, and the index
def test_a_files_hits_come_back_in_id_order_from_one_query(
    db_url: str, monkeypatch: pytest.MonkeyPatch, walk_rows: int
) -> None:
    engine, post_id = _stored(db_url, [[_row(i, 1) for i in range(b, b + 5)] for b in (50, 0, 25)])
    sessions = make_sessionmaker(engine)
    selects: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "FROM hits" in statement and "ORDER BY" in statement:
            selects.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    monkeypatch.setattr(scan, "PAGE_ROWS", 2)
    monkeypatch.setattr(scan, "WALK_ROWS", walk_rows)
    rows = list(scan.stored_rows(sessions, post_id, T0, 0.0))
    event.remove(engine, "before_cursor_execute", count)
    engine.dispose()
    ids = [r[0] for r in rows]
    assert ids == sorted(ids)
    assert len(ids) == 15
    assert [r[2] for r in rows[:5]] == [f"d.csv:row {i}" for i in range(50, 55)]
    assert {r[1] for r in rows} == {"cust-1"}
    assert selects == []  # the statement goes to the driver's cursor: no result rows, no ORM


def test_only_the_hits_this_run_saw_and_at_the_confidence_asked(db_url: str) -> None:
    """A rerun stores new hits after another post's: the walk from the post's lowest id skips the
    other post's rows, hits the rerun did not see again are left out, and so are weaker ones."""
    first = [_row(i, 1) for i in range(3)]
    again = [first[0], _row(7, 1, confidence=0.4), _row(8, None)]
    engine, post_id = _stored(db_url, [first], later=again)
    sessions = make_sessionmaker(engine)
    seen = T0 + timedelta(hours=1)
    for walk_rows in (1, 1_000_000):
        scan.WALK_ROWS, saved = walk_rows, scan.WALK_ROWS
        try:
            rows = list(scan.stored_rows(sessions, post_id, seen, 0.0))
            strong = list(scan.stored_rows(sessions, post_id, seen, 0.5, refs=False))
        finally:
            scan.WALK_ROWS = saved
        assert [(r[1], r[2], r[6]) for r in rows] == [
            ("cust-1", "d.csv:row 0", 0.9),
            ("cust-1", "d.csv:row 7", 0.4),
            (None, "d.csv:row 8", 0.9),
        ]
        assert [(r[1], r[2]) for r in strong] == [(None, "d.csv:row 0"), (None, "d.csv:row 8")]
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM hits")).scalar_one() == 8
    engine.dispose()


_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
_ROWS = st.lists(
    st.tuples(
        st.none() | st.integers(0, 2**62),
        st.none() | _TEXT,
        _TEXT,
        st.sampled_from(["phone", "email", "name", 'custom"type\\']) | _TEXT,
        st.sampled_from(["exact", "composite"]),
        st.sampled_from(["none", "spaced", "é"]),
        st.floats(0, 1) | st.sampled_from([0.1 + 0.2, 0.9995, 0.0005, 1.0, 0.5]),
        _TEXT,
        st.integers(0, 10_000),
    ),
    max_size=8,
)


@settings(max_examples=200, deadline=None)
@given(rows=_ROWS, source=_TEXT, post_id=st.none() | st.integers(0, 2**40), incident_id=st.none() | st.integers(0, 9))
def test_each_json_line_is_the_records_json_dumps(
    rows: list[scan.ScanRow], source: str, post_id: int | None, incident_id: int | None
) -> None:
    expected = [
        json.dumps(_record(row, source, post_id, incident_id), ensure_ascii=False, default=str) + "\n" for row in rows
    ]
    assert list(scan.jsonl_lines(rows, source, post_id, incident_id)) == expected


def _record(row: scan.ScanRow, source: str, post_id: int | None, incident_id: int | None) -> dict[str, object]:
    hit_id, ref, locator, id_type, kind, obfuscation, confidence, masked, compatible = row
    hit = HitRow(None, source, locator, id_type, "full", b"", "k", None, 0, compatible, kind, obfuscation, confidence,
                 masked, "{}")  # fmt: skip
    return scan.hit_record(hit, ref, hit_id, post_id, incident_id)


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "table"])
def test_written_hits_are_the_bytes_the_records_give(tmp_path: Path, fmt: str) -> None:
    rows: list[scan.ScanRow] = [
        (3, "cust-1", "d.csv:row 2", "phone", "exact", "none", 0.98765, "010-****-5678", 1),
        (4, None, '=cmd|"x"\t', "name", "composite", "spaced", 0.5, "김*수", 2),
        (None, "@ref", "한글 locator", "email", "exact", "none", 1.0, "-a***@x", 1),
    ]
    fast, slow = tmp_path / f"fast.{fmt}", tmp_path / f"slow.{fmt}"
    with RecordWriter(fmt=fmt, columns=scan.HIT_COLUMNS, output=str(fast), title="hits") as writer:
        assert scan.write_hits(writer, rows, "/x/d.csv", 7, None) == 3
    with RecordWriter(fmt=fmt, columns=scan.HIT_COLUMNS, output=str(slow), title="hits") as writer:
        writer.write_many(_record(row, "/x/d.csv", 7, None) for row in rows)
    assert fast.read_bytes() == slow.read_bytes()
