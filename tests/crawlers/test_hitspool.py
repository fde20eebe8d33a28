"""The hit spool: batches on disk in the order added, one row per identity, file tokens resolved."""

from __future__ import annotations

import pytest

from crawlers.hitspool import HitSpool
from storage.repositories.hits import HitRow


def _row(n: int, attachment: str | None, confidence: float = 0.9) -> HitRow:
    return HitRow(
        attachment, "chan", f"d.csv:row {n}", "phone", "full", n.to_bytes(32, "big"), "k1", n, n, 1, "exact",
        "none", confidence, "010-****-0000", "{}",
    )  # fmt: skip


def test_batches_come_back_in_order_deduplicated_and_resolved() -> None:
    with HitSpool(batch_rows=3) as spool:
        token = spool.file_token()
        spool.add([_row(1, token, 0.5), _row(1, token, 0.8), _row(2, None)])  # one full batch, spilled
        spool.add(iter([_row(3, token), _row(4, token), _row(5, None), _row(6, token), _row(7, token)]))
        spool.resolve_file(token, "ab" * 32)
        first = list(spool.batches())
        second = list(spool.batches())
    assert len(spool) == 8
    assert first == second  # read again from the start
    assert [len(b) for b in first] == [2, 3, 2]
    rows = [row for batch in first for row in batch]
    assert all(type(row) is HitRow for row in rows)
    assert [int.from_bytes(r.digest, "big") for r in rows] == [1, 2, 3, 4, 5, 6, 7]
    assert rows[0].confidence == 0.8  # the more confident of the two rows of identity 1
    assert [r.attachment_sha256 for r in rows] == ["ab" * 32, None, "ab" * 32, "ab" * 32, None, "ab" * 32, "ab" * 32]


def _cut(spool: HitSpool, token: str, numbers: range) -> None:
    spool.add([_row(n, token if n % 2 else None) for n in numbers])


def test_released_batches_are_the_batches_in_the_same_order_once_their_file_is_resolved() -> None:
    """A live consumer (storing while workers match) gets exactly what ``batches()`` gives after the
    fact: a batch holding rows of a file still being read waits, and so does every batch after it."""
    with HitSpool(batch_rows=3) as after:
        token = after.file_token()
        _cut(after, token, range(1, 12))
        after.resolve_file(token, "ab" * 32)
        expected = list(after.batches())
    with HitSpool(batch_rows=3) as live:
        text_rows = [_row(0, None)]
        live.add(text_rows * 3)  # the post's text: no file token, released at once
        assert [len(b) for b in live.released()] == [1]
        expected = [[_row(0, None)], *expected]
        token = live.file_token()
        _cut(live, token, range(1, 7))
        assert list(live.released()) == []  # their file is still being read
        live.resolve_file(token, "ab" * 32)
        taken = list(live.released())  # the two waiting batches, read back from disk
        _cut(live, token, range(7, 12))  # one more full batch, kept in memory and taken at once
        taken += list(live.released())
        assert len(taken) == 3
        taken += list(live.released(final=True))  # the partial last batch
        assert list(live.released(final=True)) == []
    assert [[tuple(r) for r in b] for b in [expected[0], *taken]] == [[tuple(r) for r in b] for b in expected]
    assert all(type(row) is HitRow for batch in taken for row in batch)
    assert {r.attachment_sha256 for b in taken for r in b} == {"ab" * 32, None}


def test_a_live_spool_keeps_order_behind_a_waiting_batch() -> None:
    with HitSpool(batch_rows=2) as live:
        first = live.file_token()
        live.add([_row(1, first), _row(2, first)])  # waits for ``first``
        live.resolve_file(first, None)  # resolved, even without a SHA-256
        second = live.file_token()
        live.add([_row(3, second), _row(4, second)])  # waits for ``second``
        live.add([_row(5, None), _row(6, None)])  # nothing to wait for, but behind ``second``'s batch
        got = [[int.from_bytes(r.digest, "big") for r in b] for b in live.released()]
        assert got == [[1, 2]]
        live.resolve_file(second, "cd" * 32)
        got = [[int.from_bytes(r.digest, "big") for r in b] for b in live.released()]
        assert got == [[3, 4], [5, 6]]
        with pytest.raises(RuntimeError):
            next(live.batches())


def test_batches_waiting_for_their_file_stay_in_memory_up_to_the_allowance() -> None:
    """A live spool keeps waiting batches in memory (up to ``waiting_batches``), spills the rest,
    and hands both over in the order cut, resolved, as ``batches()`` gives them after the fact."""
    with HitSpool(batch_rows=2) as after:
        token = after.file_token()
        _cut(after, token, range(1, 11))
        after.resolve_file(token, "ab" * 32)
        expected = [[tuple(r) for r in b] for b in after.batches()]
    for allowance, spilled in ((0, 5), (2, 3), (9, 0)):
        with HitSpool(batch_rows=2, waiting_batches=allowance) as live:
            assert list(live.released()) == []
            token = live.file_token()
            _cut(live, token, range(1, 11))
            assert list(live.released()) == []  # the file is still being read: all five wait
            assert live._spilled == spilled
            live.resolve_file(token, "ab" * 32)
            taken = [[tuple(r) for r in b] for b in live.released(final=True)]
        assert taken == expected
