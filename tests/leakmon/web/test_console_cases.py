"""The console's incident page and triage: timeline, intrusion/close/reopen, label undo, suppression
rules, the stored post text (masked, audited), role boundaries of every action."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select, text

from leakmon.app import App
from leakmon.workflows.takedown import open_case, set_state
from leakmon.workflows.triage import apply_suppression, label_hit
from matchers.keyed_hash import KeyedHasher
from storage.evidence import EvidenceSealer
from storage.models.cases import AlertRecord, HitLabel, SuppressionRule
from storage.models.core import HitRecord, Post
from tests.leakmon.cli import run_cli
from tests.leakmon.commands.seed import Seeded, seed
from tests.leakmon.web.console import add_users, audit_rows, client, sign_in
from tests.leakmon.workflows.world import SECRET_VALUES, Db


@pytest.fixture
def seeded(cli_db: Db) -> Seeded:
    s = seed(cli_db)
    add_users(cli_db)
    return s


def _no_secrets(body: str) -> None:
    for secret in SECRET_VALUES:
        assert secret not in body


def _incident(db: Db, incident_id: int) -> tuple[int, bool, str, str]:
    with db.engine.connect() as connection:
        row = connection.execute(
            text("SELECT subject_count, intrusion, status, report_reasons FROM incidents WHERE id = :i"),
            {"i": incident_id},
        ).one()
    return int(row[0]), bool(row[1]), str(row[2]), str(row[3])


def _labels(db: Db, hit_id: int) -> list[tuple[str, str]]:
    with db.sessions() as session:
        rows = session.scalars(select(HitLabel).where(HitLabel.hit_id == hit_id).order_by(HitLabel.id))
        return [(label.label, label.actor) for label in rows]


def test_incident_page_timeline_cases_and_alerts(cli_db: Db, seeded: Seeded) -> None:
    with cli_db.sessions.begin() as session:
        case, _ = open_case(session, seeded.leak_post, actor="tester")
        set_state(session, case.id, "requested", actor="tester")
        alert = session.scalars(select(AlertRecord).where(AlertRecord.incident_id == seeded.incident)).first()
        if alert is not None:
            alert.results = {"webhook": "HTTP 500 from https://hooks.example/secret-token"}
            alert.status = "failed"
    with client() as http:
        sign_in(http, "viewer")
        page = http.get(f"/incidents/{seeded.incident}")
    assert page.status_code == 200
    body = page.text
    _no_secrets(body)
    timeline = body.split('id="timeline"')[1].split("</table>")[0]
    assert "최초 발견" in timeline  # the first sighting
    assert "재게시" in timeline  # the repost on the forum
    assert "동일 첨부파일" in timeline  # why it joined
    assert f"#{case.id} 열림 → 요청함" in timeline
    assert "dark_forum" in body.split('id="posts"')[1]
    assert "요청함" in body.split('id="cases"')[1].split("</table>")[0]
    assert "secret-token" not in body  # a channel's error is shown as failed, never its text
    assert 'id="incident-actions"' not in body  # a viewer sees no state buttons
    assert "일별 탐지 건수" not in body  # nor hits per day


def test_intrusion_close_and_reopen_by_a_responder_audited(cli_db: Db, seeded: Seeded) -> None:
    with client() as http:
        csrf = sign_in(http, "analyst")
        refused = http.post(f"/incidents/{seeded.incident}/set", data={"csrf": csrf, "action": "close"})
        assert refused.status_code == 403
    assert _incident(cli_db, seeded.incident)[2] == "open"
    with client() as http:
        csrf = sign_in(http, "responder")
        page = http.get(f"/incidents/{seeded.incident}").text
        assert 'id="set-intrusion"' in page
        path = f"/incidents/{seeded.incident}/set"
        assert http.post(path, data={"csrf": csrf, "action": "intrusion"}).status_code == 303
        flagged = _incident(cli_db, seeded.incident)
        assert flagged[1] is True
        assert "intrusion" in flagged[3]
        assert "침해사고" in http.get(f"/incidents/{seeded.incident}").text
        assert http.post(path, data={"csrf": csrf, "action": "close"}).status_code == 303
        assert _incident(cli_db, seeded.incident)[2] == "closed"
        assert f'data-incident="{seeded.incident}"' not in http.get("/incidents").text
        assert f'data-incident="{seeded.incident}"' in http.get("/incidents?all=1").text
        assert 'id="reopen"' in http.get(f"/incidents/{seeded.incident}").text
        assert http.post(path, data={"csrf": csrf, "action": "reopen"}).status_code == 303
        assert http.post(path, data={"csrf": csrf, "action": "no_intrusion"}).status_code == 303
        assert http.post(path, data={"csrf": csrf, "action": "delete"}).status_code == 400
        assert http.post(path, data={"action": "close"}).status_code == 403  # no CSRF token
    assert _incident(cli_db, seeded.incident)[1:3] == (False, "open")
    sets = [r for r in audit_rows(cli_db) if r[1] == "set_incident"]
    assert sets == [("responder", "set_incident", f"incident {seeded.incident}")] * 4


def _hit_ids(db: Db, subject_ref: str) -> list[int]:
    with db.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT h.id FROM hits h JOIN subjects s ON s.id = h.subject_id WHERE s.subject_ref = :r"),
            {"r": subject_ref},
        )
        return sorted(int(row[0]) for row in rows)


def test_undo_a_label_returns_the_count_and_is_audited(cli_db: Db, seeded: Seeded) -> None:
    before = _incident(cli_db, seeded.incident)[0]
    hit_ids = [str(h) for h in _hit_ids(cli_db, "cust-004")]
    with client() as http:
        csrf = sign_in(http, "viewer")
        assert http.post("/hits/label", data={"csrf": csrf, "hit": hit_ids, "action": "undo"}).status_code == 403
    with client() as http:
        csrf = sign_in(http, "analyst")
        form = {"csrf": csrf, "hit": hit_ids, "label": "test_data", "note": "QA"}
        assert http.post("/hits/label", data=form).status_code == 303
        assert _incident(cli_db, seeded.incident)[0] == before - 1
        undo = {"csrf": csrf, "hit": hit_ids, "action": "undo", "back": f"/incidents/{seeded.incident}"}
        done = http.post("/hits/label", data=undo)
        assert done.status_code == 303
        assert done.headers["location"] == f"/incidents/{seeded.incident}"
        assert _incident(cli_db, seeded.incident)[0] == before
        assert all(_labels(cli_db, int(h)) == [] for h in hit_ids)
        again = http.post("/hits/label", data={"csrf": csrf, "hit": hit_ids[:1], "action": "undo"})
        assert again.status_code == 400
        assert "no label to undo" in again.text
    undone = [r for r in audit_rows(cli_db) if r[1] == "unlabel_hit"]
    assert undone == [("analyst", "unlabel_hit", f"hit {h}") for h in hit_ids]


def test_undo_restores_the_previous_label_and_a_false_positive_takes_its_rule(cli_db: Db, seeded: Seeded) -> None:
    with client() as http:
        csrf = sign_in(http, "analyst")
        hit = str(seeded.hit)
        assert http.post("/hits/label", data={"csrf": csrf, "hit": hit, "label": "confirmed"}).status_code == 303
        assert http.post("/hits/label", data={"csrf": csrf, "hit": hit, "label": "false_positive"}).status_code == 303
        rules = http.get("/hits/rules").text
        assert rules.count("data-rule=") == 1
        assert http.post("/hits/label", data={"csrf": csrf, "hit": hit, "action": "undo"}).status_code == 303
        assert "data-rule=" not in http.get("/hits/rules").text
        page = http.get(f"/hits/{seeded.hit}").text
    assert _labels(cli_db, seeded.hit) == [("confirmed", "analyst")]
    assert "확인됨" in page.split('id="label-history"')[1]


def _auto_labelled(db: Db, s: Seeded) -> tuple[int, int]:
    """A false positive suppressed everywhere; the repost's hit of the same subject labelled by the rule."""
    with db.sessions.begin() as session:
        source = session.scalars(
            select(HitRecord).join(Post, Post.id == HitRecord.post_id).where(Post.source == "kr_db_market")
        ).all()
        repost_hit = session.scalars(select(HitRecord).where(HitRecord.post_id == s.repost)).one()
        origin = next(h for h in source if h.subject_id == repost_hit.subject_id and h.id_type == repost_hit.id_type)
        done = label_hit(session, origin.id, "false_positive", actor="alice", everywhere=True)
        assert apply_suppression(session, [repost_hit]) == [repost_hit.id]
        assert done.rule_id is not None
        return done.rule_id, repost_hit.id


