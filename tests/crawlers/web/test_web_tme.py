"""A t.me/s style preview with "before" paging, checkpointed by the newest message id."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Crawl
from web_fakes import read_events
from web_sites import FixtureSite

pytestmark = pytest.mark.slow  # each crawl is a child process (~2-5 s)


def _message(channel: str, number: int, text: str, extra: str = "") -> str:
    return (
        f'<div class="tgme_widget_message_wrap"><div class="tgme_widget_message" data-post="{channel}/{number}">'
        f'<div class="tgme_widget_message_text js-message_text">{text}</div>{extra}'
        f'<div class="tgme_widget_message_footer"><a class="tgme_widget_message_date" '
        f'href="https://t.me/{channel}/{number}"><time datetime="2026-11-20T0{number % 10}:00:00+00:00">x</time></a>'
        f"</div></div></div>"
    )


FORWARD_AND_PHOTO = (
    '<div class="tgme_widget_message_forwarded_from">Forwarded from '
    '<a class="tgme_widget_message_forwarded_from_name" href="https://t.me/other">Other Shop</a></div>'
    '<a class="tgme_widget_message_photo_wrap" style="background-image:url(\'https://cdn/x.jpg\')"></a>'
)
DOC = (
    '<a class="tgme_widget_message_document_wrap"><div class="tgme_widget_message_document_title">db.zip</div>'
    '<div class="tgme_widget_message_document_extra">2.4 MB</div></a>'
)


EXTRAS = {3: DOC, 4: FORWARD_AND_PHOTO}


def _page(channel: str, numbers: range, before: int | None, texts: dict[int, str] | None = None) -> str:
    texts = texts or {}
    body = "".join(
        _message(channel, n, texts.get(n, f"post {n} LEAKTOKEN<br>pw: p{n}"), EXTRAS.get(n, "")) for n in numbers
    )
    more = (
        f'<a class="tme_messages_more js-messages_more" data-before="{before}" href="/s/{channel}?before={before}"></a>'
        if before
        else ""
    )
    return f'<html><body><div class="tgme_channel_info"></div>{more}{body}</body></html>'


def test_preview_pages_back_then_rereads_only_the_newest_page(
    site: FixtureSite, crawl: Crawl, events_path: Path
) -> None:
    site.add("/s/leaks", _page("leaks", range(5, 8), before=5))
    site.add("/s/leaks?before=5", _page("leaks", range(2, 5), before=2))
    site.add("/s/leaks?before=2", _page("leaks", range(1, 2), before=None))
    first = crawl(kind="tme_preview", start_urls=[site.url("/s/leaks")], depth=5)
    assert first.status == "ok", first
    ingested = read_events(events_path, "ingest")
    assert sorted(e["external_id"] for e in ingested) == [f"leaks/{n}" for n in range(1, 8)]
    by_id = {e["external_id"]: e for e in ingested}
    assert by_id["leaks/7"]["text"] == "post 7 LEAKTOKEN\npw: p7"
    assert by_id["leaks/7"]["passwords"] == ["p7"]
    assert by_id["leaks/7"]["posted_at"] == "2026-11-20T07:00:00+00:00"
    assert by_id["leaks/3"]["attachments"] == [
        {
            "name": "db.zip",
            "size": None,
            "declared_size": 2_400_000,
            "on_disk": False,
            "skipped": "t.me preview has no download link",
            "sha256": None,
        }
    ]
    assert by_id["leaks/4"]["extra"] == {"forwarded_from": "Other Shop", "photos": "1"}
    assert by_id["leaks/7"]["url"] == "https://t.me/leaks/7"
    # Only the last post of the walk carries the checkpoint, with the newest id.
    assert [e["checkpoint"] for e in ingested if e["checkpoint"]] == [["tme:src:leaks", "7"]]
    assert ingested[-1]["checkpoint"] == ["tme:src:leaks", "7"]

    # The recording sink does not store checkpoints: give the second run one through the DB.
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from storage.repositories.checkpoints import set_checkpoint

    site.reset_log()
    site.add("/s/leaks", _page("leaks", range(6, 9), before=6, texts={7: "post 7 edited"}))
    site.add("/s/leaks?before=6", _page("leaks", range(3, 6), before=3))
    engine = create_engine(_db_url(events_path))
    with Session(engine) as session, session.begin():
        set_checkpoint(session, "crawl", "tme:src:leaks", "7")
    engine.dispose()
    before = len(ingested)
    second = crawl(kind="tme_preview", start_urls=[site.url("/s/leaks")], depth=5)
    assert site.fetched() == ["/s/leaks"]  # newest page reaches the checkpoint: no paging back
    later = read_events(events_path, "ingest")[before:]
    assert {e["external_id"]: e["status"] for e in later} == {
        "leaks/6": "unchanged",
        "leaks/7": "changed",
        "leaks/8": "new",
    }
    assert later[-1]["checkpoint"] == ["tme:src:leaks", "8"]
    assert second.new_posts == 1
    assert second.changed_posts == 1


def test_vanished_message_inside_the_page_range_is_recorded_removed(
    site: FixtureSite, crawl: Crawl, events_path: Path
) -> None:
    site.add("/s/leaks", _page("leaks", range(1, 4), before=None))
    crawl(kind="tme_preview", start_urls=[site.url("/s/leaks")])
    site.add(
        "/s/leaks",
        _page("leaks", range(1, 4), before=None).replace(_message("leaks", 2, "post 2 LEAKTOKEN<br>pw: p2"), ""),
    )
    crawl(kind="tme_preview", start_urls=[site.url("/s/leaks")])
    assert [e["external_id"] for e in read_events(events_path, "removed")] == ["leaks/2"]


def test_a_page_that_is_not_a_preview_is_a_finding(site: FixtureSite, crawl: Crawl) -> None:
    site.add("/s/private", "<html><body>join the group</body></html>")
    summary = crawl(kind="tme_preview", start_urls=[site.url("/s/private")])
    assert summary.findings == {"no_public_preview": 1}


def _db_url(events_path: Path) -> str:
    return f"sqlite:///{events_path.parent / 'crawl.db'}"
