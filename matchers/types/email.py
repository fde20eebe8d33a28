"""E-mail addresses. Canonical: case-folded, domain aliases folded (``[identifiers.email] aliases``; by
default ``hanmail.net`` -> ``daum.net``, one Daum mailbox family). The aliases are part of the canonical
form: changing them changes the digests of the addresses they name (re-run ``protect import``).

Partial forms ``p{k}d`` (k = 1..3 visible leading characters + domain) match masks such as
``k***@naver.com`` or ``ki**@daum.net``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import ClassVar, cast

from matchers.errors import InvalidIdentifier
from matchers.model import EMAIL
from matchers.types.base import MASK_CLASS, Recognizer

_LOCAL = "A-Za-z0-9._%+\\-"
FAST = (
    rb"(?:^|[^" + _LOCAL.encode() + rb"])[" + _LOCAL.encode() + rb"]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*"
    rb"\.[A-Za-z]{2,24}"
)
SCAN = re.compile(r"(?<![" + _LOCAL + r"])[" + _LOCAL + r"]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,24}")
MASKED = re.compile(
    r"(?<![" + _LOCAL + r"])([" + _LOCAL + r"]{1,3})" + MASK_CLASS + r"{2,}@([A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*"
    r"\.[A-Za-z]{2,24})"
)
_SHAPE = re.compile(r"[" + _LOCAL + r"]{1,64}@[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.[a-z]{2,24}")
_LOCAL_BYTES = frozenset(
    _LOCAL.replace("\\", "")
    .replace("A-Z", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    .replace("a-z", "abcdefghijklmnopqrstuvwxyz")
    .replace("0-9", "0123456789")
    .encode()
)
#: Bytes that cannot be part of an address: deleting them strips each fast match's boundary byte.
_NOT_EMAIL_BYTES = bytes(b for b in range(1, 256) if b not in _LOCAL_BYTES and b != ord("@"))
#: The default ``[identifiers.email] aliases``: alias domain -> the domain it is folded into.
DOMAIN_ALIASES = {"hanmail.net": "daum.net"}
_DOMAIN = re.compile(r"[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.[a-z]{2,24}")


def check_aliases(aliases: Mapping[str, str]) -> dict[str, str]:
    """Validated, case-folded aliases; ValueError names the first bad entry (a domain, never personal data)."""
    out = {k.strip().casefold(): v.strip().casefold() for k, v in aliases.items()}
    for alias, target in out.items():
        if not _DOMAIN.fullmatch(alias) or not _DOMAIN.fullmatch(target):
            raise ValueError(f"e-mail alias {alias!r} = {target!r}: both must be domain names")
        if alias == target or target in out:
            raise ValueError(f"e-mail alias {alias!r} = {target!r}: the target must not itself be an alias")
    return out


class EmailRecognizer(Recognizer):
    id_type: ClassVar[str] = EMAIL
    domain: ClassVar[str] = EMAIL
    base_confidence: ClassVar[float] = 0.9
    context_words: ClassVar[tuple[str, ...]] = ("이메일", "메일", "email", "e-mail", "mail", "아이디", "id")
    fast_pattern: ClassVar[bytes | None] = FAST
    scan_pattern: ClassVar[re.Pattern[str] | None] = SCAN
    masked_pattern: ClassVar[re.Pattern[str] | None] = MASKED
    partial_forms: ClassVar[tuple[str, ...]] = ("p1d", "p2d", "p3d")

    def __init__(self, aliases: Mapping[str, str] | None = None) -> None:
        self.aliases = check_aliases(DOMAIN_ALIASES if aliases is None else aliases)
        self._folds = [(f"@{a}\x00".encode(), f"@{t}\x00".encode()) for a, t in self.aliases.items()]
        self._by_target: dict[str, list[str]] = {}
        for alias, target in self.aliases.items():
            self._by_target.setdefault(target, []).append(alias)

    def fold_domain(self, domain: str) -> str:
        return self.aliases.get(domain, domain)

    def fast_canonicals(self, raws: list[bytes]) -> list[bytes | None]:
        # The leading boundary byte (the pattern's stand-in for a look-behind) is the only byte of
        # a match that is neither a local-part character nor "@", so one translate over the
        # NUL-joined batch drops them all; then lower-case and fold hanmail.net, also batch-wise.
        joined = b"\x00".join(raws)
        if joined.count(b"\x00") != len(raws) - 1:  # a NUL boundary byte: one at a time
            return [self._one(raw) for raw in raws]
        joined = joined.translate(None, _NOT_EMAIL_BYTES).lower() + b"\x00"
        for alias, target in self._folds:
            if alias in joined:
                joined = joined.replace(alias, target)
        items: list[bytes | None] = list(joined.split(b"\x00"))
        items.pop()
        if b"\x00@" in joined or joined[:1] == b"@":  # an "@" was the boundary byte (a@b.io@kim@...)
            return [item[1:] if item and item[:1] == b"@" else item for item in items]
        return items

    def valid_canonicals(self, raws: list[bytes]) -> tuple[list[bytes], Sequence[int]]:
        return cast(list[bytes], self.fast_canonicals(raws)), range(len(raws))  # never None

    def _one(self, raw: bytes) -> bytes:
        value = raw.translate(None, _NOT_EMAIL_BYTES + b"\x00").lower().removeprefix(b"@") + b"\x00"
        for alias, target in self._folds:
            if value.endswith(alias):
                return value[: -len(alias)] + target[:-1]
        return value[:-1]

    def canonicalize(self, raw: str) -> tuple[str, tuple[str, ...]] | None:
        value = raw.strip().strip(".").casefold()
        if not _SHAPE.fullmatch(value):
            return None
        local, _, domain = value.rpartition("@")
        return f"{local}@{self.fold_domain(domain)}", ()

    def masked(self, raw: str) -> tuple[str, str] | None:
        m = MASKED.search(raw)
        if m is None:
            return None
        head = m.group(1).casefold()
        return f"p{len(head)}d", f"{head}*@{self.fold_domain(m.group(2).casefold())}"

    def protected(self, raw: str) -> list[tuple[str, str]]:
        found = self.canonicalize(raw)
        if found is None:
            raise InvalidIdentifier(EMAIL, "not an e-mail address")
        canonical = found[0]
        local, _, domain = canonical.rpartition("@")
        forms = [("full", canonical)]
        forms += [(f"p{k}d", f"{local[:k]}*@{domain}") for k in (1, 2, 3) if len(local) > k]
        return forms

    def notes(self, canonical: str, form: str = "full") -> tuple[str, ...]:
        aliases = self._by_target.get(canonical.rpartition("@")[2])
        if not aliases:
            return ()
        domain = canonical.rpartition("@")[2]
        return (f"domain alias {' = '.join(aliases)} = {domain} ([identifiers.email] aliases)",)

    def validate(self, canonical: str) -> bool | None:
        return _SHAPE.fullmatch(canonical) is not None

    def mask(self, canonical: str, form: str = "full") -> str:
        local, _, domain = canonical.rpartition("@")
        head = local.rstrip("*")[:1] if form == "full" else local.rstrip("*")
        return f"{head}***@{domain}"