@pytest.mark.parametrize("unlabel", [True, False])
def test_removing_a_rule_lists_and_audits_and_can_return_its_hits(cli_db: Db, seeded: Seeded, unlabel: bool) -> None:
    rule_id, auto_hit = _auto_labelled(cli_db, seeded)
    with client() as http:
        csrf = sign_in(http, "viewer")
        assert http.get("/hits/rules").status_code == 403
        assert http.post(f"/hits/rules/{rule_id}/remove", data={"csrf": csrf}).status_code == 403
    with client() as http:
        csrf = sign_in(http, "analyst")
        listed = http.get("/hits/rules")
        assert listed.status_code == 200
        _no_secrets(listed.text)
        row = listed.text.split(f'data-rule="{rule_id}"')[1].split("</tr>")[0]
        for shown in ("전체 수집원", "alice", "010-****-5432"):
            assert shown in row
        form = {"csrf": csrf, **({"unlabel": "1"} if unlabel else {})}
        assert http.post(f"/hits/rules/{rule_id}/remove", data=form).status_code == 303
        assert "data-rule=" not in http.get("/hits/rules").text
    with cli_db.sessions() as session:
        assert session.get(SuppressionRule, rule_id) is None
    assert _labels(cli_db, auto_hit) == ([] if unlabel else [("false_positive", f"rule:{rule_id}")])
    assert ("analyst", "remove_rule", f"rule {rule_id}") in audit_rows(cli_db)


