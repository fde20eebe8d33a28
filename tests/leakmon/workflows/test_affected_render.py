"""`export affected` renders its lines in bulk (a cached tail a distinct grouped row, the reference's
cell per line): the bytes equal what ``tables.write_rows`` writes from the ``AffectedRow`` objects
(the former path, kept as the oracle), in CSV, JSON lines and XLSX, on generated values, including
references, venues, permalinks and types that a spreadsheet would read as a formula (still
neutralized in CSV, string cells in XLSX)."""

from __future__ import annotations

import csv
import io
import tempfile
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

import leakmon.workflows.affected as affected
from leakmon.workflows import tables
from leakmon.workflows.affected import COLUMNS, affected_rows, write_affected
from storage.models.cases import HitLabel, IncidentPost
from tests.leakmon.workflows.test_affected_sql import _oracle as oracle
from tests.leakmon.workflows.test_affected_sql import _world as labelled_world
from tests.leakmon.workflows.world import T0, Db

_FORMULA = ["=", "+", "-", "@", "\t", "\r"]
_AWKWARD = [
    '=HYPERLINK("http://127.0.0.1/","x")',
    "+82-10-0000",
    "-1+1",
    "@SUM(A1)",
    "\tcmd",
    "\r=1",
    'a,b "c"',
    "line\nbreak",
    "cr\rin the middle",
    "<b>&amp;</b> & <",
    "bell\x07 nul\x00",
    "_x0041_ literal",
    "  spaced  ",
    "한글 김민서",
    "",
]
_TEXT = st.one_of(
    st.sampled_from(_AWKWARD),
    st.builds(lambda prefix, rest: prefix + rest, st.sampled_from(_FORMULA), st.text(max_size=12)),
    st.text(max_size=20),
)
_T0 = datetime(2026, 12, 1, 3, 4, 5, 123456, tzinfo=UTC)


@st.composite
def _incidents(draw: st.DrawFn) -> list[tuple[int, dict[int, tuple[str, str | None]], list[tuple[Any, ...]]]]:
    """Incidents as the database hands them over: posts (source, permalink) and grouped rows
    (subject_ref, rank, hits, first, last, ``post:type`` pairs), first/last raw as either backend gives them."""
    made = []
    for incident_id in draw(st.lists(st.integers(1, 10**6), min_size=1, max_size=2, unique=True)):
        post_ids = draw(st.lists(st.integers(1, 10**9), min_size=1, max_size=3, unique=True))
        posts = {p: (draw(_TEXT), draw(st.none() | _TEXT)) for p in post_ids}
        types = st.one_of(
            st.sampled_from(["phone", "email", "name", "address"]), _TEXT.filter(lambda t: "\x1f" not in t)
        )
        refs = draw(st.lists(_TEXT, max_size=12, unique=True))
        times = st.builds(lambda s: _T0 + timedelta(seconds=s), st.sampled_from([0, 0, 3600, 86_400 * 3]))
        sqlite = draw(st.booleans())
        rows = []
        for ref in sorted(refs):
            pairs = draw(st.lists(st.tuples(st.sampled_from(post_ids), types), min_size=1, max_size=4))
            first, last = sorted([draw(times), draw(times)])
            raw = (lambda t: t.isoformat(" ")) if sqlite else (lambda t: t)
            rank, hits = draw(st.integers(0, 3)), draw(st.integers(1, 9))
            rows.append((ref, rank, hits, raw(first), raw(last), "\x1f".join(f"{p}:{t}" for p, t in pairs)))
        made.append((incident_id, posts, rows))
    return made


def _read(path: Path, fmt: str) -> Any:
    if fmt != "xlsx":
        return path.read_bytes()
    with zipfile.ZipFile(path) as book:  # the parts, not the zip's bytes (entries carry the time written)
        return {name: book.read(name) for name in book.namelist()}


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "xlsx"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(made=_incidents(), chunk=st.integers(1, 5))
def test_bulk_lines_equal_the_row_by_row_writer(fmt: str, made: list[Any], chunk: int) -> None:
    by_id = {incident_id: (posts, rows) for incident_id, posts, rows in made}

    def fold_of(_session: object, incident_id: int) -> Any:
        posts, rows = by_id[incident_id]
        return affected._Fold(incident_id, posts, [rows[i : i + chunk] for i in range(0, len(rows), chunk)])

    incidents: Any = [SimpleNamespace(id=incident_id) for incident_id, _, _ in made]
    told: list[int] = []
    with pytest.MonkeyPatch.context() as patch, tempfile.TemporaryDirectory() as folder:
        patch.setattr(affected, "_fold_of", fold_of)
        patch.setattr(tables, "XLSX_SHEET_ROWS", 7)  # rows go on to further sheets
        old, new = Path(folder) / f"old.{fmt}", Path(folder) / f"new.{fmt}"
        rows = ({c: getattr(r, c) for c in COLUMNS} for r in affected_rows(None, incidents))  # type: ignore[arg-type]
        expected = tables.write_rows(rows, COLUMNS, fmt, old, io.StringIO())
        assert write_affected(None, incidents, fmt, new, advance=told.append) == expected  # type: ignore[arg-type]
        assert sum(told) == expected == sum(len(rows) for _, _, rows in made)
        assert _read(new, fmt) == _read(old, fmt)
        if fmt == "csv":
            cells = [c for line in csv.reader(io.StringIO(new.read_text(encoding="utf-8-sig"))) for c in line]
            assert not [c for c in cells if c.startswith(tuple(_FORMULA))]  # every formula-like cell neutralized


def test_the_command_path_writes_what_the_rows_write_on_the_database(db: Db, tmp_path: Path) -> None:
    """Real grouped rows (both backends): a formula-like reference, several posts, labels."""
    with db.world() as w:
        incident_id = labelled_world(w)
    for fmt in ("csv", "jsonl", "xlsx"):
        with db.sessions() as session:
            chosen = affected.select_incidents(session, incident_id=incident_id)
            rows = [{c: getattr(r, c) for c in COLUMNS} for r in affected_rows(session, chosen)]
            old, new = tmp_path / f"old.{fmt}", tmp_path / f"new.{fmt}"
            assert tables.write_rows(rows, COLUMNS, fmt, old, io.StringIO()) == len(rows) == 4
            assert write_affected(session, chosen, fmt, new) == 4
        assert _read(new, fmt) == _read(old, fmt)


def test_an_incident_without_excluding_labels_skips_the_anti_join_and_folds_the_same(db: Db) -> None:
    """No label on the incident's hits: the query leaves the label anti-join out; a label on another
    incident's hit does not bring it back, and the rows still equal the hit-by-hit fold."""
    with db.world() as w:
        incident_id = labelled_world(w)
        w.session.execute(delete(HitLabel))
        other = w.post("elsewhere", "7", url="https://127.0.0.1/o/7")
        hit = w.hit(other, "u9", "phone")
        w.ingest(other, [hit])
        w.session.add(HitLabel(hit_id=hit.id, label="false_positive", actor="analyst", created_at=T0))
    with db.sessions() as session:
        assert not affected._any_excluded(
            session, select(IncidentPost.post_id).where(IncidentPost.incident_id == incident_id)
        )
        rows = list(affected_rows(session, affected.select_incidents(session, incident_id=incident_id)))
        assert rows == oracle(session, incident_id)
    assert [r.subject_ref for r in rows] == ["=u5", "u1", "u2", "u3", "u4"]  # nobody excluded now
