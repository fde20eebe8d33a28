"""Takedown cases: the state machine, removal found by a crawl, and request drafts without values."""

from __future__ import annotations

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


@pytest.mark.parametrize("to", ["telegram", "kisa", "host"])
def test_draft_has_the_evidence_bundle_and_no_values(db: Db, to: str) -> None:
    with db.world() as w:
        case, _ = takedown.open_case(w.session, _post(w), actor="alice")
        text = drafts.render(w.session, case.id, to)
        hits = list(w.session.query(HitRecord))
    for needed in ("https://t.me/kr_db_market/4521", "-1001234567890", SHA, "@seller_kr", "디비 팝니다", "UTC"):
        assert needed in text
    assert "phone: 3 items, 3 people" in text
    assert "rrn: 1 items, 1 people" in text
    assert "4 people" in text
    for secret in SECRET_VALUES:
        assert secret not in text
    for hit in hits:
        assert hit.masked not in text
        assert hit.digest.hex() not in text
    assert digest(SECRET_VALUES[1]).hex() not in text


def test_draft_for_unknown_recipient_fails(db: Db) -> None:
    with db.world() as w:
        case, _ = takedown.open_case(w.session, _post(w), actor="alice")
        with pytest.raises(InputError, match="unknown recipient"):
            drafts.render(w.session, case.id, "police")
