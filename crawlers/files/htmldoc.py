"""HTML pages: visible text only (no markup, scripts or styles), one text line per line."""

from __future__ import annotations

from collections.abc import Iterator

from parsel import Selector
from w3lib.encoding import html_to_unicode

from crawlers.files.context import Context, Item, Member
from crawlers.files.decode import detect_encoding
from crawlers.files.lines import split_lines
from crawlers.files.text import text_blocks

_VISIBLE = "//text()[not(ancestor::script or ancestor::style or ancestor::noscript)]"


def html_blocks(member: Member, ctx: Context, data: bytes) -> Iterator[Item]:
    """Text lines of a page (at most ``max_document_bytes``); unit ``line`` counts extracted lines."""
    _, text = html_to_unicode(None, data, auto_detect_fun=lambda body: detect_encoding(body[:65536])[0])
    lines = (line.strip() for node in Selector(text=text).xpath(_VISIBLE).getall() for line in node.splitlines())
    visible = "\n".join(line for line in lines if line)
    yield from text_blocks(member, split_lines([visible + "\n"], member.locator, ctx.limits.max_line_bytes))
