"""Plain text and combolists: decoded lines, newline-aligned blocks; combolist passwords dropped."""

from __future__ import annotations

import re
from collections.abc import Iterator

from crawlers.files.context import Context, Item, Member
from crawlers.files.decode import TextDecoder, iter_text
from crawlers.files.lines import Batch, split_lines
from crawlers.model import Finding, TextBlock

# ``email:password`` (also ``;`` and ``|`` after an e-mail); only ``:`` is trusted for detection
# because ``email;name`` and ``email|name`` are ordinary tables.
_COMBO_LINE = re.compile(r"\s*[^\s:;|@]+@[^\s:;|@]+\.[A-Za-z]{2,}\s*:\S")
_EMAIL_FIELD = re.compile(r"\s*([^\s:;|@]+@[^\s:;|@]+\.[A-Za-z]{2,})\s*[:;|]")
_URL_LINE = re.compile(r"\s*[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_URL_COMBO = re.compile(r"\s*[a-z][a-z0-9+.-]*://\S+:[^\s:]+:\S", re.IGNORECASE)  # url:login:password
COMBO_SHARE = 0.6


def decoded_batches(member: Member, ctx: Context, encoding: str | None = None) -> Iterator[Batch | Finding]:
    """Line batches of ``member`` decoded per file, then any decoding finding."""
    decoder = TextDecoder(encoding)
    chunks = iter_text(member.source, decoder, ctx.limits.block_bytes)
    yield from split_lines(chunks, member.locator, ctx.limits.max_line_bytes)
    if decoder.replaced:
        yield Finding(
            member.locator,
            "decode_fallback",
            f"bytes invalid in {decoder.encoding} were replaced by U+FFFD; values next to them may be missed",
        )
    if decoder.stray_bom:
        yield Finding(
            member.locator,
            "decode_bom",
            f"starts with a UTF-16 byte-order mark but is not UTF-16: the mark was dropped, the rest read as "
            f"{decoder.encoding}",
        )
    if decoder.guessed:
        yield Finding(member.locator, "decode_guess", f"encoding guessed as {decoder.encoding}")


def is_combolist(lines: list[str]) -> bool:
    """True when most non-empty sample lines are ``email:secret`` (or ``url:login:secret``)."""
    sample = [line for line in lines[:500] if line.strip()]
    hits = sum(1 for line in sample if _COMBO_LINE.match(line) or _URL_COMBO.match(line))
    return bool(sample) and hits >= COMBO_SHARE * len(sample)


def strip_secret(line: str) -> str:
    """The login part of a combolist line; the password never leaves this function.

    ``email<sep>pw`` -> email; ``url:login:pw`` -> ``url:login``; ``login:pw`` -> login.
    """
    match = _EMAIL_FIELD.match(line)
    if match:
        return match.group(1)
    if _URL_LINE.match(line):
        return line.rpartition(":")[0]
    return line.partition(":")[0]


def text_blocks(member: Member, batches: Iterator[Batch | Finding], *, combolist: bool = False) -> Iterator[Item]:
    """One TextBlock per batch (unit ``line``); in combolist mode every line keeps its login only."""
    for batch in batches:
        if isinstance(batch, Finding):
            yield batch
            continue
        lines = [strip_secret(line) for line in batch.lines] if combolist else batch.lines
        yield TextBlock(member.locator, "\n".join(lines), batch.first_line)
