"""The analyst views work on SQLite and PostgreSQL and hide excluded hits from affected subjects."""

from __future__ import annotations

from sqlalchemy import text

from leakmon.workflows.triage import label_hit
from tests.leakmon.workflows.world import Db


def test_views(db: Db) -> None:
    with db.world() as w:
        post = w.post("chan_a", "1", files=[("d.csv", "4" * 64)])
        hits = [w.hit(post, "u1", t, attachment_sha256="4" * 64) for t in ("name", "phone")]
        hits.append(w.hit(post, "u2", "phone", attachment_sha256="4" * 64, match_kind="composite", confidence=0.7))
        partial = w.hit(post, None, "phone", match_kind="partial", confidence=0.3, label="partial")
        w.ingest(post, [*hits, partial])
        label_hit(w.session, hits[2].id, "test_data", actor="alice", note="QA account")
    with db.engine.connect() as connection:
        v_hits = [dict(r._mapping) for r in connection.execute(text("SELECT * FROM v_hits ORDER BY hit_id"))]
        incidents = [dict(r._mapping) for r in connection.execute(text("SELECT * FROM v_incidents"))]
        affected = [
            dict(r._mapping) for r in connection.execute(text("SELECT * FROM v_affected_subjects ORDER BY subject_ref"))
        ]
    assert len(v_hits) == 4
    assert {r["permalink"] for r in v_hits} == {"https://t.me/chan_a/1"}
    assert [r["label"] for r in v_hits] == [None, None, "test_data", None]
    assert [r["excluded"] for r in v_hits] == [0, 0, 1, 0]
    assert v_hits[3]["subject_ref"] is None
    assert {r["incident_id"] for r in v_hits} == {incidents[0]["incident_id"]}
    assert "digest" not in v_hits[0]
    assert incidents[0]["open_takedowns"] == 0
    assert [r["subject_ref"] for r in affected] == ["u1"]
    assert affected[0]["id_types"] == "name,phone"
    assert affected[0]["match_strength"] == "exact"
    assert affected[0]["hits"] == 2
