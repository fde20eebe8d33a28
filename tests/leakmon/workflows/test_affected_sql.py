"""The affected-subject rows folded by the database equal a fold of the individual hits in Python
(the former implementation, kept here as the oracle), on both SQLite plans and on PostgreSQL;
XLSX exports past a sheet's row limit go on to further sheets."""

from __future__ import annotations

import io
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import leakmon.workflows.affected as affected
import leakmon.workflows.tables as tables
from leakmon.workflows.affected import STRENGTH_ORDER, AffectedRow, affected_rows, match_strength, select_incidents
from storage.models.cases import EXCLUDING_LABELS, HitLabel, IncidentPost
from storage.models.core import HitRecord, Post, Subject
from storage.repositories.cases import incident_of_post
from tests.leakmon.workflows.world import T0, Db, World


def _oracle(session: Session, incident_id: int) -> list[AffectedRow]:
    """One row per subject from its hits one by one (latest label decides whether a hit counts)."""
    latest = dict(
        session.execute(
            select(HitLabel.hit_id, HitLabel.label).where(
                HitLabel.id.in_(select(func.max(HitLabel.id)).group_by(HitLabel.hit_id))
            )
        ).all()
    )
    hits = session.execute(
        select(HitRecord, Post.source, Post.url, Subject.subject_ref)
        .join(IncidentPost, IncidentPost.post_id == HitRecord.post_id)
        .join(Post, Post.id == HitRecord.post_id)
        .join(Subject, Subject.id == HitRecord.subject_id)
        .where(IncidentPost.incident_id == incident_id)
    ).all()
    by_subject: dict[str, list[tuple[HitRecord, str, str | None]]] = defaultdict(list)
    for hit, source, url, ref in hits:
        if latest.get(hit.id) not in EXCLUDING_LABELS:
            by_subject[ref].append((hit, source, url))
    rows = []
    for ref in sorted(by_subject):
        items = by_subject[ref]
        per_post: dict[int, set[str]] = defaultdict(set)
        for hit, _, _ in items:
            per_post[hit.post_id].add(hit.id_type)
        rows.append(
            AffectedRow(
                incident_id=incident_id,
                subject_ref=ref,
                identifier_types=tuple(sorted({h.id_type for h, _, _ in items})),
                co_occurring=tuple(sorted({"+".join(sorted(t)) for t in per_post.values() if len(t) > 1})),
                match_strength=min((match_strength(h) for h, _, _ in items), key=STRENGTH_ORDER.index),
                hits=len(items),
                first_seen=min(h.first_seen for h, _, _ in items),
                last_seen=max(h.last_seen for h, _, _ in items),
                venues=tuple(sorted({source for _, source, _ in items})),
                permalinks=tuple(sorted({url for _, _, url in items if url})),
            )
        )
    return rows


def _label(w: World, hit: HitRecord, label: str, minutes: int) -> None:
    w.session.add(HitLabel(hit_id=hit.id, label=label, actor="analyst", created_at=T0 + timedelta(minutes=minutes)))


def _world(w: World) -> int:
    sha = "5" * 64
    a = w.post("chan_a", "1", url="https://t.me/a/1?x=1,2:3", files=[("db.csv", sha)])  # ',' and ':' in a URL
    b = w.post("forum_b", "9", venue="forum", files=[("db.csv", sha)], at=T0 + timedelta(hours=2))
    c = w.post("paste_c", "3", venue="paste", files=[("db.csv", sha)], at=T0 + timedelta(hours=5))
    w.session.execute(Post.__table__.update().where(Post.id == c.id).values(url=None))
    hits_a = [
        w.hit(a, "u1", "phone", attachment_sha256=sha),
        w.hit(a, "u1", "name", match_kind="composite", confidence=0.7, attachment_sha256=sha),
        w.hit(a, "u2", "phone", attachment_sha256=sha),
        w.hit(a, "u3", "email", attachment_sha256=sha),
        w.hit(a, None, "phone", match_kind="partial", attachment_sha256=sha),  # names nobody: no row
        w.hit(a, "=u5", "address", match_kind="composite", attachment_sha256=sha),
    ]
    hits_b = [
        w.hit(b, "u1", "email", obfuscation="separators", attachment_sha256=sha),
        w.hit(b, "u2", "email", attachment_sha256=sha),
        w.hit(b, "u4", "phone", match_kind="partial", attachment_sha256=sha),  # mask-compatible, one subject
        w.hit(b, "u4", "name", match_kind="composite", attachment_sha256=sha),
    ]
    hits_c = [w.hit(c, "u1", "phone", attachment_sha256=sha), w.hit(c, "u1", "address", attachment_sha256=sha)]
    w.ingest(a, hits_a)
    w.ingest(b, hits_b)
    w.ingest(c, hits_c)
    _label(w, hits_a[2], "false_positive", 1)  # u2's phone excluded
    _label(w, hits_b[1], "test_data", 1)  # u2's e-mail excluded, then confirmed: counts again
    _label(w, hits_b[1], "confirmed", 2)
    _label(w, hits_a[3], "confirmed", 1)  # u3's only hit: confirmed, then excluded: no row
    _label(w, hits_a[3], "seller_contact", 2)
    w.session.flush()
    incident_id = incident_of_post(w.session, a.id)
    assert incident_id is not None
    assert {incident_of_post(w.session, p.id) for p in (b, c)} == {incident_id}
    return incident_id


