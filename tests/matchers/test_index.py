from __future__ import annotations

import numpy as np
import pytest

from matchers.index import NARROW_MIN, ProtectedIndex, key_width, radix_bits, table_bits


@pytest.mark.parametrize("group_min", [2, 4, 1000])
def test_lookup_duplicates_misses_and_shared_prefixes(group_min: int) -> None:
    prefixes = [50, 10, 30, 30, 10, 70, 70, 70, 70, 70]
    subjects = [5, 1, 3, 4, 1, 9, 8, 7, 6, 6]  # (10, 1) twice, (70, 6) twice
    index = ProtectedIndex(prefixes, subjects, group_min=group_min)
    assert len(index) == 8  # duplicate pairs dropped
    got = index.lookup(np.array([30, 31, 10, 70, 0, 2**64 - 1, 50, 70], dtype=np.uint64))
    assert got == {0: (3, 4), 2: (1,), 3: (6, 7, 8, 9), 6: (5,), 7: (6, 7, 8, 9)}


def test_empty_index_and_empty_query() -> None:
    empty = ProtectedIndex(np.empty(0, np.uint64), np.empty(0, np.uint32))
    assert empty.lookup([1, 2]) == {}
    assert ProtectedIndex([1], [1]).lookup(np.empty(0, np.uint64)) == {}


def test_lookup_digest_and_from_digests() -> None:
    d1, d2 = bytes(range(32)), bytes(range(1, 33))
    index = ProtectedIndex.from_digests([(d1, 7), (d2, 8), (d1, 9)])
    assert index.lookup_digest(d1) == (7, 9)
    assert index.lookup_digest(bytes(32)) == ()


def test_memory_is_at_most_twelve_bytes_per_unique_entry_and_less_when_grouped() -> None:
    rng = np.random.default_rng(0)
    n = 100_000
    unique = ProtectedIndex(rng.integers(0, 2**63, n, dtype=np.uint64), np.arange(n, dtype=np.uint32))
    assert unique.nbytes <= 11 * n + n // 8 + 64  # 3-byte subject ids + the radix table (<= 1/8 byte per entry)
    assert unique.nbytes <= 12 * n  # the ceiling
    shared = ProtectedIndex(np.repeat(np.arange(100, dtype=np.uint64), 1000), np.arange(n, dtype=np.uint32))
    assert shared.nbytes < 4 * n  # partial forms: 3 bytes per extra subject
    assert shared.lookup([5])[0] == tuple(range(5000, 6000))


@pytest.mark.parametrize("top", [2**24 - 1, 2**24, 2**32 - 1])
def test_subject_ids_round_trip_at_the_narrow_limit(top: int) -> None:
    """Ids below 2^24 are kept in 3 bytes, any larger id keeps all of them in 4: both answer alike."""
    keys = np.array([5, 9, 9, 9, 9, 12], dtype=np.uint64)
    subjects = np.array([top, 0, 1, 2**16 + 3, top, 2**23 + 1], dtype=np.uint32)
    index = ProtectedIndex(keys, subjects)
    assert index.lookup([9, 5, 12, 7]) == {0: tuple(sorted((0, 1, 2**16 + 3, top))), 1: (top,), 2: (2**23 + 1,)}
    restored = ProtectedIndex.from_tiers(index.tiers)
    assert restored.lookup([9, 5, 12]) == index.lookup([9, 5, 12])
    assert len(restored) == len(index) == 6


def test_rejects_mismatched_arrays() -> None:
    with pytest.raises(ValueError, match="equal length"):
        ProtectedIndex([1, 2], [1])


def test_presorted_arrays_build_the_same_index() -> None:
    keys = np.array([1, 2, 2, 3], dtype=np.uint64)
    subs = np.array([1, 2, 3, 4], dtype=np.uint32)
    assert ProtectedIndex(keys, subs, presorted=True).lookup([2, 3]) == {0: (2, 3), 1: (4,)}


