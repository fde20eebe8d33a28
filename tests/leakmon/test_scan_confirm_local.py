"""`leakmon scan` confirms index hits by position in the cached store (no database round trip),
with the same output as when the database confirms (a workspace without a store), on both databases
and with one and two jobs; a damaged store is caught, the database confirms and the file is rebuilt."""

from __future__ import annotations

from pathlib import Path

import pytest

import crawlers.analyzer as analyzer_module
import crawlers.parallel as parallel_module
import leakmon.runtime as runtime_module
from leakmon import index_cache
from matchers.confirm import REST_FILE
from storage import driver as driver_module
from storage.repositories import protected as protected_module
from tests.leakmon.cli import run_cli

PEOPLE = [
    ("cust-001", "김민수", "010-2345-6789", "minsu.kim@naver.com"),
    ("cust-002", "이영희", "010-8765-4321", "younghee@hanmail.net"),
    ("cust-003", "박지성", "011-456-7890", "jspark@gmail.com"),
    ("cust-004", "김민수", "010-2345-1111", "other.kim@naver.com"),
]


@pytest.fixture
def workspace(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "ws"
    monkeypatch.setenv("LEAKMON_HOME", str(home))
    monkeypatch.setenv("LEAKMON_DATABASE_URL", db_url)
    monkeypatch.delenv("LEAKMON_CONFIG", raising=False)
    monkeypatch.delenv("LEAKMON_HMAC_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(analyzer_module, "PARALLEL_MIN_BYTES", 1)  # every file goes to the workers
    monkeypatch.setattr(parallel_module, "PARALLEL_BLOCK", 2048)
    return home


def _dump(path: Path) -> Path:
    rows = []
    for i in range(400):
        if i % 13 == 2:
            _, name, phone, email = PEOPLE[i % 4]
            rows.append(f"{name},{phone},{email}")
        else:
            rows.append(f"홍길동{i},010-{1000 + i:04d}-{i % 7000:04d},user{i}@example.com")
    path.write_text("이름,전화번호,이메일\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _refuse(*args: object, **kwargs: object) -> object:
    raise AssertionError("confirmed in the database")


def test_scan_confirms_by_position_as_the_database_does(
    workspace: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    protected_csv = tmp_path / "p.csv"
    protected_csv.write_text("subject_ref,name,phone,email\n" + "".join(",".join(p) + "\n" for p in PEOPLE))
    assert run_cli(capsys, "init").code == 0
    assert run_cli(capsys, "protect", "import", str(protected_csv)).code == 0
    dump = _dump(tmp_path / "dump.csv")
    by_database: dict[str, list[str]] = {}
    with monkeypatch.context() as patch:  # no store: the database confirms
        patch.setattr(runtime_module, "rests_of", lambda tiers, index: None)
        for jobs in ("1", "2"):
            result = run_cli(capsys, "scan", str(dump), "--format", "jsonl", "--no-store", "--jobs", jobs)
            assert result.code == 0, result.err
            by_database[jobs] = result.out.splitlines()
    assert len(by_database["1"]) >= 10
    assert any('"name"' in line for line in by_database["1"])  # names confirmed as pairs
    with monkeypatch.context() as patch:  # the store: not one confirmation in the database
        for cls in (driver_module.Driver,):
            patch.setattr(cls, "confirm_digests", _refuse)
            patch.setattr(cls, "confirm_pairs", _refuse)
        patch.setattr(protected_module, "confirm_digests", _refuse)
        patch.setattr(protected_module, "confirm_pairs", _refuse)
        for jobs in ("1", "2"):
            result = run_cli(capsys, "scan", str(dump), "--format", "jsonl", "--no-store", "--jobs", jobs)
            assert result.code == 0, result.err
            assert result.out.splitlines() == by_database[jobs]
    files = list(workspace.glob("index-v8-*.bin"))
    assert len(files) == 1
    written = files[0].read_bytes()
    for _, name, phone, email in PEOPLE:  # keyed digests only
        for plain in (name, phone, phone.replace("-", ""), email):
            assert plain.encode() not in written
            assert plain.encode("utf-16-le") not in written
    # a damaged store (same length, same fingerprint): caught by its checksums, the database confirms,
    # the file goes and the next run writes it again
    data = bytearray(written)
    header = index_cache._read(files[0], _fingerprint(written))
    assert header is not None
    start = int(header[0][REST_FILE][1])  # where the flat rows begin in the file
    del header
    for at in range(start, min(len(data), start + 24 * 10_000), 24 * 64):
        data[at] ^= 0x5A
    files[0].write_bytes(bytes(data))
    result = run_cli(capsys, "scan", str(dump), "--format", "jsonl", "--no-store", "--jobs", "1")
    assert result.code == 0, result.err
    assert result.out.splitlines() == by_database["1"]
    assert "confirmation store is damaged" in caplog.text
    assert not files[0].exists()
    result = run_cli(capsys, "scan", str(dump), "--format", "jsonl", "--no-store", "--jobs", "1")
    assert result.out.splitlines() == by_database["1"]
    assert files[0].exists()


def _fingerprint(written: bytes) -> str:
    import json

    size = int.from_bytes(written[len(index_cache.MAGIC) : len(index_cache.MAGIC) + 8], "little")
    start = len(index_cache.MAGIC) + 8
    return str(json.loads(written[start : start + size])["fingerprint"])
