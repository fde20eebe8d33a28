"""A dump of many of our own users: records follow the data's structure, hits stream to storage.

The sizes here are small (CI); `make bench` runs the same shapes at a million rows.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from scripts.bench_massbreach import person  # the benchmark's users, at test scale
from tests.leakmon.cli import run_cli
from tests.leakmon.test_protect_and_scan import workspace  # noqa: F401 - the CLI workspace fixture


def _protect(capsys: pytest.CaptureFixture[str], tmp_path: Path, n: int) -> None:
    path = tmp_path / "protected.csv"
    rows = ["subject_ref,name,phone,email,address"] + [",".join(person(i)) for i in range(n)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    results = [run_cli(capsys, "init"), run_cli(capsys, "protect", "import", str(path))]
    assert [r.code for r in results] == [0, 0], [r.err for r in results]


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.usefixtures("workspace")
def test_one_line_json_dump_has_no_composite_across_its_records(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _protect(capsys, tmp_path, 40)
    # Each member record holds one user's name beside ANOTHER user's e-mail: the e-mails are exact
    # hits, the names belong to nobody in their record, so no composite may appear.
    members = [{"id": i, "name": person(i)[1], "email": person((i + 1) % 40)[3]} for i in range(40)]
    members += [{"id": 1000 + i, "name": f"filler{i}", "email": f"nobody{i}@example.org"} for i in range(400)]
    dump = tmp_path / "users.json"
    dump.write_text(json.dumps(members, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    assert b"\n" not in dump.read_bytes()
    assert dump.stat().st_size > 4096
    config = tmp_path / "leakmon.toml"
    config.write_text("[files]\nmax_document_bytes = 4096\n", encoding="utf-8")  # the dump is "huge"
    monkeypatch.setenv("LEAKMON_CONFIG", str(config))
    out = tmp_path / "hits.jsonl"
    result = run_cli(capsys, "scan", str(dump), "--format", "jsonl", "--output", str(out))
    assert result.code == 0, result.err
    hits = _jsonl(out)
    assert {h["match_kind"] for h in hits} == {"exact"}
    assert len(hits) == 40
    by_ref = {h["subject_ref"]: h["locator"] for h in hits}
    assert by_ref[person(1)[0]] == "users.json#[0]"  # user 1's e-mail sits in element 0
    assert by_ref[person(0)[0]] == "users.json#[39]"


class ParameterWatch:
    """The largest parameter count of any single statement the engine sends."""

    def __init__(self) -> None:
        self.largest = 0

    def __call__(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        rows = parameters if many else [parameters]
        for row in rows:
            self.largest = max(self.largest, len(row) if isinstance(row, tuple | list | dict) else 1)


@pytest.fixture
def watch() -> Iterator[ParameterWatch]:
    watcher = ParameterWatch()
    event.listen(Engine, "before_cursor_execute", watcher)
    yield watcher
    event.remove(Engine, "before_cursor_execute", watcher)


#: The project's look-up chunk (2,000 digests a query): far below the report's 800,000 parameters.
MAX_PARAMETERS = 2000


@pytest.mark.usefixtures("workspace")
def test_a_dump_of_our_users_is_stored_with_bounded_statements_and_every_hit_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], watch: ParameterWatch
) -> None:
    n = 1200  # 3,600+ hits: more than MAX_PARAMETERS in one "IN (...)" or multi-row VALUES
    _protect(capsys, tmp_path, n)
    dump = tmp_path / "dump.csv"
    lines = ["이름,전화번호,이메일,주소"] + [",".join(person(i)[1:]) for i in range(n)]
    dump.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "hits.jsonl"
    watch.largest = 0
    result = run_cli(capsys, "scan", str(dump), "--format", "jsonl", "--output", str(out))
    assert result.code == 0, result.err
    assert watch.largest <= MAX_PARAMETERS
    hits = _jsonl(out)
    exact = {(h["subject_ref"], h["id_type"]) for h in hits if h["match_kind"] == "exact"}
    assert {(person(i)[0], t) for i in range(n) for t in ("phone", "email")} <= exact
    assert all(h["hit_id"] is not None and h["locator"].startswith("dump.csv:row ") for h in hits)
    assert len({h["hit_id"] for h in hits}) == len(hits)
    again = run_cli(capsys, "scan", str(dump), "--format", "jsonl", "--output", str(tmp_path / "again.jsonl"))
    assert again.code == 0, again.err
    assert sorted(h["hit_id"] for h in _jsonl(tmp_path / "again.jsonl")) == sorted(h["hit_id"] for h in hits)
    affected = tmp_path / "affected.jsonl"
    export = run_cli(capsys, "export", "affected", "--all", "--format", "jsonl", "--output", str(affected))
    assert export.code == 0, export.err
    rows = _jsonl(affected)
    assert [r["subject_ref"] for r in rows] == [person(i)[0] for i in range(n)]  # sorted by reference
    assert {r["match_strength"] for r in rows} == {"exact"}
    assert all({"phone", "email"} <= set(r["identifier_types"]) for r in rows)
    assert watch.largest <= MAX_PARAMETERS


def test_export_rows_reach_the_file_while_later_rows_are_still_being_made(tmp_path: Path) -> None:
    from leakmon.workflows.tables import write_rows

    out = tmp_path / "affected.csv"
    sizes: list[int] = []

    def rows() -> Iterator[dict[str, object]]:
        for i in range(3000):
            if i == 2999:
                sizes.append(out.stat().st_size)
            yield {"subject_ref": f"cust-{i}", "hits": i}

    assert write_rows(rows(), ["subject_ref", "hits"], "csv", out, io.StringIO()) == 3000
    assert sizes[0] > 0  # rows were on disk before the last one existed


@pytest.mark.usefixtures("workspace")
def test_scan_output_is_written_file_by_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _protect(capsys, tmp_path, 5)
    leaks = tmp_path / "leaks"
    leaks.mkdir()
    (leaks / "a.csv").write_text("phone\n" + person(1)[2] + "\n", encoding="utf-8")
    (leaks / "b.csv").write_text("phone\n" + person(2)[2] + "\n", encoding="utf-8")
    from crawlers.ingest import IngestSink

    real_analyze = IngestSink.analyze

    def analyze(self: IngestSink, post: Any, **kwargs: Any) -> Any:
        if post.title == "b.csv":
            raise KeyboardInterrupt  # the operator gives up during the second file
        return real_analyze(self, post, **kwargs)

    monkeypatch.setattr(IngestSink, "analyze", analyze)
    out = tmp_path / "hits.jsonl"
    interrupted = run_cli(capsys, "scan", str(leaks), "--format", "jsonl", "--output", str(out))
    assert interrupted.code != 0
    assert [h["subject_ref"] for h in _jsonl(out)] == [person(1)[0]]


def _progress_lines(err: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == "progress"]


@pytest.mark.usefixtures("workspace")
def test_progress_is_json_lines_with_log_format_json_and_nothing_in_a_pipe(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    protected = tmp_path / "protected.csv"
    protected.write_text("subject_ref,phone\n" + "".join(f"{p[0]},{p[2]}\n" for p in map(person, range(50))))
    assert run_cli(capsys, "init").code == 0
    imported = run_cli(capsys, "protect", "import", str(protected), "--log-format", "json")
    assert imported.code == 0, imported.err
    hashing, storing = _progress_lines(imported.err)
    assert (hashing["task"], hashing["unit"], hashing["final"]) == ("hashing", "bytes", True)
    assert (storing["task"], storing["final"]) == ("storing", True)  # the set-based insert, timed
    dump = tmp_path / "dump.csv"
    dump.write_text("phone\n" + "".join(f"{person(i)[2]}\n" for i in range(50)))
    quiet = run_cli(capsys, "scan", str(dump), "--format", "jsonl", "--output", str(tmp_path / "a.jsonl"))
    assert quiet.code == 0, quiet.err
    assert _progress_lines(quiet.err) == []  # stderr is not a terminal: no bar, no lines
    loud = run_cli(
        capsys, "scan", str(dump), "--format", "jsonl", "--output", str(tmp_path / "b.jsonl"), "--log-format", "json"
    )
    (final,) = _progress_lines(loud.err)
    assert (final["task"], final["done"], final["total"]) == ("scan", dump.stat().st_size, dump.stat().st_size)
    refused = run_cli(capsys, "scan", str(dump), "--log-format", "xml")
    assert refused.code == 2
