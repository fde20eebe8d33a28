"""Archive password candidates from the post that carried the file ("비번: 1234", "pw: infected")."""

from __future__ import annotations

import re

# A label, an optional separator, then the password up to whitespace. Labels seen on Korean leak
# posts and channels; the password itself is never guessed or brute-forced.
_LABEL = r"비밀번호|비번|암호|패스워드|압축\s*비번|압축\s*암호|password|passwd|pass|pwd|pw|key"
_CANDIDATE = re.compile(
    rf"(?:^|(?<=[\s\[(【<\"'|/,]))(?:{_LABEL})(?:\s*(?:는|은|=|:|：|-|→|=>|is)\s*|\s+)"
    r"(?:\"([^\"\n]{1,128})\"|'([^'\n]{1,128})'|`([^`\n]{1,128})`|[「『\[(<]?([^\s\"'`」』\])>]{1,128}))",
    re.IGNORECASE | re.MULTILINE,
)
_TRAILING = ".,;!?。、"


def passwords_from_text(text: str) -> list[str]:
    """Password candidates named in ``text``, in order of appearance, without duplicates.

    ``"압축 비번: 1234"`` -> ``["1234"]``; ``"pw: infected / password x"`` -> ``["infected", "x"]``.
    A candidate ending in punctuation is also tried without it (``"비번 1234."``).
    """
    found: dict[str, None] = {}
    for match in _CANDIDATE.finditer(text):
        value = next(group for group in match.groups() if group is not None)
        found.setdefault(value, None)
        stripped = value.rstrip(_TRAILING)
        if stripped and stripped != value:
            found.setdefault(stripped, None)
    return list(found)
