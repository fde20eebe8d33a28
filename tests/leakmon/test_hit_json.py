"""One hit, one JSON rendering: `scan` and `hits` write the same hit with the same keys and values
(the contract in ARCHITECTURE.md, "A hit as JSON")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leakmon.hitout import HIT_FIELDS, HitOut
from leakmon.scan import hit_record
from storage.repositories.hits import HitRow
from tests.leakmon.cli import run_cli
from tests.leakmon.test_protect_and_scan import _leak, _setup, workspace  # noqa: F401 - the fixture

CONTRACT = (
    "source",
    "locator",
    "subject_ref",
    "id_type",
    "match_kind",
    "obfuscation",
    "confidence",
    "masked",
    "hit_id",
    "post_id",
    "incident_id",
)


def _jsonl(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_the_contract_keys_in_order() -> None:
    assert HIT_FIELDS == CONTRACT
    hit = HitOut("forum", "text:line 1", "cust-1", "phone", "exact", "none", 0.91234, "010-****-5678")
    assert list(hit.json()) == list(CONTRACT)
    assert hit.json()["confidence"] == 0.912


@pytest.mark.parametrize(("subject_ref", "ids"), [(None, (None, None, None)), ("cust-7", (12, 3, 4))])
def test_a_scan_record_is_the_one_rendering_of_its_row(subject_ref: str | None, ids: tuple[int | None, ...]) -> None:
    """``scan`` renders rows without building a HitOut: the same keys, order and values as HitOut's."""
    row = HitRow(
        "sha",
        "scan",
        "leak.csv:row 2",
        "phone",
        "full",
        b"d" * 32,
        "k1",
        7,
        7,
        1,
        "exact",
        "none",
        0.98765,
        "010-****-5678",
        "{}",
    )
    hit_id, post_id, incident_id = ids
    record = hit_record(row, subject_ref, hit_id, post_id, incident_id)
    expected = HitOut.of(row, subject_ref=subject_ref, hit_id=hit_id, post_id=post_id, incident_id=incident_id).json()
    assert record == {**expected, "compatible_subjects": 1}
    assert list(record) == [*CONTRACT, "compatible_subjects"]
    assert record["confidence"] == 0.988


@pytest.mark.usefixtures("workspace")
def test_scan_and_hits_render_the_same_hit_identically(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _setup(capsys, tmp_path)
    scanned = run_cli(capsys, "scan", str(_leak(tmp_path) / "sample.csv"), "--format", "jsonl")
    assert scanned.code == 0, scanned.err
    listed = run_cli(capsys, "hits", "--format", "jsonl")
    assert listed.code == 0, listed.err
    by_id = {hit["hit_id"]: hit for hit in _jsonl(listed.out)}
    hits = _jsonl(scanned.out)
    assert len(hits) == len(by_id) >= 3
    for hit in hits:
        other = by_id[hit["hit_id"]]
        assert list(hit)[: len(CONTRACT)] == list(other)[: len(CONTRACT)] == list(CONTRACT)
        # `scan`'s source names the file it scanned (README); the stored source of a scanned file is "scan".
        assert (hit["source"], other["source"]) == (str(_leak_path(tmp_path)), "scan")
        assert {k: hit[k] for k in CONTRACT if k != "source"} == {k: other[k] for k in CONTRACT if k != "source"}
        assert hit["incident_id"] is not None  # stored hits carry their incident in both


def _leak_path(tmp_path: Path) -> Path:
    return tmp_path / "leaks" / "sample.csv"