@pytest.mark.parametrize("big", [False, True], ids=["post-index", "subject-index"])
def test_database_fold_equals_the_hit_by_hit_fold(db: Db, monkeypatch: pytest.MonkeyPatch, big: bool) -> None:
    monkeypatch.setattr(affected, "is_big_incident", lambda _session, _incident: big)  # both SQLite plans
    with db.world() as w:
        incident_id = _world(w)
    with db.sessions() as session:
        rows = list(affected_rows(session, select_incidents(session, incident_id=incident_id)))
        expected = _oracle(session, incident_id)
    assert rows == expected
    by_ref = {r.subject_ref: r for r in rows}
    assert list(by_ref) == ["=u5", "u1", "u2", "u4"]  # by reference; u3 (all excluded) has no row
    u1 = by_ref["u1"]
    assert u1.identifier_types == ("address", "email", "name", "phone")
    assert u1.co_occurring == ("address+phone", "name+phone")
    assert u1.match_strength == "exact"
    assert u1.hits == 5
    assert u1.venues == ("chan_a", "forum_b", "paste_c")
    assert u1.permalinks == ("https://t.me/a/1?x=1,2:3", "https://t.me/forum_b/9")
    assert (u1.first_seen, u1.last_seen) == (T0, T0 + timedelta(hours=5))
    assert (by_ref["u2"].identifier_types, by_ref["u2"].hits) == (("email",), 1)
    assert by_ref["u4"].match_strength == "composite"
    assert by_ref["=u5"].match_strength == "composite"


def test_mask_compatible_is_the_weakest_strength(db: Db) -> None:
    with db.world() as w:
        post = w.post("chan_a", "1")
        hits = [w.hit(post, "u9", "phone", match_kind="partial")]
        w.ingest(post, hits)
        incident_id = incident_of_post(w.session, post.id)
    with db.sessions() as session:
        rows = list(affected_rows(session, select_incidents(session, incident_id=incident_id)))
    assert [(r.subject_ref, r.match_strength, r.permalinks) for r in rows] == [
        ("u9", "mask-compatible", ("https://t.me/chan_a/1",))
    ]


def test_xlsx_rows_past_a_sheet_go_on_to_the_next_sheet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tables, "XLSX_SHEET_ROWS", 3)  # 1,048,575 in a real workbook
    out = tmp_path / "affected.xlsx"
    rows = [{"subject_ref": f"cust-{i}", "hits": i} for i in range(7)]
    assert tables.write_rows(rows, ["subject_ref", "hits"], "xlsx", out, io.StringIO()) == 7
    book = openpyxl.load_workbook(out, read_only=True)
    sheets = {name: [tuple(r) for r in book[name].iter_rows(values_only=True)] for name in book.sheetnames}
    assert list(sheets) == ["rows", "rows 2", "rows 3"]
    assert all(values[0] == ("subject_ref", "hits") for values in sheets.values())
    assert [r for values in sheets.values() for r in values[1:]] == [(f"cust-{i}", i) for i in range(7)]


def test_an_empty_xlsx_export_has_its_header(tmp_path: Path) -> None:
    out = tmp_path / "affected.xlsx"
    assert tables.write_rows([], ["subject_ref", "hits"], "xlsx", out, io.StringIO()) == 0
    sheet = openpyxl.load_workbook(out, read_only=True)["rows"]
    assert [tuple(r) for r in sheet.iter_rows(values_only=True)] == [("subject_ref", "hits")]
