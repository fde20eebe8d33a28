"""Route one stream to the reader its content calls for, and turn failures into findings."""

from __future__ import annotations

import functools
import io
import lzma
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from itertools import chain

from crawlers.files.budget import CapExceeded, PrefixedReader, read_exactly
from crawlers.files.context import Context, Item, Member
from crawlers.files.jsondoc import json_document, json_lines
from crawlers.files.limits import BUFFER
from crawlers.files.lines import Batch
from crawlers.files.names import suffixes
from crawlers.files.sniff import HEAD_BYTES, TEXT_FORMATS, sniff, text_format
from crawlers.files.sqldump import SqlDumpReader
from crawlers.files.tabular import DelimitedReader, sniff_delimiter
from crawlers.files.text import decoded_batches, is_combolist, text_blocks
from crawlers.model import Finding

_RANDOM_ACCESS = ("zip", "7z", "rar")
_STREAMED = ("gzip", "bzip2", "xz", "tar")


@functools.cache
def corrupt_errors() -> tuple[type[BaseException], ...]:
    """Errors that mean "this input is broken", reported as ``corrupt`` for the member and read on.

    The archive libraries (py7zr, pyzipper, rarfile: about 0.3 s to import) load when an archive
    or an error needs them, never for a plain text file.
    """
    import py7zr
    import pyzipper
    import rarfile

    return (
        zipfile.BadZipFile,
        pyzipper.BadZipFile,
        zlib.error,
        lzma.LZMAError,
        EOFError,
        OSError,  # gzip.BadGzipFile, truncated streams
        tarfile.TarError,
        py7zr.Bad7zFile,
        py7zr.DecompressionError,
        rarfile.Error,
    )


def read_member(member: Member, ctx: Context) -> Iterator[Item]:
    """Every block and finding of ``member``; a broken or capped member ends as a finding.

    A cap that ends the whole file (bytes, time, members) is recorded where it tripped and then
    re-raised up to the top-level file, which stops there.
    """
    try:
        yield from _dispatch(member, ctx)
    except CapExceeded as cap:
        if not cap.recorded:
            cap.recorded = True
            yield Finding(member.locator, cap.kind, cap.reason)
        if cap.fatal and member.depth > 0:
            raise
    except corrupt_errors() as exc:  # evaluated only when an exception gets here
        yield Finding(member.locator, "corrupt", f"{type(exc).__name__}: {str(exc)[:160]}")
    except Exception as exc:
        yield Finding(member.locator, "error", f"unexpected {type(exc).__name__} while reading; member skipped")


def _dispatch(member: Member, ctx: Context) -> Iterator[Item]:
    head = _head(member)
    kind, detail = sniff(head)
    if kind in _RANDOM_ACCESS or kind in _STREAMED:
        from crawlers.files import archives

        _note_type(member, ctx, kind)
        if member.depth >= ctx.limits.max_depth:
            yield Finding(
                member.locator,
                "cap_depth",
                f"{kind} archive at nesting depth {member.depth} not opened (max_depth={ctx.limits.max_depth})",
            )
            return
        if kind in _STREAMED:
            if kind == "tar":
                yield from archives.tar_members(member, ctx)
            else:
                yield from archives.compressed_member(member, kind, ctx)
            return
        handle = member.random_access
        if handle is None:
            handle = archives.spool(member.source, ctx.limits.spool_memory_bytes)
        members = {"zip": archives.zip_members, "7z": archives.sevenzip_members, "rar": archives.rar_members}[kind]
        try:
            yield from members(member, handle, ctx)
        finally:
            if handle is not member.random_access:
                handle.close()
        return
    if kind == "unsupported":
        _note_type(member, ctx, "unsupported")
        yield Finding(member.locator, "unsupported_format", f"{detail} content is not read")
        return
    if kind == "binary":
        _note_type(member, ctx, "binary")
        text_named = any(ext in TEXT_FORMATS or ext == ".txt" for ext in suffixes(member.name))
        named = "under a text file name " if text_named else ""
        reason = f"binary content ({detail} control bytes in the first 4 KB, not UTF-8 or CP949) {named}skipped"
        yield Finding(member.locator, "skipped_binary", reason)
        return
    if kind == "control_text":
        yield Finding(member.locator, "control_bytes", f"{detail} control bytes in the first 4 KB; read as text")
        detail = None
    yield from _text(member, ctx, text_format(member.name, head), detail)


def _head(member: Member) -> bytes:
    """The first bytes, leaving the member readable from its start."""
    handle = member.random_access
    if handle is not None:
        handle.seek(0)
        head = read_exactly(handle, HEAD_BYTES)
        handle.seek(0)
        return head
    head = read_exactly(member.source, HEAD_BYTES)
    member.source = io.BufferedReader(PrefixedReader(head, member.source), BUFFER)
    return head


def _note_type(member: Member, ctx: Context, kind: str) -> None:
    if member.depth == 0 and ctx.top_type is None:
        ctx.top_type = kind


def _text(member: Member, ctx: Context, fmt: str, encoding: str | None) -> Iterator[Item]:
    if fmt == "json":
        _note_type(member, ctx, fmt)
        rest = yield from json_document(member, ctx)
        if rest is None:
            return
        member.source = io.BufferedReader(PrefixedReader(rest, member.source), BUFFER)
        fmt = "text"
    if fmt == "html":
        data = read_exactly(member.source, ctx.limits.max_document_bytes + 1)
        if len(data) <= ctx.limits.max_document_bytes:
            ctx.budget.check_time()
            from crawlers.files.htmldoc import html_blocks  # lxml and parsel: loaded for HTML only

            _note_type(member, ctx, fmt)
            yield from html_blocks(member, ctx, data)
            return
        yield Finding(
            member.locator,
            "format_fallback",
            f"{fmt} document over max_document_bytes={ctx.limits.max_document_bytes}; read as plain text lines",
        )
        member.source = io.BufferedReader(PrefixedReader(data, member.source), BUFFER)
        fmt = "text"
    batches = decoded_batches(member, ctx, encoding)
    if fmt == "jsonl":
        _note_type(member, ctx, fmt)
        yield from json_lines(member, batches)
        return
    if fmt == "sql":
        _note_type(member, ctx, fmt)
        yield from SqlDumpReader(member, ctx).read(batches)
        return
    leading, sample, batches = _peek(batches)
    yield from leading
    delimiter = sniff_delimiter(sample)
    if is_combolist(sample):
        _note_type(member, ctx, "combolist")
        yield from text_blocks(member, batches, combolist=True)
    elif delimiter is not None:
        _note_type(member, ctx, "csv")
        yield from DelimitedReader(member, delimiter).read(batches)
    else:
        _note_type(member, ctx, "text")
        yield from text_blocks(member, batches)


def _peek(batches: Iterator[Batch | Finding]) -> tuple[list[Finding], list[str], Iterator[Batch | Finding]]:
    """Findings before the first batch, the first batch's lines, and all batches from the first on."""
    leading: list[Finding] = []
    for item in batches:
        if isinstance(item, Finding):
            leading.append(item)
            continue
        return leading, item.lines, chain([item], batches)
    return leading, [], iter(())