LEAK_TEXT = "\n".join(
    [
        "고객 디비 팝니다 샘플",
        "문의 공일공 구팔칠육 오사삼이 (김 실장)",
        "메일 kim.minsu (at) example (dot) kr",
        "다시 010-9876-5432 끝",
    ]
)


def _seal_post_text(db: Db, post_id: int, text: str) -> None:
    """Seal ``text`` as the post's stored text with the workspace's active evidence key."""
    app = App()
    evidence_id, evidence_key = app.keyring.active_key("evidence")
    app.close()
    with db.sessions.begin() as session:
        post = session.get_one(Post, post_id)
        post.text_ciphertext = EvidenceSealer(evidence_id, evidence_key).seal(text.encode(), f"post:{post.id}")
        post.text_key_id = evidence_id


def _seal_with_real_digests(db: Db, s: Seeded) -> int:
    """The leak post's text sealed, and one of its hits carrying the real keyed digest of the phone."""
    app = App()
    hmac_id, hmac_key = app.keyring.active_key("hmac")
    evidence_id, evidence_key = app.keyring.active_key("evidence")
    app.close()
    with db.sessions.begin() as session:
        post = session.get_one(Post, s.leak_post)
        post.text_ciphertext = EvidenceSealer(evidence_id, evidence_key).seal(LEAK_TEXT.encode(), f"post:{post.id}")
        post.text_key_id = evidence_id
        phone = session.scalars(
            select(HitRecord).where(HitRecord.post_id == post.id, HitRecord.id_type == "phone").order_by(HitRecord.id)
        ).first()
        assert phone is not None
        phone.digest = KeyedHasher(hmac_key, hmac_id).digest("phone", "821098765432")
        phone.key_id = hmac_id
        email = session.scalars(select(HitRecord).where(HitRecord.post_id == post.id, HitRecord.id_type == "name"))
        first = email.first()
        assert first is not None
        first.id_type, first.form = "email", "full"
        first.digest = KeyedHasher(hmac_key, hmac_id).digest("email", "kim.minsu@example.kr")
        first.key_id = hmac_id
        return phone.id


