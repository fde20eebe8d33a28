"""The audit chain's anchor: its head (entry count and hash) kept outside the database.

A chain alone cannot show that its tail, or all of it, was deleted. After every committed append
the anchor file ``audit-anchor.json`` in the key file's folder (mode 0600) records the newest
(count, head hash); ``audit verify`` checks the database still holds that entry unchanged, and
``audit verify --head`` prints it for an operator to record somewhere else too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from leakmon.keyring import locked, write_private

ANCHOR_FILE = "audit-anchor.json"


@dataclass(frozen=True, slots=True)
class Anchor:
    count: int
    head: str


def anchor_path(key_file: Path) -> Path:
    return key_file.parent / ANCHOR_FILE


def read_anchor(path: Path) -> Anchor | None:
    """The recorded head, or None when there is no anchor file (a file that does not parse is an error)."""
    try:
        payload = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return Anchor(-1, "unreadable")
    count, head = payload.get("count"), payload.get("head")
    if not isinstance(count, int) or not isinstance(head, str):
        return Anchor(-1, "unreadable")
    return Anchor(count, head)


def advance_anchor(path: Path, anchor: Anchor, *, replace_unreadable: bool = False) -> None:
    """Record ``anchor`` unless the file already holds a newer one (appends commit in any order).

    An anchor file that cannot be read is evidence: it is left for ``audit verify`` to report, and
    only replaced by ``audit anchor`` (``replace_unreadable``).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with locked(path):
        current = read_anchor(path)
        if current is not None and (current.count >= anchor.count or (current.count < 0 and not replace_unreadable)):
            return
        write_private(
            path, json.dumps({"count": anchor.count, "head": anchor.head, "at": datetime.now(UTC).isoformat()})
        )
