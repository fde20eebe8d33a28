"""Option and filter values are checked before any work: no stored hits, runs or audit entries."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.leakmon.cli import run_cli

CaptureFixture = pytest.CaptureFixture[str]


@pytest.fixture
def workspace(bare: Path, capsys: CaptureFixture) -> Path:
    for argv in (("init",), ("protect", "import", "people.csv")):
        result = run_cli(capsys, *argv)
        assert result.code == 0, result.err
    return bare / ".leakmon" / "leakmon.db"


def _count(database: Path, table: str) -> int:
    with sqlite3.connect(database) as connection:
        return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608 - fixed names


def _tables(database: Path) -> dict[str, int]:
    return {table: _count(database, table) for table in ("posts", "hits", "runs", "audit_log")}


BAD_FORMAT = [
    ("scan", "leak.csv", "--format", "xml"),
    ("hits", "--format", "xml"),
    ("hits", "show", "1", "--format", "xml"),
    ("hits", "rules", "--format", "xml"),
    ("incidents", "--format", "xml"),
    ("takedown", "list", "--format", "xml"),
    ("keys", "list", "--format", "xml"),
    ("protect", "stats", "--format", "xml"),
    ("run", "--once", "--all", "--format", "xml"),
    ("run", "--once", "--log-format", "xml"),
    ("status", "--format", "xml"),
    ("sources", "list", "--format", "xml"),
    ("crawl", "forum", "--format", "xml"),
    ("export", "affected", "--all", "--format", "xml"),
    ("export", "incident", "1", "--format", "xml"),
    ("telegram", "read", "--format", "xml"),
    ("findings", "--format", "xml"),
    ("users", "list", "--format", "xml"),
]


@pytest.mark.parametrize("argv", BAD_FORMAT, ids=" ".join)
def test_an_unknown_format_is_refused_before_any_work(
    workspace: Path, capsys: CaptureFixture, argv: tuple[str, ...]
) -> None:
    before = _tables(workspace)
    result = run_cli(capsys, *argv)
    assert result.code == 2, result.err
    assert "'xml' is not one of" in result.err
    assert result.err.count("\n") == 1, result.err
    assert "--help`)" in result.err
    assert _tables(workspace) == before  # nothing stored, no run recorded, no audit entry


@pytest.fixture
def with_hits(workspace: Path, capsys: CaptureFixture) -> Path:
    scanned = run_cli(capsys, "scan", "leak.csv", "--format", "jsonl")
    assert scanned.code == 0, scanned.err
    assert _count(workspace, "hits") > 0
    return workspace


BAD_FILTERS = [
    (("--id-type", "fone"), ["phone", "rrn", "email"]),
    (("--match-kind", "bogus"), ["'exact'", "'composite'", "'partial'"]),
    (("--source", "nosuch"), ["scan"]),
    (("--min-confidence", "2"), ["less than or equal to 1"]),
    (("--min-confidence", "-0.5"), ["greater than or equal to 0"]),
    (("--limit", "0"), ["greater than or equal to 1"]),
    (("--limit", str(2**70)), ["less than or equal to 9223372036854775807"]),
    (("--incident", str(2**70)), ["less than or equal to 9223372036854775807"]),
    (("--since", "99999999999d"), ["before year 1"]),
    (("--since", "2026-13-45"), ["neither a duration"]),
    (("--status", "maybe"), ["confirmed", "unlabelled"]),
]


@pytest.mark.parametrize(("argv", "listed"), BAD_FILTERS, ids=lambda v: " ".join(v) if isinstance(v, tuple) else "")
def test_an_unknown_filter_value_is_an_error_listing_the_valid_ones(
    with_hits: Path, capsys: CaptureFixture, argv: tuple[str, ...], listed: list[str]
) -> None:
    before = _tables(with_hits)
    result = run_cli(capsys, "hits", *argv, "--format", "jsonl")
    assert result.code == 2, result.err
    assert result.out == ""
    assert result.err.count("\n") == 1, result.err
    for valid in listed:
        assert valid in result.err
    assert _tables(with_hits) == before  # the refused listing is not audited


def test_a_missing_incident_is_not_found(with_hits: Path, capsys: CaptureFixture) -> None:
    result = run_cli(capsys, "hits", "--incident", "4242")
    assert result.code == 4
    assert result.err == "leakmon: incident 4242 does not exist\n"


@pytest.mark.parametrize("argv", [("--id-type", "phone"), ("--source", "scan"), ("--match-kind", "exact")])
def test_known_filter_values_still_list(with_hits: Path, capsys: CaptureFixture, argv: tuple[str, ...]) -> None:
    result = run_cli(capsys, "hits", *argv, "--format", "jsonl")
    assert result.code == 0, result.err
    assert result.out.count("\n") >= 1


def test_a_known_type_without_hits_lists_nothing(with_hits: Path, capsys: CaptureFixture) -> None:
    result = run_cli(capsys, "hits", "--id-type", "card", "--format", "jsonl")
    assert result.code == 0, result.err
    assert result.out == ""