def test_post_text_only_after_an_audited_post_and_masked(cli_db: Db, seeded: Seeded) -> None:
    hit_id = _seal_with_real_digests(cli_db, seeded)
    with client() as http:
        csrf = sign_in(http, "viewer")
        assert http.post(f"/hits/{hit_id}/text", data={"csrf": csrf}).status_code == 403
    with client() as http:
        csrf = sign_in(http, "analyst")
        page = http.get(f"/hits/{hit_id}")
        assert 'id="show-text"' in page.text
        assert "고객 디비" not in page.text  # not before the click
        assert http.get(f"/hits/{hit_id}/text").status_code == 405  # never by a link
        assert http.post(f"/hits/{hit_id}/text", data={}).status_code == 403  # nor without the token
        cross = http.post(f"/hits/{hit_id}/text", data={"csrf": csrf}, headers={"Origin": "https://evil.example"})
        assert cross.status_code == 403
        assert not [r for r in audit_rows(cli_db) if r[1] == "view_post_text"]
        shown = http.post(f"/hits/{hit_id}/text", data={"csrf": csrf})
    assert shown.status_code == 200
    body = shown.text
    _no_secrets(body)
    for plain in ("공일공 구팔칠육", "kim.minsu", "9876"):
        assert plain not in body
    rows = re.findall(r'<tr class="(masked)?"><td class="line">(\d+)</td><td><pre>(.*?)</pre>', body)
    assert [(bool(m), int(n)) for m, n, _ in rows] == [(False, 1), (True, 2), (True, 3), (True, 4)]
    assert rows[0][2] == "고객 디비 팝니다 샘플"
    assert rows[1][2] == "phone 010-****-5432"
    assert rows[2][2] == "email k***@example.kr"
    assert ("analyst", "view_post_text", f"post {seeded.leak_post}") in audit_rows(cli_db)


def test_post_text_lines_without_a_hit_pass_the_redaction_rule(cli_db: Db, seeded: Seeded) -> None:
    _seal_post_text(cli_db, seeded.leak_post, f"연락 {SECRET_VALUES[0]} / {SECRET_VALUES[2]}\n주민 {SECRET_VALUES[1]}")
    with client() as http:
        csrf = sign_in(http, "analyst")
        shown = http.post(f"/hits/{seeded.hit}/text", data={"csrf": csrf})
    assert shown.status_code == 200
    _no_secrets(shown.text)
    assert "연락 [redacted] / [redacted]" in shown.text


def test_post_text_masks_protected_names_and_addresses_on_lines_without_a_hit(
    cli_db: Db, seeded: Seeded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hit_id = _seal_with_real_digests(cli_db, seeded)
    address = "서울시 강남구 테헤란로 152 101동 1001호"
    people = tmp_path / "people.csv"
    people.write_text(f"subject_ref,name,address\ncust-777,박서준,{address}\n", encoding="utf-8")
    imported = run_cli(capsys, "protect", "import", str(people))
    assert imported.code == 0, imported.err
    people.unlink()
    sealed = "\n".join(
        [
            "다시 010-9876-5432 끝",  # the hit's line
            "담당 박서준 실장",  # a protected name on a line with no hit
            "입금은 박서준에게 (문의 홍길동)",  # glued to a particle; 홍길동 is protected for nobody
            f"배송지 {address}",  # a protected address on a line with no hit
        ]
    )
    _seal_post_text(cli_db, seeded.leak_post, sealed)
    with client() as http:
        csrf = sign_in(http, "analyst")
        shown = http.post(f"/hits/{hit_id}/text", data={"csrf": csrf})
    assert shown.status_code == 200
    body = shown.text
    _no_secrets(body)
    for plain in ("박서준", "서준", "테헤란로", "101동", "1001호"):
        assert plain not in body
    assert "담당 박*준 실장" in body
    assert "입금은 박*준에게 (문의 홍길동)" in body  # names the protected set does not hold stay readable
    assert "배송지 서울특별시 강남구 ***" in body


def test_no_stored_text_is_one_sentence(cli_db: Db, seeded: Seeded) -> None:
    with client() as http:
        csrf = sign_in(http, "analyst")
        shown = http.post(f"/hits/{seeded.hit}/text", data={"csrf": csrf})
    assert shown.status_code == 400
    assert "has no stored text" in shown.text


def test_an_analyst_cannot_move_takedown_cases(cli_db: Db, seeded: Seeded) -> None:
    with cli_db.sessions.begin() as session:
        case_id = open_case(session, seeded.leak_post, actor="tester")[0].id
    with client() as http:
        csrf = sign_in(http, "analyst")
        refused = http.post(f"/takedown/{case_id}/state", data={"csrf": csrf, "state": "requested"})
    assert refused.status_code == 403
    with cli_db.engine.connect() as connection:
        state = connection.execute(text("SELECT state FROM takedown_cases WHERE id = :i"), {"i": case_id}).scalar()
    assert state == "open"


@pytest.mark.parametrize("after", ["abc", "-1", "1e3", "9" * 40])
def test_a_bad_page_position_is_one_sentence(seeded: Seeded, after: str) -> None:
    with client() as http:
        sign_in(http, "analyst")
        page = http.get(f"/hits?after={after}")
    assert page.status_code == 400
    assert "after must be a hit id" in page.text
