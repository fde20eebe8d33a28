"""Plain text from HTML elements, and small parsers for values found on pages."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from lxml import etree
from parsel import Selector

# Hand-written rather than html-text: that library puts a space between adjacent inline
# elements ("010-<b>1234</b>" -> "010- 1234"), which splits identifiers sellers wrap in tags.
_BLOCK = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    ]
)
_SKIP = frozenset({"script", "style", "noscript", "template", "head"})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")


def element_text(selector: Selector) -> str:
    """The visible text of an element: block elements and ``<br>`` become line breaks."""
    root = selector.root
    if isinstance(root, str):
        return root.strip()
    parts: list[str] = []
    _walk(root, parts, is_root=True)
    lines = (_SPACES.sub(" ", line).strip() for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)


def _walk(element: etree._Element, parts: list[str], *, is_root: bool = False) -> None:
    tag = element.tag.lower() if isinstance(element.tag, str) else ""
    if tag and tag not in _SKIP:
        block = tag in _BLOCK
        if block:
            parts.append("\n")
        if element.text:
            parts.append(element.text)
        for child in element:
            _walk(child, parts)
        if block:
            parts.append("\n")
    if element.tail and not is_root:
        parts.append(element.tail)


def first_text(selector: Selector, css: str | None) -> str | None:
    """The text of the first match of ``css`` under ``selector`` (attribute or element text)."""
    if not css:
        return None
    found = selector.css(css)
    if not found:
        return None
    text = element_text(found[0])
    return text or None


_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y.%m.%d %H:%M:%S", "%Y.%m.%d %H:%M", "%Y-%m-%d", "%Y.%m.%d")


def parse_time(value: str | None, zone: str = "Asia/Seoul") -> datetime | None:
    """A page time as aware UTC-comparable datetime; times without an offset are in ``zone``."""
    if not value:
        return None
    value = value.strip().rstrip(".")
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        for fmt in _DATE_FORMATS:
            try:
                parsed = datetime.strptime(value, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo(zone))


_SIZE = re.compile(r"([\d.,]+)\s*([KMGT]?i?B)", re.IGNORECASE)
_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30}


def parse_size(value: str | None) -> int | None:
    """'2.4 MB' -> 2400000; None when no size is recognisable."""
    match = _SIZE.search(value or "")
    if not match:
        return None
    unit = _UNITS.get(match.group(2).lower())
    try:
        number = float(match.group(1).replace(",", ""))
    except ValueError:
        return None
    return int(number * unit) if unit else None


_PASSWORD = re.compile(
    r"(?:password|passwd|pass|pw|pwd|비밀번호|비번|암호|압축\s*비번)\s*[:=：]\s*(\S{1,64})", re.IGNORECASE
)


def passwords_in(text: str) -> tuple[str, ...]:
    """Archive passwords a post states ("pw: infected", "비번: 1234"), in order, without duplicates."""
    found = (m.group(1).strip("\"'`.,;()[]") for m in _PASSWORD.finditer(text))
    return tuple(dict.fromkeys(p for p in found if p))