def test_a_type_the_index_lacks_is_not_extracted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Addresses cost a Python canonicalization each: a set without addresses never pays for them."""
    from matchers.engine import Matcher
    from matchers.keyed_hash import KeyedHasher, prefix64
    from matchers.registry import IdentifierRegistry
    from matchers.types import address
    from tests.matchers.conftest import PEOPLE, TEST_KEY, build_pairs

    hasher = KeyedHasher(TEST_KEY)
    registry = IdentifierRegistry.default()
    pairs = build_pairs(hasher, registry)
    text = f"{PEOPLE[5]['address']}, {PEOPLE[5]['phone']}"
    calls: list[str] = []
    real = address.canonical_address
    monkeypatch.setattr(address, "canonical_address", lambda raw: calls.append(raw) or real(raw))
    real_pass = KeyedHasher.addresses  # the kernel's address pass (canonical forms read natively)
    monkeypatch.setattr(KeyedHasher, "addresses", lambda *a, **k: calls.append("kernel") or real_pass(*a, **k))

    def scan(domains: frozenset[str] | None) -> list[str]:
        prefixes = prefix64([digest for digest, _ in pairs])
        index = ProtectedIndex(prefixes, [subject for _, subject in pairs], domains=domains)
        return sorted(h.id_type for h in Matcher(hasher, index, registry).scan_text(text))

    assert scan(None) == ["address", "phone"]
    assert calls == ["kernel"]  # (in canonical form: no parser)
    calls.clear()
    assert scan(frozenset({"phone", "email"})) == ["phone"]
    assert calls == []


def test_an_index_restored_from_its_tiers_answers_like_the_built_one() -> None:
    rng = np.random.default_rng(7)
    keys = np.concatenate([rng.integers(0, 2**63, 3000, dtype=np.uint64), np.full(6, 42, dtype=np.uint64)])
    subjects = np.arange(len(keys), dtype=np.uint32)
    built = ProtectedIndex(keys, subjects, domains=frozenset({"phone"}))
    restored = ProtectedIndex.from_tiers({name: array.copy() for name, array in built.tiers.items()}, domains=None)
    queries = np.concatenate([keys[::7], np.array([42, 1, 2**64 - 1], dtype=np.uint64)])
    assert restored.lookup(queries) == built.lookup(queries)
    assert restored.lookup(np.array([42], dtype=np.uint64)) == {0: tuple(range(3000, 3006))}  # the grouped tier
    assert (len(restored), restored.nbytes, restored.domains) == (len(built), built.nbytes, None)
    assert [a.tobytes() for a in restored.kernel_tiers] == [a.tobytes() for a in built.kernel_tiers]


def test_a_big_index_takes_at_most_ten_bytes_per_identifier() -> None:
    """Issue 11: 6-byte keys under a 16-bit radix table (2^20 identifiers: 9.25 B, was 11.06)."""
    rng = np.random.default_rng(1)
    n = 1 << 20
    index = ProtectedIndex(rng.integers(0, 2**64 - 1, n, dtype=np.uint64), np.arange(n, dtype=np.uint32) % 500_000)
    assert len(index) == n
    assert index.nbytes <= 10 * n
    assert index.nbytes == 6 * n + 3 * n + 4 * (2**16 + 1) + 4  # keys, subject ids, radix table, group offsets


@pytest.mark.parametrize("n", [NARROW_MIN - 1, NARROW_MIN])
def test_keys_narrow_from_narrow_min_keys(n: int) -> None:
    assert key_width(radix_bits(n)) == (8 if n < NARROW_MIN else 6)
    rng = np.random.default_rng(n)
    keys = rng.integers(0, 2**64 - 1, n, dtype=np.uint64)
    index = ProtectedIndex(keys, np.arange(n, dtype=np.uint32))
    flat_keys, flat_radix, _, _ = index.kernel_tiers
    assert len(flat_keys) == key_width(table_bits(flat_radix)) * n
    queries = np.concatenate([keys[:500], keys[:500] ^ np.uint64(1)])
    assert index.lookup(queries) == {i: (i,) for i in range(500)}


def _oracle(prefixes: np.ndarray, subjects: np.ndarray, queries: np.ndarray) -> dict[int, tuple[int, ...]]:
    held: dict[int, set[int]] = {}
    for p, s in zip(prefixes.tolist(), subjects.tolist(), strict=True):
        held.setdefault(p, set()).add(s)
    return {i: tuple(sorted(held[q])) for i, q in enumerate(queries.tolist()) if q in held}


@pytest.mark.parametrize("shape", ["flat", "grouped", "runs", "one slot", "ends"])
def test_narrow_keys_answer_exactly_as_the_64_bit_prefixes(shape: str) -> None:
    """A 6-byte key leaves out the top bits its radix slot implies: a query equal to a held key but
    for those bits (the same 6 bytes in another slot, the next slot over, the last slot), or but for
    its last bit, is absent; runs of shared keys, the grouped tier and the key space's ends answer as
    a dictionary of the 64-bit prefixes does."""
    rng = np.random.default_rng(21)
    keys = rng.integers(0, 2**64 - 1, 300_000, dtype=np.uint64)
    if shape == "one slot":
        keys = (np.uint64(0xABCD) << np.uint64(48)) | (keys >> np.uint64(16))
    if shape == "ends":
        keys[:4] = [0, 1, 2**64 - 2, 2**64 - 1]
    held, others = keys[:150_000], keys[150_000:]  # others: never held
    prefixes, subs = held, np.arange(len(held), dtype=np.uint32) % 70_000
    if shape == "runs":  # a run of two or three subjects per key in the narrow flat tier
        prefixes = np.concatenate([held, held[::2], held[::3]])
        subs = np.arange(len(prefixes), dtype=np.uint32) % 90_000
    if shape == "grouped":  # 140,000 keys shared by 4 subjects each: a narrow grouped tier
        prefixes = np.concatenate([held, np.repeat(held[:140_000], 3)])
        subs = np.concatenate([subs, np.arange(3 * 140_000, dtype=np.uint32) + 100_000])
    one = np.uint64(1)
    probe = held[:3000]
    queries = np.concatenate(
        [
            probe,
            probe ^ (one << np.uint64(48)),
            probe ^ (one << np.uint64(63)),
            probe + (one << np.uint64(48)),
            probe - (one << np.uint64(48)),
            probe ^ one,
            others[:3000],
            np.array([0, 1, 2**64 - 2, 2**64 - 1, 2**63], dtype=np.uint64),
        ]
    )
    index = ProtectedIndex(prefixes, subs)
    narrow = [key_width(table_bits(r)) for r in index.kernel_tiers[1::2]]
    assert narrow == ([8, 6] if shape == "grouped" else [6, 8])  # the narrow tier: 6-byte keys
    want = _oracle(prefixes, subs, queries)
    assert index.lookup(queries) == want
    assert ProtectedIndex.from_tiers(index.tiers).lookup(queries) == want


def test_tiers_that_do_not_fit_the_layout_are_refused() -> None:
    """A v6 cache's 8-byte keys (uint64), cut keys or a radix table of another size are never searched."""
    rng = np.random.default_rng(2)
    index = ProtectedIndex(rng.integers(0, 2**64 - 1, NARROW_MIN, dtype=np.uint64), np.arange(NARROW_MIN))
    good = index.tiers
    assert ProtectedIndex.from_tiers(good).lookup(good["flat_keys"][:0]) == {}
    for bad in (
        {**good, "flat_keys": np.zeros(NARROW_MIN, dtype=np.uint64)},  # v6: uint64 keys
        {**good, "flat_keys": good["flat_keys"][:-6]},  # one key short of the radix table
        {**good, "flat_keys": good["flat_keys"][:-1]},  # cut in a key
        {**good, "flat_radix": good["flat_radix"][:-1]},  # not 2^bits + 1 offsets
        {**good, "group_offsets": np.zeros(3, dtype=np.uint32)},  # offsets of groups it lacks
    ):
        with pytest.raises(ValueError, match=r"fit|packed"):
            ProtectedIndex.from_tiers(bad)


