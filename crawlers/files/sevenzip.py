"""7z extraction into bounded spools (py7zr pushes data into writers; it cannot be pulled)."""

from __future__ import annotations

import tempfile
from typing import IO

import py7zr
from py7zr.io import Py7zIO, WriterFactory

from crawlers import spool
from crawlers.files.budget import CapExceeded
from crawlers.files.context import Context


class _SpoolWriter(Py7zIO):
    """One member's bytes: in memory up to ``spool_memory_bytes``, then an anonymous temp file."""

    def __init__(self, factory: _SpoolFactory) -> None:
        self._factory = factory
        self.file: IO[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115
            max_size=factory.ctx.limits.spool_memory_bytes, dir=str(spool.root())
        )
        self._size = 0

    def write(self, s: bytes | bytearray) -> int:
        self._factory.charge(len(s))
        self._size += len(s)
        return self.file.write(s)

    def read(self, size: int | None = None) -> bytes:
        return self.file.read(-1 if size is None else size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.file.seek(offset, whence)

    def flush(self) -> None:
        self.file.flush()

    def size(self) -> int:
        return self._size


class _SpoolFactory(WriterFactory):
    """Hands py7zr a spool per member and enforces the byte, time and archive-ratio caps."""

    def __init__(self, ctx: Context, archive_size: int, locator: str) -> None:
        self.ctx = ctx
        self.writers: dict[str, _SpoolWriter] = {}
        self._produced = 0
        limits = ctx.limits
        self._ratio_cap = max(limits.ratio_min_bytes, archive_size * limits.max_ratio)
        self._locator = locator

    def create(self, filename: str) -> Py7zIO:
        writer = _SpoolWriter(self)
        self.writers[filename] = writer
        return writer

    def charge(self, nbytes: int) -> None:
        self._produced += nbytes
        if self._produced > self._ratio_cap:
            raise CapExceeded(
                "cap_ratio",
                f"{self._locator} expands beyond max_ratio={self.ctx.limits.max_ratio:g} "
                f"(over {int(self._ratio_cap)} bytes); rest of it skipped",
            )
        self.ctx.budget.charge(nbytes)

    def close_all(self) -> None:
        for writer in self.writers.values():
            writer.file.close()


def extract_members(
    handle: IO[bytes], password: str | None, ctx: Context, archive_size: int, locator: str
) -> tuple[list[tuple[str, IO[bytes]]] | None, CapExceeded | None]:
    """``([(name, spool)], cap)`` of the archive's files, or ``(None, None)`` when it needs a password.

    A cap that trips mid-way returns the members written so far (the last one cut short), with the
    cap to raise after they are read. Decoding errors propagate (a wrong password shows up as one).
    """
    expanded_before = ctx.budget.expanded
    factory = _SpoolFactory(ctx, archive_size, locator)
    cap: CapExceeded | None = None
    with py7zr.SevenZipFile(handle, password=password, max_extract_size=ctx.budget.remaining or 1) as archive:
        if password is None and archive.needs_password():
            return None, None
        files = [info.filename for info in archive.list() if not info.is_directory]
        try:
            archive.extract(factory=factory)
        except CapExceeded as exc:
            cap = exc
        except py7zr.DecompressionBombError as exc:
            cap = CapExceeded("cap_bytes", f"7z output over the remaining max_total_bytes ({exc})")
        except BaseException:
            factory.close_all()
            ctx.budget.expanded = expanded_before  # a failed attempt (wrong password) is not charged
            raise
    # after a cap the last member is cut short: its prefix is still read, the cap finding says so
    return [(name, factory.writers[name].file) for name in files if name in factory.writers], cap
