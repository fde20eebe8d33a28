"""No plaintext in hits or errors; storage confirmation of prefix matches."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from matchers.engine import Matcher
from matchers.index import ProtectedIndex
from matchers.keyed_hash import KeyedHasher
from matchers.registry import IdentifierRegistry
from matchers.types.base import digits
from tests.matchers.conftest import PEOPLE

LEAK = "\n".join(
    [
        "김철수,010-1234-5678,kim.chulsoo@hanmail.net,900101-1234568,4111 1111 1111 1111,1990-01-01",
        "남궁민수 010-7777-0001 서울 강남구 테헤란로 123, 101동 1001호",
        "o1o-1234-5678 공일공-9999-5678 850505-5123456 kim.chulsoo (at) daum (dot) net",
    ]
)


def _secrets() -> list[str]:
    out = []
    for ids in PEOPLE.values():
        for id_type, value in ids.items():
            out.append(value)
            if id_type in ("phone", "rrn", "frn", "card"):
                d = digits(value)
                out += [d, d[1:] if id_type == "phone" else d]
    return out


def test_hits_hold_no_plaintext(matcher: Matcher) -> None:
    hits = matcher.scan_text(LEAK, record_scope="line")
    assert len(hits) >= 10
    kinds = {h.id_type for h in hits}
    assert kinds >= {"phone", "email", "rrn", "frn", "card", "name", "birthdate", "address"}
    rendered = "\n".join(repr(h) + str(h) + str(h.explanation) + str(h.extra) + h.masked for h in hits)
    for secret in _secrets():
        assert secret not in rendered, "plaintext identifier leaked into a hit"
    assert "kim.chulsoo" not in rendered
    assert "김철수" not in rendered


def test_masked_renderings(matcher: Matcher) -> None:
    masks = {h.id_type: h.masked for h in matcher.scan_text(LEAK.splitlines()[0])}
    assert masks == {
        "phone": "010-****-5678",
        "email": "k***@daum.net",
        "rrn": "900101-1******",
        "card": "****-****-****-1111",
        "name": "김*수",
        "birthdate": "1990-**-**",
    }


def test_confirm_filters_false_positives(
    hasher: KeyedHasher, index: ProtectedIndex, registry: IdentifierRegistry
) -> None:
    asked: list[Sequence[bytes]] = []

    def nothing_confirmed(digests: Sequence[bytes]) -> Mapping[bytes, Sequence[int]]:
        asked.append(digests)
        return {}

    assert Matcher(hasher, index, registry, confirm=nothing_confirmed).scan_text("010-1234-5678") == []
    assert asked
    assert all(len(d) == 32 for d in asked[0])


def test_confirm_decides_subjects(hasher: KeyedHasher, index: ProtectedIndex, registry: IdentifierRegistry) -> None:
    def storage(digests: Sequence[bytes]) -> Mapping[bytes, Sequence[int]]:
        return {d: [3] for d in digests}  # storage knows better: only subject 3 holds it

    (hit,) = Matcher(hasher, index, registry, confirm=storage).scan_text("02-345-6789")
    assert hit.subject_ids == (3,)
    assert hit.digest == hasher.digest("phone", "8223456789")
    assert hit.key_id == hasher.key_id


def test_hit_digest_is_the_full_keyed_digest(matcher: Matcher, hasher: KeyedHasher) -> None:
    (hit,) = matcher.scan_text("+82 10 1234 5678")
    assert hit.digest == hasher.digest("phone", "821012345678")


def test_record_scope_is_validated(matcher: Matcher) -> None:
    with pytest.raises(ValueError, match="record_scope"):
        matcher.scan_text("x", record_scope="page")


class _Storage:
    """A confirm callable that also confirms (digest, subject) pairs, recording what it is asked."""

    def __init__(self, held: set[tuple[bytes, int]]) -> None:
        self.held = held
        self.digests: list[bytes] = []
        self.pairs_asked: list[tuple[bytes, int]] = []

    def __call__(self, digests: Sequence[bytes]) -> Mapping[bytes, Sequence[int]]:
        self.digests += digests
        return {d: [s for held, s in sorted(self.held) if held == d] for d in digests}

    def pairs(self, pairs: Sequence[tuple[bytes, int]]) -> set[tuple[bytes, int]]:
        self.pairs_asked += pairs
        return {pair for pair in pairs if pair in self.held}


def _common_name_set(hasher: KeyedHasher, holders: int) -> tuple[ProtectedIndex, set[tuple[bytes, int]]]:
    """Subject 1 has a phone; the name 김철수 is held by ``holders`` subjects, subject 1 among them."""
    name = hasher.digest("name", "김철수")
    held = {(hasher.digest("phone", "821012345678"), 1), *((name, s) for s in range(1, holders + 1))}
    return ProtectedIndex.from_digests(held), held


def test_a_name_is_confirmed_for_the_subjects_beside_it_only(hasher: KeyedHasher, registry: IdentifierRegistry) -> None:
    """A common name is held by a number of subjects that grows with the set: the database is asked
    about the (name, subject) pair of the record's phone, never for every holder of the name (in a
    dump of N users that was N squared). The hits are those of a matcher confirming whole digests."""
    index, held = _common_name_set(hasher, 500)
    storage = _Storage(held)
    text = "김철수,010-1234-5678\n김철수,010-0000-0000"
    hits = Matcher(hasher, index, registry, confirm=storage).scan_text(text, columns=("이름", "전화"), delimiter=",")
    name = hasher.digest("name", "김철수")
    assert name not in storage.digests
    assert storage.pairs_asked == [(name, 1)]
    plain = Matcher(hasher, index, registry, confirm=lambda ds: _Storage(held)(ds)).scan_text(
        text, columns=("이름", "전화"), delimiter=","
    )
    assert hits == plain
    found = [(h.id_type, h.match_kind, h.subject_ids) for h in hits]
    assert found == [("name", "composite", (1,)), ("phone", "exact", (1,))]


def test_a_name_pair_the_database_does_not_hold_is_no_composite(
    hasher: KeyedHasher, registry: IdentifierRegistry
) -> None:
    index, held = _common_name_set(hasher, 3)
    storage = _Storage(held - {(hasher.digest("name", "김철수"), 1)})  # the index holds it, the database not
    hits = Matcher(hasher, index, registry, confirm=storage).scan_text("김철수 010-1234-5678")
    assert [(h.id_type, h.match_kind) for h in hits] == [("phone", "exact")]
    assert storage.pairs_asked == [(hasher.digest("name", "김철수"), 1)]
