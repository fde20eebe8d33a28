"""Builders for the synthetic files the reader tests use (generated in tmp_path, never committed).

The zip and rar writers here are minimal and hand-written on purpose: no library writes ZipCrypto
members, zip names in CP949 without the UTF-8 flag, or rar archives.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterable

from crawlers.model import Finding, TextBlock


def _crc_byte(crc: int, byte: int) -> int:
    return zlib.crc32(bytes([byte]), crc ^ 0xFFFFFFFF) ^ 0xFFFFFFFF


class _ZipCrypto:
    """The traditional PKWARE stream cipher (encrypt side)."""

    def __init__(self, password: bytes) -> None:
        self.keys = [0x12345678, 0x23456789, 0x34567890]
        for byte in password:
            self._update(byte)

    def _update(self, byte: int) -> None:
        k0, k1, k2 = self.keys
        k0 = _crc_byte(k0, byte)
        k1 = ((k1 + (k0 & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
        k2 = _crc_byte(k2, k1 >> 24)
        self.keys = [k0, k1, k2]

    def encrypt(self, data: bytes) -> bytes:
        out = bytearray()
        for byte in data:
            temp = (self.keys[2] | 2) & 0xFFFF
            out.append(byte ^ (((temp * (temp ^ 1)) >> 8) & 0xFF))
            self._update(byte)
        return bytes(out)


def raw_zip(members: Iterable[tuple[bytes, bytes]], *, utf8: bool = False, password: bytes | None = None) -> bytes:
    """A deflate zip with raw name bytes (no UTF-8 flag unless ``utf8``), ZipCrypto when ``password``."""
    out = bytearray()
    central = bytearray()
    count = 0
    for name, data in members:
        count += 1
        crc = zlib.crc32(data)
        packer = zlib.compressobj(9, zlib.DEFLATED, -15)
        body = packer.compress(data) + packer.flush()
        flags = (0x800 if utf8 else 0) | (1 if password else 0)
        if password:
            body = _ZipCrypto(password).encrypt(b"\x11" * 11 + bytes([crc >> 24]) + body)
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, 8, 0, 0, crc, len(body), len(data), len(name), 0)
        out += name + body
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, flags, 8, 0, 0, crc, len(body), len(data), len(name),
            0, 0, 0, 0, 0, offset,
        )  # fmt: skip
        central += name
    start = len(out)
    out += central
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(central), start, 0)
    return bytes(out)


def _rar_block(kind: int, flags: int, body: bytes) -> bytes:
    header = struct.pack("<BHH", kind, flags, 7 + len(body)) + body
    return struct.pack("<H", zlib.crc32(header) & 0xFFFF) + header


def raw_rar(name: bytes, data: bytes, *, stored: bool = True) -> bytes:
    """A RAR 4 archive of one file: stored (readable without a tool) or marked compressed."""
    method = 0x30 if stored else 0x33
    payload = data if stored else b"\x00" * 16
    file_body = struct.pack("<IIBIIBBHI", len(payload), len(data), 3, zlib.crc32(data), 0x5A000000, 29, method,
                            len(name), 0o100644) + name  # fmt: skip
    return (
        b"Rar!\x1a\x07\x00"
        + _rar_block(0x73, 0, b"\x00" * 6)
        + _rar_block(0x74, 0x8000, file_body)
        + payload
        + _rar_block(0x7B, 0x4000, b"")
    )


def gzip_bytes(data: bytes) -> bytes:
    import gzip

    return gzip.compress(data, mtime=0)


def blocks(items: Iterable[TextBlock | Finding]) -> list[TextBlock]:
    return [item for item in items if isinstance(item, TextBlock)]


def kinds(items: Iterable[TextBlock | Finding]) -> list[str]:
    return [item.kind for item in items if isinstance(item, Finding)]


def lines_at(items: Iterable[TextBlock | Finding]) -> dict[str, str]:
    """``{"locator:unit n": line}`` for every non-empty line, the way the matcher reports it."""
    out = {}
    for block in blocks(items):
        for offset, line in enumerate(block.text.split("\n")):
            if line:
                out[block.locate(offset)] = line
    return out


def aes_zip_of(entries: dict[str, bytes], password: str) -> bytes:
    import pyzipper

    buffer = io.BytesIO()
    with pyzipper.AESZipFile(buffer, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES) as archive:
        archive.setpassword(password.encode())
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def zip_of(entries: dict[str, bytes], *, compression: int | None = None) -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression if compression is not None else zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()