def _pairs_with_groups(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Half unique prefixes, half a hundred shared ones (mask forms), subjects with repeats."""
    rng = np.random.default_rng(seed)
    keys = rng.integers(0, 2**64 - 1, n, dtype=np.uint64)
    keys[: n // 2] = np.repeat(rng.integers(0, 2**64 - 1, 100, dtype=np.uint64), n // 200)
    keys[-10:] = keys[:10]  # equal pairs, to be dropped
    subs = rng.integers(1, 1 << 20, n).astype(np.uint32)
    subs[-10:] = subs[:10]
    return keys, subs


def test_sort_pairs_in_slices_sorts_as_a_lexsort(monkeypatch: pytest.MonkeyPatch) -> None:
    import matchers.index as index_module

    monkeypatch.setattr(index_module, "CHUNK", 512)  # dozens of slices
    keys, subs = _pairs_with_groups(50_000, 3)
    keys[:50] = 2**64 - 1 - np.arange(50, dtype=np.uint64)  # the last slice
    order = np.lexsort((subs, keys))
    sorted_keys, sorted_subs = index_module.sort_pairs(keys, subs)
    assert sorted_keys.tolist() == keys[order].tolist()
    assert sorted_subs.tolist() == subs[order].tolist()
    built = ProtectedIndex(keys, subs)
    whole = ProtectedIndex(keys[order], subs[order], presorted=True)
    for name, array in built.tiers.items():
        assert array.tolist() == whole.tiers[name].tolist(), name


def test_building_holds_under_thirty_bytes_a_pair_beyond_its_input(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The index of 1M users (11M pairs with mask forms) is built by the first scan after an import.
    A lexsort of the whole set and the run starts and lengths held about 45 bytes a pair besides the
    input (500 MB at 11M pairs); now the sort's output (12), a byte a pair of run marks, the tiers
    and one slice's work."""
    import tracemalloc

    import matchers.index as index_module

    monkeypatch.setattr(index_module, "CHUNK", 4096)
    n = 200_000
    keys, subs = _pairs_with_groups(n, 5)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        ProtectedIndex(keys, subs)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert peak < 30 * n  # 45.5 bytes a pair before
