"""A post's stored text as the console shows it: never a plaintext protected identifier.

The sealed text is opened (:func:`leakmon.workflows.evidence.hit_post_text`), then scanned again by a
matcher whose index holds only the keyed digests of this post's own hits: every line where one of
them occurs (any form, however obfuscated, as the ingest matcher saw it) is replaced by the masked
values of what it holds. Every other line passes the crawler's redaction rule
(:func:`crawlers.redact.redact`: e-mail addresses and identifier-shaped digit runs masked). A
protected value the ingest matcher did not find is not known here either; that is the limit.
"""

from __future__ import annotations

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
from storage.repositories.incident_views import post_digests


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
    lines = []
    for index, line in enumerate(plain.split("\n")):  # the matcher's lines end at LF only
        if index in found:
            lines.append(ShownLine(index + 1, "; ".join(sorted(found[index])), True))
        else:
            lines.append(ShownLine(index + 1, redact(line), False))
    return post_id, lines
