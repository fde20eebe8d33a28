"""The one redaction rule for every string from a crawled source that is stored or printed.

Sellers choose titles, author names, post ids, URLs, archive member names and file names, and
sometimes put a sample value in them ("DB 010-1234-5678", "940309-2761951_kim.csv", "seller
kim0101 (at) kakao (dot) com"). The rule looks at the text AFTER de-obfuscation (Hangul digit
words, circled and full-width digits, "(at)"/"(dot)", invisible characters... undone by
:mod:`matchers.deobfuscate`) and masks, in the original text, every span whose de-obfuscated form
is identifier-shaped: an e-mail address, or a run of digits and separators at least 7 characters
long that looks like a phone, resident/card number or date: 9 digits or more, a leading 0,
separators inside ("123-4567", "1990-01-01") or an 8-digit date (19900101). A plain 7 or 8-digit
number (a forum topic id, "8388608") is not one, and neither are positions and sizes leakmon writes
itself ("row 123456789", "larger than 2147483648 bytes"), nor an IPv4 address with its port or a
timestamp with a time of day, which log lines need. Log lines follow this same rule
(:func:`leakmon.logs.redact_text` delegates here).

Ids that must stay unique and stable (a post's external id) are not masked but replaced by a keyed
reference (:class:`Redactor`), so re-crawls still find the stored post.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import unquote

from matchers.deobfuscate import normalize, trigger_segments

if TYPE_CHECKING:
    from crawlers.model import CrawledPost, Finding

MASK = "[redacted]"
_IDENTIFIER = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\d[\d\s().\-]{5,}\d"
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
#: Numbers logs need that are no identifier: an IPv4 address (no leading zeros, so no phone fits)
#: with its port, and a timestamp (a date with a time of day; a date alone may be a birthdate).
_KEEP = (
    rf"(?<![\d.]){_OCTET}(?:\.{_OCTET}){{3}}(?::\d{{1,5}})?(?![\d.])"
    r"|(?<!\d)(?:19|20)\d\d-[01]\d-[0-3]\d[T ][0-2]\d:[0-5]\d(?::[0-5]\d(?:[.,]\d+)?)?(?:Z|[+-][0-2]\d:?[0-5]\d)?"
)
#: An identifier-shaped span, or (tried first at each position) a number to keep (group ``keep``).
_IDENTIFIER_SHAPED = re.compile(rf"(?P<keep>{_KEEP})|{_IDENTIFIER}")
#: A number leakmon wrote as a position or a size: a word before it or a unit after it.
_POSITION_BEFORE = re.compile(r"(?:row|rows|line|lines|record|page|item|entry|offset|part|member|#)\s*\Z", re.I)
_UNIT_AFTER = re.compile(r"\s*(?:bytes?|B|KiB|MiB|GiB|KB|MB|GB|ms|s|seconds|rows|lines|characters|chars|%)\b")
#: Positions are plain numbers of at most 10 digits not starting with 0 (no phone, RRN or card).
_PLAIN_NUMBER = re.compile(r"[1-9]\d{0,9}")
#: A plain number too short to be a phone, RRN or card, and not a date (an id, a count, a size).
_SHORT_NUMBER = re.compile(r"[1-9]\d{6,7}")
_DATE8 = re.compile(r"(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])")
#: Telegram's own numeric ids: a marked channel id and message id, and the t.me/c/ permalink.
_TELEGRAM_ID = re.compile(r"-(?:100\d{1,10}|[1-9]\d{0,9})/\d{1,10}")
_TELEGRAM_CHANNEL = re.compile(r"\d{1,10}")
_TELEGRAM_LINK = re.compile(r"https://t\.me/c/\d{1,10}/\d{1,10}")
_REF_LETTERS = str.maketrans("0123456789abcdef", "abcdefghijklmnop")


def redact(text: str) -> str:
    """``text`` with every identifier-shaped span (judged after de-obfuscation) replaced by ``[redacted]``.

    Text with percent-escapes is judged decoded too (``?mail=kim%40naver.com``): when the decoded
    text holds an identifier, the decoded text is returned with it masked.
    """
    if not text:
        return text
    if "%" in text:
        decoded = unquote(text)
        if decoded != text:
            masked = _redact_plain(decoded)
            if masked != decoded:
                return masked
    return _redact_plain(text)


def _redact_plain(text: str) -> str:
    """:func:`redact` of text as written (no percent-decoding)."""
    # Judged as written first: de-obfuscation drops markup, and "<GET http://...?tel=...>" is no tag.
    text = _IDENTIFIER_SHAPED.sub(lambda m: _mask(m, m.string), text)
    if not _needs_deobfuscation(text):
        return text
    norm = normalize(text)
    plain = norm.text
    spans: list[tuple[int, int]] = []
    for match in _IDENTIFIER_SHAPED.finditer(plain):
        if match.group("keep") is None and _mask(match, plain) == MASK:
            end = norm.pos[match.end()] if match.end() < len(plain) else len(text)
            spans.append((norm.pos[match.start()], end))
    for start, end in reversed(spans):
        text = text[:start] + MASK + text[end:]
    return text


#: A locator the readers build: ``<where>:<unit> <number>`` (see ``crawlers.model.TextBlock.locate``).
_NUMBERED_LOCATOR = re.compile(r"(.*:(?:line|row) )([1-9][0-9]{0,9})", re.DOTALL)
#: Redacted locator prefixes; a big file's hits share a handful of them.
_PREFIXES: dict[str, str] = {}
_MAX_PREFIXES = 4096


def redact_locator(locator: str) -> str:
    """``redact(locator)``, computed once per locator prefix.

    A locator ``<where>:row 812`` differs between the hits of one file only in its line number, and
    a position after ``row``/``line`` is never masked (nor can a masked span reach past that word),
    so the redacted prefix is cached and the number appended (a differential test checks this
    against :func:`redact`).
    """
    numbered = _NUMBERED_LOCATOR.fullmatch(locator)
    if numbered is None:
        return redact(locator)
    prefix, number = numbered.groups()
    cached = _PREFIXES.get(prefix)
    if cached is None:
        if len(_PREFIXES) >= _MAX_PREFIXES:
            _PREFIXES.clear()
        cached = _PREFIXES[prefix] = redact(prefix)
    return cached + number


def error_reason(exc: BaseException, *, limit: int = 500) -> str:
    """A failure as one redacted line for a run's stored reason or a parent process.

    A database error's text carries the server's DETAIL line (PostgreSQL echoes the conflicting
    value) and, in SQLAlchemy, the statement and its parameters: only the driver's error class and
    the first line of its message are kept.
    """
    orig = getattr(exc, "orig", None)
    source = orig if isinstance(orig, BaseException) else exc
    first_line = str(source).strip().splitlines()[0] if str(source).strip() else ""
    return redact(f"{type(source).__name__}: {first_line}")[:limit]


def is_redacted(text: str) -> bool:
    """True when ``text`` holds nothing identifier-shaped."""
    return redact(text) == text


def redact_url(url: str | None) -> str | None:
    """A URL (judged percent-decoded) with identifier-shaped spans masked; Telegram permalinks stay."""
    if not url or _TELEGRAM_LINK.fullmatch(url):
        return url
    decoded = unquote(url)
    masked = redact(decoded)
    return url if masked == decoded else masked


def redact_finding(finding: Finding) -> Finding:
    """A finding whose locator and reason follow the rule."""
    return replace(finding, locator=redact(finding.locator), reason=redact(finding.reason))


class Redactor:
    """The rule plus stable keyed references for ids that must stay unique (keyed with HMAC-SHA256)."""

    def __init__(self, key: bytes | None = None) -> None:
        # Without the key file's redaction key ids only stay stable for this object's life.
        self._key = key if key is not None else secrets.token_bytes(32)

    def __repr__(self) -> str:  # never show key material
        return "Redactor()"

    def ref(self, value: str) -> str:
        """``value`` itself when it holds nothing identifier-shaped, else ``<masked>~<keyed digest>``.

        The digest is written in letters only, so a reference is itself left alone by the rule.
        """
        if _TELEGRAM_ID.fullmatch(value) or is_redacted(value):
            return value
        digest = hmac.digest(self._key, value.encode("utf-8", "surrogatepass"), hashlib.sha256)[:12]
        return f"{redact(value)[:200]}~{digest.hex().translate(_REF_LETTERS)}"

    def post(self, post: CrawledPost) -> CrawledPost:
        """The post as it may be stored: id referenced, URL, title, author and file names masked."""
        attachments = tuple(
            attachment if is_redacted(attachment.name) else replace(attachment, name=redact(attachment.name))
            for attachment in post.attachments
        )
        return replace(
            post,
            external_id=self.ref(post.external_id),
            url=redact_url(post.url),
            title=redact(post.title) if post.title else post.title,
            author=redact(post.author) if post.author else post.author,
            attachments=attachments,
        )


def _needs_deobfuscation(text: str) -> bool:
    """The matcher's own trigger: does any obfuscation class appear in ``text``?"""
    return bool(trigger_segments(text.encode("utf-8", "surrogatepass")))


def _mask(match: re.Match[str], text: str) -> str:
    """``[redacted]`` unless the match is a number to keep or a position or size leakmon wrote itself."""
    found = match.group(0)
    if match.group("keep") is not None:
        return found
    if _SHORT_NUMBER.fullmatch(found) and not _DATE8.fullmatch(found):
        return found
    if _TELEGRAM_CHANNEL.fullmatch(found) and text.endswith("t.me/c/", 0, match.start()):
        return found
    if _PLAIN_NUMBER.fullmatch(found) and (
        _POSITION_BEFORE.search(text[max(0, match.start() - 12) : match.start()])
        or _UNIT_AFTER.match(text, match.end())
    ):
        return found
    return MASK
