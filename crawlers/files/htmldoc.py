"""HTML pages: visible text only (no markup, scripts or styles). Block elements and ``<br>`` end a
line; inline elements do not, so ``010-<b>1234</b>-5678`` stays one value (the same rule as a crawled
page's text, :func:`crawlers.web.text.element_text`), and neither does source indentation between
tags (a line break at the edge of a text node) outside ``<pre>`` and ``<textarea>``."""

from __future__ import annotations

import re
from collections.abc import Iterator

from lxml import etree
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
    page = Selector(text=text)
    _fold_formatting(page.root)
    visible = element_text(page)
    yield from text_blocks(member, split_lines([visible + "\n"], member.locator, ctx.limits.max_line_bytes))


_VERBATIM = frozenset({"pre", "textarea", "listing", "plaintext", "xmp"})
#: Source formatting at the edges of a text node: whitespace holding a line break.
_EDGE_BREAK = re.compile(r"^\s*\n\s*|\s*\n\s*$")


def _fold_formatting(root: object) -> None:
    """Line breaks at the edges of text nodes (source indentation between tags) become one space,
    outside verbatim elements; line breaks inside a text node stay (rows of a pasted dump)."""
    if not isinstance(root, etree._Element):
        return
    for element in root.iter():
        if not _verbatim(element):
            element.text = _EDGE_BREAK.sub(" ", element.text) if element.text else element.text
        parent = element.getparent()
        if parent is not None and not _verbatim(parent):
            element.tail = _EDGE_BREAK.sub(" ", element.tail) if element.tail else element.tail


def _verbatim(element: etree._Element) -> bool:
    return any(isinstance(e.tag, str) and e.tag.lower() in _VERBATIM for e in (element, *element.iterancestors()))
