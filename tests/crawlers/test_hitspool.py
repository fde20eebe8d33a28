"""The hit spool: batches on disk in the order added, one row per identity, file tokens resolved."""

from __future__ import annotations

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
