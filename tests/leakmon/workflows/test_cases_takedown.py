"""Takedown cases: the state machine, removal found by a crawl, and request drafts without values."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from leakmon.errors import InputError
from leakmon.workflows import drafts, takedown
from leakmon.workflows.takedown import IllegalTransition
from storage.models.core import HitRecord, Post
from tests.leakmon.workflows.world import SECRET_VALUES, Db, World, digest

SHA = "f" * 64


def _post(w: World) -> int:
    post = w.post(
        "kr_db_market",
        "4521",
        title="고객 디비 팝니다 [redacted]",
        author="@seller_kr",
        extra={"chat_id": -1001234567890, "chat_title": "KR DB 마켓"},
        files=[("sample.csv", SHA)],
    )
    hits = [w.hit(post, f"u{i}", t, attachment_sha256=SHA) for i in range(3) for t in ("phone", "name")]
    hits.append(w.hit(post, "u9", "rrn", attachment_sha256=SHA, label=SECRET_VALUES[1]))
    w.ingest(post, hits)
    return post.id


@pytest.mark.parametrize(
    ("path", "ok"),
    [
        (["requested", "removed"], True),
        (["requested", "refused", "requested", "expired"], True),
        (["removed"], True),
        (["refused"], False),
        (["requested", "removed", "requested"], False),
        (["expired", "open"], False),
    ],
)
def test_state_machine(db: Db, path: list[str], ok: bool) -> None:
    with db.world() as w:
        case, created = takedown.open_case(w.session, _post(w), actor="alice")
        assert created
        if ok:
            for state in path:
                takedown.set_state(w.session, case.id, state, actor="alice")
            history = takedown.history(w.session, case.id)
            assert [e.to_state for e in history] == ["open", *path]
        else:
            for state in path[:-1]:
                takedown.set_state(w.session, case.id, state, actor="alice")
            with pytest.raises(IllegalTransition, match="can move to"):
                takedown.set_state(w.session, case.id, path[-1], actor="alice")


def test_unknown_state_is_refused(db: Db) -> None:
    with db.world() as w:
        case, _ = takedown.open_case(w.session, _post(w), actor="alice")
        with pytest.raises(InputError, match="unknown takedown state"):
            takedown.set_state(w.session, case.id, "deleted", actor="alice")


def test_open_twice_reuses_the_active_case(db: Db) -> None:
    with db.world() as w:
        post_id = _post(w)
        first, _ = takedown.open_case(w.session, post_id, actor="a")
        second, created = takedown.open_case(w.session, post_id, actor="b")
        channel, channel_created = takedown.open_case(w.session, post_id, actor="b", channel=True)
    assert second.id == first.id
    assert not created
    assert channel_created
    assert channel.id != first.id


def test_removal_found_by_a_crawl_closes_open_post_cases(db: Db) -> None:
    with db.world() as w:
        post_id = _post(w)
        case, _ = takedown.open_case(w.session, post_id, actor="a")
        takedown.set_state(w.session, case.id, "requested", actor="a")
        channel_case, _ = takedown.open_case(w.session, post_id, actor="a", channel=True)
        post = w.session.get_one(Post, post_id)
        assert takedown.on_post_removed(w.session, post) == 1
        assert case.state == "removed"
        assert channel_case.state == "open"
        assert takedown.history(w.session, case.id)[-1].actor == "crawler"


@pytest.mark.parametrize("to", ["telegram", "kisa", "host-kr", "host"])
def test_draft_has_the_evidence_bundle_and_no_values(db: Db, to: str) -> None:
    with db.world() as w:
        case, _ = takedown.open_case(w.session, _post(w), actor="alice")
        text = drafts.render(w.session, case.id, to)
        hits = list(w.session.query(HitRecord))
    for needed in ("https://t.me/kr_db_market/4521", "-1001234567890", SHA, "@seller_kr", "디비 팝니다", "UTC"):
        assert needed in text
    korean = to in ("kisa", "host-kr")
    assert ("phone: 3건, 3명" if korean else "phone: 3 items, 3 people") in text
    assert ("rrn: 1건, 1명" if korean else "rrn: 1 items, 1 people") in text
    assert ("4명" if korean else "4 people") in text
    for secret in SECRET_VALUES:
        assert secret not in text
    for hit in hits:
        assert hit.masked not in text
        assert hit.digest.hex() not in text
    assert digest(SECRET_VALUES[1]).hex() not in text


ENGLISH_WORDS = ("Where:", "When", "Sale intent", "Seller contact", "Captured files", "Reporter", "We ask")
KOREAN_WORDS = ("위치:", "시각", "판매 의사", "판매자 연락처", "수집한 파일", "신고자", "요청합니다")


@pytest.mark.parametrize(("to", "korean"), [("kisa", True), ("host-kr", True), ("telegram", False), ("host", False)])
def test_draft_language_follows_the_recipient(db: Db, to: str, korean: bool) -> None:
    """Issue 16 item 5: KISA and Korean hosts get Korean, Telegram English; no mixed template."""
    with db.world() as w:
        case, _ = takedown.open_case(w.session, _post(w), actor="alice")
        text = drafts.render(w.session, case.id, to)
    present, absent = (KOREAN_WORDS, ENGLISH_WORDS) if korean else (ENGLISH_WORDS, KOREAN_WORDS)
    assert all(word in text for word in present)
    assert not any(word in text for word in absent)


def test_channel_case_draft_describes_the_case_post_and_only_true_statements(db: Db) -> None:
    """Issue 16 item 5: the channel case opened on post 9 describes post 9 (not the channel's oldest)."""
    with db.world() as w:
        old = w.post("kr_db_market", "8", title="old chatter", author="@someone_else", extra={"chat_id": -100123})
        w.ingest(old, [w.hit(old, "u1", "phone")])
        sale = w.post(
            "kr_db_market",
            "9",
            title="고객 디비 팝니다",
            author="@seller_kr",
            extra={"chat_id": -100123, "chat_title": "KR DB 마켓", "chat_username": "kr_db_market"},
            files=[("sample.csv", SHA)],
        )
        sale.posted_at = sale.first_seen = datetime(2026, 11, 21, 3, 4, 5, tzinfo=UTC)
        w.ingest(sale, [w.hit(sale, f"u{i}", attachment_sha256=SHA) for i in range(2, 5)])
        case, _ = takedown.open_case(w.session, sale.id, actor="alice", channel=True)
        english = drafts.render(w.session, case.id, "telegram")
        text_only = w.post("paste_site", "p1", venue="paste", author="@seller_kr")
        w.ingest(text_only, [w.hit(text_only, "u7"), w.hit(text_only, "u8")])
        paste_case, _ = takedown.open_case(w.session, text_only.id, actor="alice")
        no_files = drafts.render(w.session, paste_case.id, "kisa")
    assert "permalink: https://t.me/kr_db_market/9" in english
    assert english.rstrip().count("post id: 9") == 1
    assert "post id: 8" not in english
    assert "posted: 2026-11-21 03:04:05 UTC" in english
    assert '"고객 디비 팝니다"' in english
    assert "Seller contact: @seller_kr" in english
    assert "old chatter" not in english
    assert "@someone_else" not in english
    assert "Scope: the whole channel (2 posts captured from it)" in english
    assert "channel username at capture: kr_db_market" in english
    assert "4 people" in english  # the channel's posts: u1..u4
    assert "attached" not in english.lower().replace("no screenshot is attached", "")
    assert "not downloaded" not in english
    assert "fetched the files listed above" in english
    assert SHA in english
    assert "파일은 내려받지 않았습니다" in no_files
    assert "수집한 파일: 없음" in no_files


def test_draft_for_unknown_recipient_fails(db: Db) -> None:
    with db.world() as w:
        case, _ = takedown.open_case(w.session, _post(w), actor="alice")
        with pytest.raises(InputError, match="unknown recipient"):
            drafts.render(w.session, case.id, "police")
