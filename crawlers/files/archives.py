"""Archives and compressed streams: members are read in memory or streamed, never extracted.

Member names are attacker-chosen: they only ever become locator text (cleaned by
:func:`crawlers.files.names.safe_name`), never a path. Every member's output is metered.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import shutil
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import IO, cast

import py7zr
import py7zr.exceptions
import pyzipper
import rarfile
import stream_unzip

from crawlers import spool as spools
from crawlers.files import rartool
from crawlers.files.budget import CapExceeded, MeteredReader, PrefixedReader
from crawlers.files.context import Context, Item, Member
from crawlers.files.decode import decode_name
from crawlers.files.limits import BUFFER
from crawlers.files.names import safe_name, strip_suffix
from crawlers.files.sevenzip import extract_members
from crawlers.files.xlsx import xlsx_blocks
from crawlers.model import Finding

_PROBE = 64 * 1024
ZIP_ERRORS = (zipfile.BadZipFile, pyzipper.BadZipFile, zlib.error, EOFError)
RAR_TOOL_HINT = "cannot open rar: install unar or 7zip (rarfile needs an external tool for compressed members)"


def metered(source: IO[bytes], ctx: Context, locator: str, compressed: int | None) -> io.BufferedReader:
    """``source`` charged to the budget, buffered for efficient small reads."""
    return io.BufferedReader(MeteredReader(source, ctx.budget, compressed=compressed, where=locator), BUFFER)


def spool(source: IO[bytes], limits_bytes: int) -> IO[bytes]:
    """Copy a stream into memory (or an anonymous temp file past ``limits_bytes``) for random access."""
    handle = tempfile.SpooledTemporaryFile(max_size=limits_bytes, dir=str(spools.root()))  # noqa: SIM115 - caller closes it
    shutil.copyfileobj(source, handle, BUFFER)
    handle.seek(0)
    return handle


def password_bytes(passwords: Sequence[str]) -> list[bytes]:
    """Each candidate as UTF-8 and as CP949 (Korean archivers), without duplicates, in order."""
    out: dict[bytes, None] = {}
    for password in passwords:
        for encoding in ("utf-8", "cp949"):
            try:
                out.setdefault(password.encode(encoding), None)
            except UnicodeEncodeError:
                continue
    return list(out)


def _child(member: Member, raw_name: str) -> tuple[str, str, Finding | None]:
    """Locator and clean name of a member, plus a ``path_traversal`` finding when the name escapes."""
    name, escapes = safe_name(raw_name)
    locator = f"{member.locator}!{name}"
    finding = None
    if escapes:
        finding = Finding(
            locator,
            "path_traversal",
            f"member name {raw_name[:200]!r} is absolute or climbs out with '..'; read in memory as {name!r}",
        )
    return locator, name, finding


def _encrypted(locator: str, ctx: Context) -> Finding:
    return Finding(
        locator,
        "encrypted_no_password",
        f"encrypted; none of the {len(ctx.passwords)} candidate passwords (post text and given) opens it",
    )


# ---------------------------------------------------------------- zip (stored, deflate, ZipCrypto, AES)


def _zip_name(info: zipfile.ZipInfo) -> str:
    """The member name; names without the UTF-8 flag are re-decoded (CP949 is common in Korea)."""
    if info.flag_bits & 0x800:
        return info.filename
    return decode_name(info.orig_filename.encode("cp437"))


def _open_zip_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, candidates: list[bytes]) -> IO[bytes] | None:
    """The member's stream, trying passwords for an encrypted one; None when none opens it.

    A wrong ZipCrypto password passes the one-byte check 1 time in 256; reading the first 64 KiB
    (inflate fails on garbage) rejects most of those before any text is produced.
    """
    if not info.flag_bits & 0x1:
        return archive.open(info)
    for password in candidates:
        try:
            stream = archive.open(info, pwd=password)
            head = stream.read(_PROBE)
        except (RuntimeError, *ZIP_ERRORS):
            continue
        return io.BufferedReader(PrefixedReader(head, stream), BUFFER)
    return None


def zip_members(member: Member, handle: IO[bytes], ctx: Context) -> Iterator[Item]:
    """Every file in a zip (or an xlsx workbook, recognised by its parts).

    A zip without its central directory (a download cut short) is walked by its local headers instead.
    """
    try:
        archive = pyzipper.AESZipFile(handle)
    except (*ZIP_ERRORS, OSError, ValueError) as exc:
        handle.seek(0)
        if handle.read(4) == LOCAL_HEADER:
            yield from _recovered_zip_members(member, handle, ctx)
        else:
            yield Finding(member.locator, "corrupt", f"not a readable zip ({type(exc).__name__}: {str(exc)[:120]})")
        return
    with archive:
        if "xl/workbook.xml" in archive.NameToInfo:
            if member.depth == 0:
                ctx.top_type = "xlsx"
            handle.seek(0)
            yield from xlsx_blocks(handle, member.locator, ctx)
            return
        candidates = password_bytes(ctx.passwords)
        for info in archive.infolist():
            if info.is_dir():
                continue
            ctx.budget.add_member()
            locator, name, traversal = _child(member, _zip_name(info))
            if traversal:
                yield traversal
            try:
                stream = _open_zip_member(archive, info, candidates)
            except NotImplementedError as exc:
                yield Finding(locator, "unsupported_format", f"zip member: {str(exc)[:120]}")
                continue
            if stream is None:
                yield _encrypted(locator, ctx)
                continue
            with stream:
                source = metered(stream, ctx, locator, info.compress_size)
                yield from ctx.read_member(Member(locator, name, source, member.depth + 1, size=info.file_size))


LOCAL_HEADER = b"PK\x03\x04"
_PASSWORD_ERRORS = (stream_unzip.PasswordError, stream_unzip.MissingPasswordError)


class _ChunkStream(io.RawIOBase):
    """A readable stream over stream-unzip's chunks that ends (rather than raises) where they break.

    The error is kept in ``error``: the member's readable part is read like any member, and the
    archive walk decides what the damage means (the end of a cut-short file, a wrong password).
    """

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""
        self.error: stream_unzip.UnzipError | None = None
        self.finished = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending and not self.finished:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                self.finished = True
            except stream_unzip.UnzipError as exc:
                self.error, self.finished = exc, True
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def drain(self) -> None:
        """Consume the rest (stream-unzip needs each member read to its end before the next)."""
        scratch = memoryview(bytearray(BUFFER))
        while self.readinto(scratch):
            pass


def _file_chunks(handle: IO[bytes]) -> Iterator[bytes]:
    handle.seek(0)
    while chunk := handle.read(BUFFER):
        yield chunk


def _recovered_zip_members(member: Member, handle: IO[bytes], ctx: Context) -> Iterator[Item]:
    """Members of a zip with no central directory, in file order, up to where the file breaks.

    Hand-written only as glue: stream-unzip walks the local headers (and decrypts); each member is
    read like any other. stream-unzip takes one password per walk, so an encrypted archive is walked
    again with the next candidate, skipping the members already read.
    """
    read = 0
    attempts: list[bytes | None] = [None, *password_bytes(ctx.passwords)]
    # Local headers of streamed zips often lack the compressed size: the whole file bounds it,
    # which still exposes a bomb to the ratio cap.
    archive_bytes = handle.seek(0, io.SEEK_END)
    for password in attempts:
        index = 0
        walk = stream_unzip.stream_unzip(_file_chunks(handle), password=password)
        try:
            for raw_name, size, chunks in walk:
                stream = _ChunkStream(chunks)
                if index >= read:
                    ctx.budget.add_member()
                    locator, name, traversal = _child(member, decode_name(raw_name))
                    if traversal:
                        yield traversal
                    source = metered(cast(IO[bytes], stream), ctx, locator, archive_bytes)
                    yield from ctx.read_member(Member(locator, name, source, member.depth + 1, size=size))
                    try:
                        while source.read(BUFFER):  # what the reader left, still charged to the budget
                            pass
                    except CapExceeded:  # the member was capped (and said so): the next ones lie beyond it
                        reason = f"no central directory, and members after the capped {name!r} cannot be reached"
                        yield Finding(member.locator, "corrupt", f"{reason}; {read} member(s) read before it")
                        return
                stream.drain()  # a member read whole in an earlier walk
                if stream.error is not None:
                    raise stream.error
                index += 1
                read = max(read, index)
        except _PASSWORD_ERRORS:
            continue  # walk again with the next candidate
        except (stream_unzip.UncompressError, stream_unzip.IntegrityError):
            if password is not None:
                continue  # a wrong ZipCrypto password can pass its 1-byte check and inflate garbage
            raise
        except stream_unzip.UnzipError as exc:
            how = "ends early" if isinstance(exc, stream_unzip.TruncatedDataError) else f"breaks ({type(exc).__name__})"
            reason = f"zip {how} and has no central directory; read {read} whole member(s) and the rest up to the break"
            yield Finding(member.locator, "corrupt", reason)
            return
        yield Finding(member.locator, "corrupt", f"no central directory; {read} member(s) read by their headers")
        return
    yield _encrypted(member.locator, ctx)


# ---------------------------------------------------------------- 7z (py7zr)


def sevenzip_members(member: Member, handle: IO[bytes], ctx: Context) -> Iterator[Item]:
    """Every file in a 7z archive, trying the candidate passwords when it is encrypted.

    py7zr pushes members into writers, so each member is spooled (bounded by the budget; verified by
    its CRC, which also rejects a wrong password) before it is read.
    """
    size = handle.seek(0, io.SEEK_END)
    handle.seek(0)
    attempts: list[str | None] = [None, *ctx.passwords]
    for password in attempts:
        handle.seek(0)
        try:
            members, cap = extract_members(handle, password, ctx, size, member.locator)
        except py7zr.PasswordRequired:
            continue
        # A wrong password decrypts to noise: mostly an LZMA error, but now and then (about 1 in 170) noise
        # that decodes, caught by the CRC: CrcError too is "not this password", not an unexpected error.
        except (
            py7zr.Bad7zFile,
            py7zr.DecompressionError,
            py7zr.exceptions.CrcError,
            lzma.LZMAError,
            EOFError,
            OSError,
            ValueError,
        ) as exc:
            if password is None and not _needs_password(handle):
                yield Finding(member.locator, "corrupt", f"not a readable 7z ({type(exc).__name__})")
                return
            continue
        if password is None and members is None:
            continue  # encrypted: try the candidates
        yield from _spooled_members(member, members or [], ctx)
        if cap is not None:
            raise cap
        return
    yield _encrypted(member.locator, ctx)


def _needs_password(handle: IO[bytes]) -> bool:
    handle.seek(0)
    try:
        with py7zr.SevenZipFile(handle) as archive:
            return bool(archive.needs_password())
    except py7zr.PasswordRequired:
        return True
    except Exception:
        return False


def _spooled_members(member: Member, members: list[tuple[str, IO[bytes]]], ctx: Context) -> Iterator[Item]:
    try:
        for raw_name, data in members:
            ctx.budget.add_member()
            locator, name, traversal = _child(member, raw_name)
            if traversal:
                yield traversal
            data.seek(0)
            source = io.BufferedReader(
                MeteredReader(data, ctx.budget, compressed=None, where=locator, charge=False), BUFFER
            )
            yield from ctx.read_member(Member(locator, name, source, member.depth + 1, random_access=data))
    finally:
        for _, data in members:
            data.close()


# ---------------------------------------------------------------- rar (rarfile + external tool)


def rar_members(member: Member, handle: IO[bytes], ctx: Context) -> Iterator[Item]:
    """Every file in a rar archive; stored members need no tool, compressed ones need unar/7z/unrar.

    The tool's temp copies stay in a spool folder removed afterwards; a tool still running when the
    file's ``max_seconds`` run out is killed (``cap_time``).
    """
    with rartool.guarded(ctx.budget.seconds_left()) as watch:
        yield from _rar_members(member, handle, ctx, watch)


def _rar_members(member: Member, handle: IO[bytes], ctx: Context, watch: rartool.ToolWatch) -> Iterator[Item]:
    try:
        archive = rarfile.RarFile(handle)
    except rarfile.PasswordRequired:
        yield _encrypted(member.locator, ctx)
        return
    except (rarfile.Error, OSError, EOFError) as exc:
        yield Finding(member.locator, "corrupt", f"not a readable rar ({type(exc).__name__})")
        return
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            ctx.budget.add_member()
            locator, name, traversal = _child(member, info.filename or "unnamed")
            if traversal:
                yield traversal
            try:
                stream = _open_rar_member(archive, info, ctx.passwords)
            except rarfile.RarCannotExec:
                yield Finding(locator, "tool_missing", RAR_TOOL_HINT)
                continue
            except rarfile.NeedFirstVolume:
                yield Finding(locator, "unsupported_format", "part of a multi-volume rar; the first volume is needed")
                continue
            if stream is None:
                yield _encrypted(locator, ctx)
                continue
            watched = rartool.WatchedReader(stream, watch, lambda: ctx.budget.time_cap("the rar tool"))
            with watched:
                source = metered(cast(IO[bytes], watched), ctx, locator, info.compress_size)
                yield from ctx.read_member(Member(locator, name, source, member.depth + 1, size=info.file_size))
            if watch.expired:
                raise ctx.budget.time_cap("the rar tool")


def _open_rar_member(archive: rarfile.RarFile, info: rarfile.RarInfo, passwords: Sequence[str]) -> IO[bytes] | None:
    if not info.needs_password():
        return archive.open(info)  # type: ignore[no-any-return]
    for password in passwords:
        try:
            stream = archive.open(info, pwd=password)
            head = stream.read(_PROBE)
        except (rarfile.RarWrongPassword, rarfile.RarCRCError, rarfile.BadRarFile, rarfile.PasswordRequired):
            continue
        return io.BufferedReader(PrefixedReader(head, stream), BUFFER)
    return None


# ---------------------------------------------------------------- tar and single compressed streams


def tar_members(member: Member, ctx: Context) -> Iterator[Item]:
    """Regular files of a tar, streamed in order (links, devices and directories are skipped)."""
    try:
        archive = tarfile.open(fileobj=member.source, mode="r|")  # noqa: SIM115 - closed below
    except tarfile.TarError as exc:
        yield Finding(member.locator, "corrupt", f"not a readable tar ({type(exc).__name__})")
        return
    with archive:
        for info in archive:
            if not info.isfile():
                continue
            ctx.budget.add_member()
            locator, name, traversal = _child(member, info.name)
            if traversal:
                yield traversal
            stream = archive.extractfile(info)
            if stream is None:
                continue
            with stream:
                # tar stores bytes as they are: the layer below was already charged for them
                yield from ctx.read_member(Member(locator, name, stream, member.depth + 1, size=info.size))


DECOMPRESSORS: dict[str, Callable[[IO[bytes]], IO[bytes]]] = {
    "gzip": lambda raw: cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb")),
    "bzip2": lambda raw: cast(IO[bytes], bz2.BZ2File(raw, mode="rb")),
    "xz": lambda raw: cast(IO[bytes], lzma.LZMAFile(raw, mode="rb")),  # noqa: SIM115
}


def compressed_member(member: Member, kind: str, ctx: Context) -> Iterator[Item]:
    """The one stream inside a gz/bz2/xz file, named after the outer name minus its suffix."""
    name = strip_suffix(member.name)
    locator = f"{member.locator}!{name}"
    with DECOMPRESSORS[kind](member.source) as raw:
        source = metered(raw, ctx, locator, member.size)
        yield from ctx.read_member(Member(locator, name, source, member.depth + 1))
