"""Public Telegram channel previews (``t.me/s/NAME``), newest page first, paging back with ``before``.

The highest message id per channel is the checkpoint (scope ``crawl``, key ``tme:SOURCE:CHANNEL``).
A run walks back until it reaches the checkpoint or ``depth`` older pages, and only the last post of
that walk advances the checkpoint, so a crash mid-walk resumes from the old one. Messages still on
the newest page are re-read each run, which picks up edits (the sink skips unchanged ones).
Documents in a preview have no download link: they are handed over as skipped attachments.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from parsel import Selector
from scrapy.http import Response

from crawlers.interface import CheckpointUpdate
from crawlers.model import Attachment, CrawledPost, Finding
from crawlers.web.items import PageItem, PostItem
from crawlers.web.spiders.base import WebSpider
from crawlers.web.text import element_text, first_text, parse_size, parse_time, passwords_in
from storage.repositories.crawl import PageState

MESSAGE = "div.tgme_widget_message[data-post]"


def checkpoint_key(source: str, channel: str) -> str:
    return f"tme:{source}:{channel}"


class TmePreviewSpider(WebSpider):
    """The spider for kind ``tme_preview``."""

    name = "leakmon_tme"

    async def start(self) -> AsyncIterator[Any]:
        for url in self.start_urls:
            yield self.page_request(url, depth=0, role="listing", meta={"lm_conditional": False, "lm_older": 0})

    async def parse(self, response: Response, **kwargs: Any) -> AsyncIterator[Any]:
        if response.status != 200:
            self.record(Finding(response.url, "http_error", f"HTTP {response.status}"))
            return
        messages = response.css(MESSAGE)
        channel = _channel(response, messages)
        if channel is None:
            self.record(Finding(response.url, "no_public_preview", "no public post list at this URL"))
            return
        self.summary.pages += 1
        older: int = response.meta["lm_older"]
        checkpoint = int(self.checkpoints.get(checkpoint_key(self.source, channel), "0") or 0)
        ids = [_message_id(m) for m in messages]
        numbers = [i for i in ids if i is not None]
        newest = max([response.meta.get("lm_newest", 0), *numbers])
        before = response.css("a.tme_messages_more[data-before]::attr(data-before)").get()
        more = bool(before) and bool(numbers) and min(numbers) > checkpoint and older < self.config.depth
        posts = [self._post(channel, message, response) for message in messages]
        key = response.meta["lm_key"]
        items = [PostItem(post, passwords_in(post.text), page_key=key) for post in posts if post is not None]
        if not more and items and newest > checkpoint:
            last = items[-1]
            update = CheckpointUpdate("crawl", checkpoint_key(self.source, channel), str(newest))
            items[-1] = PostItem(last.post, last.passwords, last.findings, update, last.temp_paths, key)
        post_ids = tuple(item.post.external_id for item in items)
        self.present_posts.update(post_ids)
        previous = self.pages.get(key)
        if previous is not None and numbers:
            low, high = min(numbers), max(numbers)
            # Only ids inside this page's range can have vanished; older ones merely scrolled off.
            for external_id in set(previous.post_ids) - set(post_ids):
                number = _id_number(external_id)
                if number is not None and low <= number <= high:
                    self.missing_posts.add(external_id)
        for item in items:
            yield item
        yield PageItem(PageState(url=key, depth=older, post_ids=post_ids), "changed")
        if more and before:
            url = response.urljoin(f"{urlsplit(response.url).path}?before={before}")
            yield self.page_request(
                url,
                depth=older + 1,
                role="listing",
                meta={"lm_conditional": False, "lm_older": older + 1, "lm_newest": newest},
            )

    def _post(self, channel: str, message: Selector, response: Response) -> CrawledPost | None:
        number = _message_id(message)
        if number is None:
            return None
        text_node = message.css(".tgme_widget_message_text")
        text = element_text(text_node[0]) if text_node else ""
        date = message.css(".tgme_widget_message_date time::attr(datetime)").get()
        link = message.css("a.tgme_widget_message_date::attr(href)").get()
        extra: dict[str, str] = {}
        forwarded = first_text(message, ".tgme_widget_message_forwarded_from_name")
        if forwarded:
            extra["forwarded_from"] = forwarded
        photos = len(message.css("a.tgme_widget_message_photo_wrap"))
        if photos:
            extra["photos"] = str(photos)
        if message.css(".text_not_supported_wrap"):
            extra["not_supported"] = "true"
        attachments = tuple(
            Attachment(
                name=first_text(doc, ".tgme_widget_message_document_title") or "document",
                declared_size=parse_size(first_text(doc, ".tgme_widget_message_document_extra")),
                skipped_reason="t.me preview has no download link",
            )
            for doc in message.css(".tgme_widget_message_document_wrap")
        )
        return CrawledPost(
            source=self.source,
            external_id=f"{channel}/{number}",
            venue="tme_preview",
            text=text,
            url=response.urljoin(link) if link else response.url,
            author=first_text(message, ".tgme_widget_message_from_author")
            or first_text(message, ".tgme_widget_message_owner_name"),
            posted_at=parse_time(date, self.config.timezone),
            attachments=attachments,
            extra=extra,
        )


def _message_id(message: Selector) -> int | None:
    value = message.attrib.get("data-post", "")
    return _id_number(value)


def _id_number(external_id: str) -> int | None:
    tail = external_id.rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else None


def _channel(response: Response, messages: list[Selector] | Any) -> str | None:
    for message in messages:
        value = message.attrib.get("data-post", "")
        if "/" in value:
            return str(value.split("/", 1)[0])
    parts = [p for p in urlsplit(response.url).path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "s" and response.css(".tgme_channel_info, .tgme_widget_message_wrap"):
        return parts[1]
    return None
