"""Text encoding detection per file: BOM, strict UTF-8, strict CP949, then charset-normalizer.

Never decode with ``euc-kr``: CP949-only syllables (똠, 샾, 쌰) break it; CP949 is its superset.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from typing import IO

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _decodes(data: bytes, encoding: str) -> bool:
    """True when ``data`` is valid ``encoding`` (a sequence cut at the end is allowed)."""
    try:
        codecs.getincrementaldecoder(encoding)("strict").decode(data, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _errors(data: bytes, encoding: str) -> int:
    """How many replacement characters decoding ``data`` as ``encoding`` needs."""
    text = codecs.getincrementaldecoder(encoding)("replace").decode(data, final=False)
    return text.count("\ufffd")


def stray_utf16_bom(sample: bytes) -> bool:
    """True when ``sample`` starts with a UTF-16 byte-order mark that the rest contradicts.

    UTF-16 text with any ASCII in it (a space, a comma, a line end) has NUL bytes; bytes after the
    mark with no NUL that are valid UTF-8 or CP949 are a text file with two stray bytes in front.
    """
    if not sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or sample.startswith(codecs.BOM_UTF32_LE):
        return False
    payload = sample[2:]
    return bool(payload) and b"\x00" not in payload and any(_decodes(payload, name) for name in ("utf-8", "cp949"))


def detect_encoding(sample: bytes) -> tuple[str, bool]:
    """The encoding of ``sample`` and whether it was a guess (charset-normalizer, not a strict decode).

    ``sample`` should contain the file's first non-ASCII bytes; pure ASCII answers utf-8.
    """
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return name, False
    if _decodes(sample, "utf-8"):
        return "utf-8", False
    if _decodes(sample, "cp949"):
        return "cp949", False
    # Mostly valid UTF-8 or CP949 with a few broken bytes: keep it (the decoder replaces the bytes and
    # reports it) rather than let a detector pick a single-byte codepage and garble all the Hangul.
    errors = {name: _errors(sample, name) for name in ("utf-8", "cp949")}
    nearest = min(errors, key=errors.__getitem__)
    if errors[nearest] <= max(4, len(sample) // 200):
        return nearest, False
    from charset_normalizer import from_bytes  # a guess is rare: its import (~0.1 s) waits for one

    best = from_bytes(sample).best()
    encoding = best.encoding if best is not None else "utf-8"
    return codecs.lookup(encoding).name, True


def decode_name(raw: bytes) -> str:
    """An archive member name stored without the UTF-8 flag: UTF-8, else CP949, else cp437 (the spec)."""
    for encoding in ("utf-8", "cp949"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("cp437")


class TextDecoder:
    """Decodes a byte stream chunk by chunk, choosing the encoding at the first non-ASCII bytes.

    After the first undecodable byte it switches to replacement characters and sets ``replaced``,
    so the rest of the file is still read (the caller records a ``decode_fallback`` finding). A UTF-16
    byte-order mark the content contradicts is dropped and ``stray_bom`` set (finding ``decode_bom``).
    """

    def __init__(self, encoding: str | None = None) -> None:
        self.encoding = encoding
        self.guessed = False
        self.replaced = False
        self.stray_bom = False
        self._decoder: codecs.IncrementalDecoder | None = None
        if encoding is not None:
            self._decoder = codecs.getincrementaldecoder(encoding)("strict")

    def decode(self, data: bytes, final: bool = False) -> str:
        """Decode the next chunk (``final`` on the last one)."""
        if self._decoder is None:
            if data.isascii():
                return data.decode("ascii")
            if stray_utf16_bom(data):
                self.stray_bom, data = True, data[2:]
            self.encoding, self.guessed = detect_encoding(data)
            self._decoder = codecs.getincrementaldecoder(self.encoding)("strict")
        try:
            return self._decoder.decode(data, final)
        except UnicodeDecodeError:
            self.replaced = True
            self._decoder.errors = "replace"
            return self._decoder.decode(data, final)


def iter_text(stream: IO[bytes], decoder: TextDecoder, chunk_bytes: int) -> Iterator[str]:
    """Decoded chunks of ``stream`` (roughly ``chunk_bytes`` each), ending with the decoder's flush."""
    while True:
        data = stream.read(chunk_bytes)
        if not data:
            break
        text = decoder.decode(data)
        if text:
            yield text
    tail = decoder.decode(b"", final=True)
    if tail:
        yield tail
