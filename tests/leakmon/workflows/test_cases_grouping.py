"""Incident grouping: reposts of one leak across venues form one incident; unrelated posts do not."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from leakmon.settings import IncidentSettings, load_settings
from leakmon.workflows.grouping import signature_similarity, text_signature
from storage.models.cases import Incident, IncidentPost
from storage.repositories.cases import incident_of_post
from tests.leakmon.workflows.world import Db

FILE_X = "a" * 64
KEY = b"grouping-test-signature-key-32b"
TITLE = "KR 쇼핑몰 고객 디비 팝니다 최신 업데이트 50만건"


def _incident_of(db: Db, post_id: int) -> int | None:
    with db.sessions() as session:
        return session.scalar(select(IncidentPost.incident_id).where(IncidentPost.post_id == post_id))


def test_reposts_across_venues_form_one_incident(db: Db) -> None:
    ten = [f"u{i:03d}" for i in range(10)]
    with db.world() as w:
        a = w.leak("chan_a", "1", ten, file_sha=FILE_X, title=TITLE)
        # Same file re-uploaded on a forum, matching other rows of it.
        b = w.leak("forum_x", "77", ["u100", "u101"], venue="forum", file_sha=FILE_X, title="자료 공유")
        # A paste with six of the same people (no file, no similar title).
        c = w.leak("paste_y", "p9", ten[:6], venue="paste", title="무제")
        # Another channel: near-identical ad text, one shared person.
        d = w.leak("chan_b", "5", ["u000", "u200"], title="KR 쇼핑몰 고객디비 팝니다!! 최신업데이트 50만건")
        # Unrelated: other people, other text, other file.
        e = w.leak("chan_c", "9", ["z1", "z2", "z3"], title="코인 투자자 연락처 판매", file_sha="b" * 64)
    ids = {name: _incident_of(db, post.id) for name, post in {"a": a, "b": b, "c": c, "d": d, "e": e}.items()}
    assert ids["a"] is not None
    assert ids["a"] == ids["b"] == ids["c"] == ids["d"]
    assert ids["e"] not in (None, ids["a"])
    with db.sessions() as session:
        joined = dict(session.execute(select(IncidentPost.post_id, IncidentPost.reason)).all())
        incident = session.get_one(Incident, ids["a"])
        assert joined[b.id] == "attachment"
        assert joined[c.id] == "subjects"
        assert joined[d.id] == "text"
        assert incident.subject_count == 10 + 2 + 1
        assert incident.post_count == 4


def test_one_shared_person_and_different_text_stay_apart(db: Db) -> None:
    with db.world() as w:
        a = w.leak("chan_a", "1", ["u1", "u2", "u3"], title="주식 디비 팝니다 실시간 문의")
        b = w.leak("chan_b", "2", ["u1", "x1", "x2"], title="대출 부결 콜DB 대량 보유 중")
    assert _incident_of(db, a.id) != _incident_of(db, b.id)


def test_grouping_thresholds_are_settings(db: Db, tmp_path: Path) -> None:
    """With [incidents] subject_shared_min = 1, one shared person is enough to join."""
    loose = load_settings(home=tmp_path, incidents={"subject_shared_min": 1, "subject_overlap_min": 0.3})
    with db.world(loose) as w:
        a = w.leak("chan_a", "1", ["u1", "u2", "u3"], title="주식 디비 팝니다 실시간 문의")
        b = w.leak("chan_b", "2", ["u1", "x1", "x2"], title="대출 부결 콜DB 대량 보유 중")
    assert _incident_of(db, a.id) == _incident_of(db, b.id) is not None


def test_a_post_linking_two_incidents_merges_them(db: Db) -> None:
    with db.world() as w:
        a = w.leak("chan_a", "1", ["u1", "u2"], file_sha=FILE_X)
        b = w.leak("chan_b", "2", ["v1", "v2"], file_sha="c" * 64)
        first, second = incident_of_post(w.session, a.id), incident_of_post(w.session, b.id)
        assert first is not None
        assert second is not None
        assert first != second
        bridge = w.post("chan_c", "3", files=[("a.csv", FILE_X), ("b.csv", "c" * 64)])
        hits = [w.hit(bridge, "u1", attachment_sha256=FILE_X), w.hit(bridge, "v1", attachment_sha256="c" * 64)]
        w.ingest(bridge, hits)
    target = min(first, second)
    assert _incident_of(db, a.id) == _incident_of(db, b.id) == _incident_of(db, bridge.id) == target
    with db.sessions() as session:
        merged = session.get_one(Incident, max(first, second))
        assert merged.status == "merged"
        assert merged.merged_into == target
        assert session.get_one(Incident, target).subject_count == 4


def test_a_post_without_hits_makes_no_incident(db: Db) -> None:
    with db.world() as w:
        post = w.post("chan_a", "1")
        w.ingest(post, [])
    assert _incident_of(db, post.id) is None


AD = "🔥 KR 쇼핑몰 고객 디비 팝니다 🔥 최신 업데이트 50만건 샘플 있음 텔레그램 문의 주세요 {n}"


def test_text_signature_is_similar_for_edited_reposts_and_blind_to_numbers() -> None:
    first = text_signature(AD.format(n="010-1234-5678 seller@example.kr"), KEY)
    edited = text_signature(AD.format(n="010-9999-0000 other@example.kr").replace("있음", "있어요"), KEY)
    other = text_signature("코인 거래소 회원 정보 판매 실시간 업데이트 대량 보유 중 연락 바랍니다", KEY)
    assert first == text_signature(AD.format(n="010-0000-0000 x@y.z"), KEY)  # digits and e-mails masked
    assert signature_similarity(first, edited) >= IncidentSettings().signature_similarity_min
    assert signature_similarity(first, other) < 0.2
    assert text_signature("짧음", KEY) == ""
    assert all(len(h) == 16 for h in first.split())


def test_untitled_telegram_reposts_link_by_signature(db: Db) -> None:
    with db.world() as w:
        first = w.leak(
            "chan_a",
            "1",
            ["u1", "u2"],
            file_sha="1" * 64,
            extra={"text_signature": text_signature(AD.format(n=""), KEY)},
        )
        repost = w.leak(
            "chan_b",
            "2",
            ["u2", "u9"],
            file_sha="2" * 64,
            extra={"text_signature": text_signature(AD.format(n="!!").replace("문의 주세요", "문의"), KEY)},
        )
        other = w.leak(
            "chan_c",
            "3",
            ["u1", "x9"],
            file_sha="3" * 64,
            extra={"text_signature": text_signature("대출 부결 콜DB 대량 보유 중 연락 바랍니다 가격 협의", KEY)},
        )
        assert incident_of_post(w.session, first.id) == incident_of_post(w.session, repost.id)
        assert incident_of_post(w.session, other.id) != incident_of_post(w.session, first.id)
        reasons = dict(w.session.execute(select(IncidentPost.post_id, IncidentPost.reason)).all())
    assert reasons[repost.id] == "signature"


def test_a_post_matching_in_two_files_joins_the_incident_of_either(db: Db) -> None:
    """A post's files come with its summary when there is one; with two, both are looked up."""
    with db.world() as w:
        first = w.leak("chan_a", "1", ["u1", "u2"], file_sha="f" * 64, title="무제 하나")
        both = w.post("chan_b", "2", title="무제 둘")
        w.ingest(
            both,
            [w.hit(both, "z1", attachment_sha256="c" * 64), w.hit(both, "z2", attachment_sha256="f" * 64)],
        )
    assert _incident_of(db, both.id) == _incident_of(db, first.id) is not None
    with db.sessions() as session:
        reason = session.scalar(select(IncidentPost.reason).where(IncidentPost.post_id == both.id))
    assert reason == "attachment"
