"""Archive passwords announced in a post's text ("비번: 1234", "pw: x", "password - y").

Leak sellers put the archive password in the message; the ingest sink hands these to the
leaked-files reader. Hand-written: no library extracts passwords from free text.
"""

from __future__ import annotations

import re

_PASSWORD = re.compile(
    r"(?:비밀\s*번호|비번|암호|압축\s*(?:해제\s*)?(?:비번|암호)|password|passwd|pass|pwd|pw|unzip\s*pass)"
    r"\s*(?:는|은|:|=|-|：)?\s*[:=\-：]?\s*"
    r"[\"'`「『\[(]?([^\s\"'`」』\])]{1,64})",
    re.IGNORECASE,
)


def find_passwords(text: str, limit: int = 10) -> tuple[str, ...]:
    """Candidate passwords in order of appearance, without duplicates."""
    found: list[str] = []
    for match in _PASSWORD.finditer(text):
        candidate = match.group(1).rstrip(".,;")
        if candidate and candidate not in found:
            found.append(candidate)
        if len(found) >= limit:
            break
    return tuple(found)
