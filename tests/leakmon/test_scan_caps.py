"""An operator's `leakmon scan` of a local file is not cut short by the crawl time cap, and a file a
cap does stop is reported loudly: a WARNING naming it, how far it got and how to rerun, and exit 1.

`[files] max_seconds` (1800 s by default) is for crawled attachments: a 1M-user dump scanned on a
loaded machine lost most of its rows to it with exit 0 and one `finding:` line among the others
(docs/sizing.md). Tiny caps make the cap trip at once; nothing here is timed.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

import crawlers.analyzer as analyzer_module
import crawlers.parallel as parallel_module
from crawlers.files import ReadLimits
from crawlers.files.rartool import ToolWatch
from tests.leakmon.cli import run_cli

PEOPLE = [
    ("cust-001", "김민수", "010-2345-6789", "minsu.kim@naver.com"),
    ("cust-002", "이영희", "010-8765-4321", "younghee@hanmail.net"),
]
ROWS = 400


@pytest.fixture
def dump(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    """A workspace protecting PEOPLE, and a CSV dump with one on its first row and one on its last."""
    monkeypatch.setenv("LEAKMON_HOME", str(tmp_path / "ws"))
    monkeypatch.setenv("LEAKMON_DATABASE_URL", db_url)
    monkeypatch.delenv("LEAKMON_HMAC_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "leakmon.toml"
    config.write_text("[files]\nmax_seconds = 1e-9\n", encoding="utf-8")  # the crawl cap: trips at once
    monkeypatch.setenv("LEAKMON_CONFIG", str(config))
    protected = tmp_path / "p.csv"
    protected.write_text("subject_ref,name,phone,email\n" + "".join(",".join(p) + "\n" for p in PEOPLE))
    assert run_cli(capsys, "init").code == 0
    assert run_cli(capsys, "protect", "import", str(protected)).code == 0
    rows = [f"홍길동{i},010-1{i:03d}-0000,user{i}@example.com\n" for i in range(ROWS)]
    rows[0], rows[-1] = (",".join(person[1:]) + "\n" for person in PEOPLE)  # one on the first row, one on the last
    path = tmp_path / "members_010-2345-6789.csv"  # a protected value in the name: shown redacted
    path.write_text("이름,전화번호,이메일\n" + "".join(rows), encoding="utf-8")
    return path


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_an_explicit_scan_has_no_time_cap_whatever_the_crawl_setting(
    dump: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, jobs: str
) -> None:
    monkeypatch.setattr(analyzer_module, "PARALLEL_MIN_BYTES", 1)  # --jobs 2 reads the file in ranges
    monkeypatch.setattr(parallel_module, "PARALLEL_BLOCK", 2048)
    result = run_cli(capsys, "scan", str(dump), "--format", "jsonl", "--jobs", jobs)
    assert result.code == 0, result.err
    assert "cap_time" not in result.err
    assert "WARNING" not in result.err
    locators = {json.loads(line)["locator"] for line in result.out.splitlines()}
    assert any(locator.endswith(f":row {ROWS + 1}") for locator in locators), sorted(locators)  # the last row


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_file_the_time_cap_stops_is_a_loud_warning_and_exit_1(
    dump: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, jobs: str
) -> None:
    monkeypatch.setattr(analyzer_module, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(parallel_module, "PARALLEL_BLOCK", 2048)
    argv = ["scan", str(dump), "--format", "jsonl", "--jobs", jobs, "--max-seconds", "0.000000001"]
    result = run_cli(capsys, *argv)
    assert result.code == 1, result.err
    (warning,) = [line for line in result.err.splitlines() if line.startswith("WARNING")]
    assert "members_[redacted].csv was NOT read" in warning
    assert "was NOT read to the end: cap_time" in warning
    assert " MB of " in warning  # how far it got
    assert "--max-seconds" in warning  # how to rerun
    assert result.err.rstrip().splitlines()[-1] == warning  # the last thing printed
    # with --log-format json the same is one machine-readable line too
    result = run_cli(capsys, *argv, "--log-format", "json")
    assert result.code == 1
    events = [json.loads(line) for line in result.err.splitlines() if line.startswith("{")]
    (cut,) = [event for event in events if event["event"] == "cut_short"]
    assert cut["kind"] == "cap_time"
    assert cut["size_bytes"] == dump.stat().st_size
    assert 0 <= cut["read_bytes"] <= cut["size_bytes"]
    everything = result.err + warning
    for _, _, phone, email in PEOPLE:  # the file name's phone is redacted like every shown string
        assert phone not in everything
        assert email not in everything


def test_hits_with_fail_on_hit_and_no_cap_still_exit_1_and_no_warning(
    dump: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(capsys, "scan", str(dump), "--no-store", "--fail-on-hit", "--max-seconds", "3600")
    assert result.code == 1
    assert "WARNING" not in result.err


def test_a_negative_max_seconds_is_refused_before_any_work(dump: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "scan", str(dump), "--max-seconds", "-1")
    assert result.code == 2


def test_with_time_cap_zero_means_no_cap_and_a_tool_watch_without_deadline_has_no_timer() -> None:
    limits = ReadLimits(max_seconds=5)
    assert limits.with_time_cap(0).max_seconds == math.inf
    assert limits.with_time_cap(7).max_seconds == 7
    assert limits.max_seconds == 5  # frozen: a copy
    assert ReadLimits.model_validate({"max_seconds": "inf"}).max_seconds == math.inf
    with pytest.raises(ValueError, match="negative"):
        limits.with_time_cap(-1)
    watch = ToolWatch(math.inf)  # threading.Timer(inf) would overflow the lock's timeout
    assert not watch.expired
    watch.stop()
