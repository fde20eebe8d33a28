"""Mask identifier-shaped runs (e-mails, long digit runs) in names we store or print.

Post titles, archive member names, chat titles and sender file names are chosen by sellers, who
sometimes put a sample value in them ("DB 010-1234-5678", "kim_01012345678.xlsx"). Every venue and
the ingest sink mask them with this one rule before they are stored or printed.
"""

from __future__ import annotations

import re

_IDENTIFIER_SHAPED = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\d[\d\s().\-]{5,}\d")


def redact(text: str) -> str:
    """``text`` with e-mail addresses and digit runs of 7+ characters replaced by ``[redacted]``."""
    return _IDENTIFIER_SHAPED.sub("[redacted]", text)
