"""A post's stored text as the console shows it: never a plaintext protected identifier.

The sealed text is opened (:func:`leakmon.workflows.evidence.hit_post_text`), then scanned again by a
matcher whose index holds only the keyed digests of this post's own hits: every line where one of
them occurs (any form, however obfuscated, as the ingest matcher saw it) is replaced by the masked
values of what it holds.

Every other line is searched for weak identifiers (names, birthdates) and addresses, which the
ingest matcher reports only beside a strong identifier and so are often on no hit's line (the
decision): every name-, birthdate- or address-shaped span the recognizers read (a Hangul word also
with its trailing particle cut off: 김서연님께, 김서연에게) is keyed-hashed under every HMAC key the
protected set uses, and the spans whose digest the protected set holds, for ANY subject, not only
this post's, are replaced by their masked form (김*연, ``서울특별시 강남구 ***``). Other names
(a seller's alias, a public figure) stay readable. The look-up is one indexed query per 500 distinct
candidates. Then the line passes the crawler's redaction rule (:func:`crawlers.redact.redact`:
e-mail addresses and identifier-shaped digit runs masked). A protected value no recognizer reads
(a name split by punctuation) is not known here either; that is the limit.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy.orm import Session

from crawlers.redact import redact
from leakmon.errors import KeyError_
from leakmon.keyring import Keyring
from leakmon.workflows.evidence import hit_post_text
from matchers.engine import Matcher
from matchers.index import ProtectedIndex
from matchers.keyed_hash import KeyedHasher
from matchers.registry import IdentifierRegistry
from matchers.types.base import Recognizer
from storage.repositories.incident_views import post_digests
from storage.repositories.protected import confirm_digests, set_key_ids

_HANGUL_WORD = re.compile(r"[가-힣]{3,}")
#: Characters a spaced or zero-width-split name may carry between its syllables.
_FILLER = frozenset(" \t\u200b\u200c\u200d\u2060\ufeff\u00ad")


@dataclass(frozen=True, slots=True)
class ShownLine:
    number: int  # 1-based
    text: str
    masked: bool  # True when the line held one of the post's hits (text replaced by masked values)


def masked_post_text(
    session: Session, keyring: Keyring, registry: IdentifierRegistry, hit_id: int
) -> tuple[int, list[ShownLine]]:
    """(post id, its text line by line with every protected value masked)."""
    post_id, plain = hit_post_text(session, keyring, hit_id)
    found: dict[int, set[str]] = defaultdict(set)
    by_key: dict[str, list[tuple[bytes, int]]] = defaultdict(list)
    for key_id, digest, subject in post_digests(session, post_id):
        by_key[key_id].append((digest, subject))
    for key_id, pairs in by_key.items():
        try:
            hasher = KeyedHasher(keyring.key("hmac", key_id), key_id)
        except KeyError_:  # a key no longer in the key file: those lines fall back to the redaction rule
            continue
        matcher = Matcher(hasher, ProtectedIndex.from_digests(pairs), registry)
        for hit in matcher.scan_text(plain, record_scope="all"):
            found[hit.line].add(f"{hit.id_type} {hit.masked}")
    raw_lines = plain.split("\n")  # the matcher's lines end at LF only
    weak = _protected_weak_spans(session, keyring, registry, {i: t for i, t in enumerate(raw_lines) if i not in found})
    lines = []
    for index, line in enumerate(raw_lines):
        if index in found:
            lines.append(ShownLine(index + 1, "; ".join(sorted(found[index])), True))
        else:
            lines.append(ShownLine(index + 1, redact(_masked(line, weak.get(index, []))), False))
    return post_id, lines


#: A candidate: (line index, start, end, recognizer, canonical).
_Candidate = tuple[int, int, int, Recognizer, str]


def _protected_weak_spans(
    session: Session, keyring: Keyring, registry: IdentifierRegistry, lines: dict[int, str]
) -> dict[int, list[tuple[int, int, str]]]:
    """Per line, the (start, end, masked form) of every weak or address span the protected set holds."""
    recognizers = [r for r in registry.recognizers() if r.weak or r.household]
    candidates: list[_Candidate] = []
    for index, line in lines.items():
        for rec in recognizers:
            candidates.extend(_candidates(index, line, rec))
    if not candidates:
        return {}
    distinct: dict[tuple[str, str], None] = {}
    for _, _, _, rec, canonical in candidates:
        distinct.setdefault((rec.domain, canonical), None)
    digests: dict[tuple[str, str], list[bytes]] = defaultdict(list)
    for key_id in sorted(set_key_ids(session)):
        try:
            hasher = KeyedHasher(keyring.key("hmac", key_id), key_id)
        except KeyError_:
            continue
        by_domain: dict[str, list[str]] = defaultdict(list)
        for domain, canonical in distinct:
            by_domain[domain].append(canonical)
        for domain, values in by_domain.items():
            for canonical, digest in zip(values, hasher.digest_many(domain, values, "full"), strict=True):
                digests[(domain, canonical)].append(digest)
    held = set(confirm_digests(session, [d for ds in digests.values() for d in ds]))
    spans: dict[int, list[tuple[int, int, str]]] = defaultdict(list)
    for index, start, end, rec, canonical in candidates:
        if any(d in held for d in digests.get((rec.domain, canonical), ())):
            spans[index].append((start, end, rec.mask(canonical)))
    return spans


def _candidates(index: int, line: str, rec: Recognizer) -> list[_Candidate]:
    out: list[_Candidate] = []
    for canonical, form, start in rec.record_tokens(line, partial=False):
        if form != "full":
            continue
        end = _end(line, start, canonical, rec)
        out.append((index, start, end, rec, canonical))
        word = line[start:end]
        if rec.weak and _HANGUL_WORD.fullmatch(word):  # a name with a particle glued on: 김서연에게
            out.extend((index, start, start + n, rec, word[:n]) for n in range(2, min(len(word), 6)))
    return out


def _end(line: str, start: int, canonical: str, rec: Recognizer) -> int:
    """Where the span read as ``canonical`` at ``start`` ends in ``line``."""
    if rec.scan_pattern is not None:
        match = rec.scan_pattern.match(line, start)
        if match is not None and match.end() > start:
            return match.end()
    # A spaced (김 민 수) or zero-width-split name: as many non-filler characters as the canonical has.
    want, end = len(canonical.replace(" ", "")), start
    while end < len(line) and want:
        if line[end] not in _FILLER:
            want -= 1
        end += 1
    return end


def _masked(line: str, spans: list[tuple[int, int, str]]) -> str:
    """``line`` with each span replaced by its masked form (overlapping spans become one)."""
    merged: list[tuple[int, int, str]] = []
    for start, end, shown in sorted(spans, key=lambda s: (s[0], -s[1])):
        if merged and start < merged[-1][1]:
            last = merged[-1]
            merged[-1] = (last[0], max(last[1], end), last[2])
        else:
            merged.append((start, end, shown))
    for start, end, shown in reversed(merged):
        line = line[:start] + shown + line[end:]
    return line
