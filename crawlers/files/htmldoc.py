"""HTML pages: visible text only (no markup, scripts or styles). Block elements and ``<br>`` end a
line; inline elements do not, so ``010-<b>1234</b>-5678`` stays one value (the same rule as a crawled
page's text, :func:`crawlers.web.text.element_text`)."""

from __future__ import annotations

from collections.abc import Iterator

from parsel import Selector
from w3lib.encoding import html_to_unicode

from crawlers.files.context import Context, Item, Member
from crawlers.files.decode import detect_encoding
from crawlers.files.lines import split_lines
from crawlers.files.text import text_blocks
from crawlers.web.text import element_text


def html_blocks(member: Member, ctx: Context, data: bytes) -> Iterator[Item]:
    """Text lines of a page (at most ``max_document_bytes``); unit ``line`` counts extracted lines."""
    _, text = html_to_unicode(None, data, auto_detect_fun=lambda body: detect_encoding(body[:65536])[0])
    visible = element_text(Selector(text=text))
    yield from text_blocks(member, split_lines([visible + "\n"], member.locator, ctx.limits.max_line_bytes))
