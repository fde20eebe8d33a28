"""What a byte stream is, from its first bytes (magic numbers first, the name's extension second)."""

from __future__ import annotations

import codecs

from crawlers.files.names import suffixes

HEAD_BYTES = 8192

# Containers and compressed streams, by magic number.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),  # empty zip
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"Rar!\x1a\x07", "rar"),
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
)
# Formats we recognise but do not read: reported as ``unsupported_format`` with this name.
_UNSUPPORTED: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "pdf"),
    (b"\x89PNG", "png image"),
    (b"\xff\xd8\xff", "jpeg image"),
    (b"GIF8", "gif image"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole2 (xls/doc)"),
    (b"SQLite format 3\x00", "sqlite database"),
    (b"\x7fELF", "elf executable"),
    (b"MZ", "windows executable"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)
_TEXT_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_CONTROL = bytes(i for i in range(32) if i not in (9, 10, 12, 13, 27))
# Share of control bytes (NUL included) above which content is binary: random or compressed bytes
# have ~10 %, text ~0 %; a dump with a few stray NULs stays text.
BINARY_CONTROL_SHARE = 0.03
TEXT_FORMATS = {
    ".csv": "csv", ".tsv": "csv", ".psv": "csv", ".tab": "csv",
    ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".sql": "sql", ".html": "html", ".htm": "html", ".xhtml": "html",
}  # fmt: skip


def sniff(head: bytes) -> tuple[str, str | None]:
    """``(kind, detail)`` for a stream starting with ``head``.

    ``kind`` is an archive/compression name from the magic table, ``tar``, ``text`` (detail: a forced
    encoding such as ``utf-16-le`` for BOM-less UTF-16, or None), ``control_text`` (text with many
    control bytes; detail: their share), ``unsupported`` (detail: what it is) or ``binary``.
    """
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind, None
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar", None
    if head.startswith(_TEXT_BOMS):
        return "text", None
    for magic, what in _UNSUPPORTED:
        if head.startswith(magic):
            return "unsupported", what
    if b"\x00" in head:
        utf16 = _utf16_without_bom(head)
        if utf16 is not None:
            return "text", utf16
    sample = head[:4096]
    controls = len(sample) - len(sample.translate(None, _CONTROL))
    if controls > BINARY_CONTROL_SHARE * len(sample):
        share = f"{controls / len(sample):.0%}"
        return ("control_text", share) if _text_without_controls(sample) else ("binary", share)
    return "text", None


def _text_without_controls(sample: bytes) -> bool:
    """True when ``sample`` minus its control bytes is most of it and UTF-8 or CP949 (a cut end allowed).

    Random or compressed bytes break both within a few hundred bytes; text delimited by control
    bytes (Hive's ``\\x01``, terminal escapes, stray NULs) does not.
    """
    rest = sample.translate(None, _CONTROL)
    if len(rest) < len(sample) // 2:
        return False  # mostly control bytes (zero-filled, padding): nothing worth reading as text
    for encoding in ("utf-8", "cp949"):
        try:
            codecs.getincrementaldecoder(encoding)("strict").decode(rest, final=False)
        except UnicodeDecodeError:
            continue
        return True
    return False


def _utf16_without_bom(head: bytes) -> str | None:
    """``utf-16-le``/``-be`` when NUL fills every other byte (mostly-ASCII UTF-16 without a BOM)."""
    sample = head[: len(head) // 2 * 2]
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    if half and odd > 0.4 * half and even < 0.05 * half:
        return "utf-16-le"
    if half and even > 0.4 * half and odd < 0.05 * half:
        return "utf-16-be"
    return None


def text_format(name: str, head: bytes) -> str:
    """Which text reader fits: ``csv``, ``json``, ``jsonl``, ``sql``, ``html`` or ``text``."""
    for ext in reversed(suffixes(name)):
        if ext in TEXT_FORMATS:
            return TEXT_FORMATS[ext]
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:512].lower()
    if start.startswith((b"<!doctype html", b"<html")):
        return "html"
    if start.startswith(b"{") and b"}\n{" in head.replace(b"\r\n", b"\n"):
        return "jsonl"
    if start.startswith((b"{", b"[")):
        return "json"
    if b"insert into" in head.lower() or start.startswith((b"-- mysql dump", b"-- postgresql database dump")):
        return "sql"
    return "text"
