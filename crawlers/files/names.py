"""Member names from archives: attacker-chosen strings, turned into safe locator parts."""

from __future__ import annotations

import re

_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def safe_name(raw: str) -> tuple[str, bool]:
    """A relative, printable form of ``raw`` and whether ``raw`` tried to leave the archive root.

    ``../../etc/x.csv`` gives ``("etc/x.csv", True)``; ``/abs/x`` gives ``("abs/x", True)``. The name is
    only ever used in locators and for the extension; nothing is written under it.
    """
    name = _CONTROL.sub("?", raw.replace("\\", "/"))
    escapes = name.startswith("/") or bool(_DRIVE.match(name))
    name = _DRIVE.sub("", name)
    parts = []
    for part in name.split("/"):
        if part == "..":
            escapes = True
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts) or "unnamed", escapes


def suffixes(name: str) -> list[str]:
    """Lower-case extensions of the last path part, outermost last (``a.CSV.gz`` -> [".csv", ".gz"])."""
    base = name.rsplit("/", 1)[-1].lower()
    return ["." + part for part in base.split(".")[1:]]


_COMPRESSED = {".gz": "", ".gzip": "", ".bz2": "", ".xz": "", ".lzma": "", ".tgz": ".tar", ".tbz": ".tar",
               ".tbz2": ".tar", ".txz": ".tar"}  # fmt: skip


def strip_suffix(name: str) -> str:
    """The name a compressed stream had before compression (``users.csv.gz`` -> ``users.csv``).

    A name without a compression suffix is kept (gzip data named ``users.csv`` holds ``users.csv``).
    """
    base = name.rsplit("/", 1)[-1]
    stem, dot, ext = base.rpartition(".")
    replacement = _COMPRESSED.get("." + ext.lower()) if dot and stem else None
    return base if replacement is None else stem + replacement
