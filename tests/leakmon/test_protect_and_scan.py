"""End to end through the CLI: init, protect import, scan; and the privacy check over everything.

After an import and a scan, no plaintext protected value may appear anywhere: not in any table of
the database, not in the workspace files, not in what the commands printed.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from tests.leakmon.cli import CliResult, run_cli

PEOPLE = [
    # subject_ref, name, phone, email, rrn
    ("cust-001", "김민수", "010-2345-6789", "minsu.kim@naver.com", "900101-1234567"),
    ("cust-002", "이영희", "010-8765-4321", "younghee@hanmail.net", "850505-2345678"),
    ("cust-003", "박지성", "011-456-7890", "jspark@gmail.com", ""),
    ("cust-004", "최수진", "010-5555-1212", "sujin@kakao.com", "030303-4123456"),
]


@pytest.fixture
def workspace(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "ws"
    monkeypatch.setenv("LEAKMON_HOME", str(home))
    monkeypatch.setenv("LEAKMON_DATABASE_URL", db_url)
    monkeypatch.delenv("LEAKMON_CONFIG", raising=False)
    monkeypatch.delenv("LEAKMON_HMAC_KEY", raising=False)
    monkeypatch.chdir(tmp_path)  # no config/leakmon.toml here: defaults only
    return home


def _protected_csv(path: Path) -> Path:
    lines = ["subject_ref,name,phone,email,rrn"] + [",".join(p) for p in PEOPLE]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _leak(tmp_path: Path) -> Path:
    leaks = tmp_path / "leaks"
    leaks.mkdir()
    (leaks / "sample.csv").write_text(
        "이름,전화번호,이메일\n"
        "김민수,010-2345-6789,someone@else.com\n"  # exact phone + composite name
        "홍길동,０１０－８７６５－４３２１,\n"  # full-width digits: exact phone of cust-002
        "아무개,010-0000-0000,YOUNGHEE@DAUM.NET\n",  # email, daum.net == hanmail.net
        encoding="utf-8",
    )
    (leaks / "ad.txt").write_text("실시간 디비 팝니다 문의 jspark (at) gmail (dot) com\n", encoding="utf-8")
    (leaks / "stranger.txt").write_text("김민수 010-9999-8888\n", encoding="utf-8")  # common name, other phone
    return leaks


def _setup(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> list[CliResult]:
    results = [run_cli(capsys, "init"), run_cli(capsys, "protect", "import", str(_protected_csv(tmp_path / "p.csv")))]
    assert [r.code for r in results] == [0, 0], [r.err for r in results]
    return results


def test_scan_finds_protected_subjects_however_disguised(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _setup(capsys, tmp_path)
    result = run_cli(capsys, "scan", str(_leak(tmp_path)), "--format", "jsonl")
    assert result.code == 0, result.err
    hits = [json.loads(line) for line in result.out.splitlines() if line.strip()]
    found = {(h["subject_ref"], h["id_type"], h["match_kind"]) for h in hits}
    assert ("cust-001", "phone", "exact") in found
    assert ("cust-001", "name", "composite") in found
    assert ("cust-002", "phone", "exact") in found
    assert ("cust-002", "email", "exact") in found
    assert ("cust-003", "email", "exact") in found
    full_width = next(h for h in hits if h["subject_ref"] == "cust-002" and h["id_type"] == "phone")
    assert "unicode_digits" in full_width["obfuscation"]
    assert full_width["locator"].endswith("sample.csv:row 3") or full_width["locator"].endswith("sample.csv:line 3")
    # a stranger who shares a common name is never a hit
    assert not [h for h in hits if h["source"].endswith("stranger.txt")]
    assert all(h["hit_id"] for h in hits)


def test_fail_on_hit_and_rescan_adds_nothing(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _setup(capsys, tmp_path)
    leaks = _leak(tmp_path)
    first = run_cli(capsys, "scan", str(leaks), "--format", "jsonl", "--fail-on-hit")
    assert first.code == 1
    second = run_cli(capsys, "scan", str(leaks), "--format", "jsonl")
    assert second.code == 0
    ids_first = sorted(json.loads(line)["hit_id"] for line in first.out.splitlines())
    ids_second = sorted(json.loads(line)["hit_id"] for line in second.out.splitlines())
    assert ids_first == ids_second
    clean = run_cli(capsys, "scan", str(leaks / "stranger.txt"), "--fail-on-hit")
    assert clean.code == 0


def test_reimport_is_idempotent_and_invalid_values_are_not_echoed(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _setup(capsys, tmp_path)
    again = run_cli(capsys, "protect", "import", str(tmp_path / "p.csv"))
    assert again.code == 0
    assert "stored: 0 new digests, 0 new subjects" in again.out
    bad = tmp_path / "bad.csv"
    bad.write_text("subject_ref,phone,email\ncust-9,12-34,not-an-email-SECRET\n", encoding="utf-8")
    result = run_cli(capsys, "protect", "import", str(bad))
    assert result.code == 0
    assert "row 2: phone" in result.err
    assert "row 2: email" in result.err
    assert "SECRET" not in result.out + result.err
    assert "12-34" not in result.out + result.err


def test_import_with_worker_processes_stores_the_same_digests(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(capsys, "init").code == 0
    parallel = run_cli(capsys, "protect", "import", str(_protected_csv(tmp_path / "p.csv")), "--jobs", "2")
    assert parallel.code == 0, parallel.err
    assert "stored: 0 new digests" not in parallel.out
    serial = run_cli(capsys, "protect", "import", str(tmp_path / "p.csv"), "--jobs", "1")
    assert "stored: 0 new digests, 0 new subjects" in serial.out  # the workers' digests were the right ones


def test_input_errors_are_one_sentence_and_an_exit_code(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(capsys, "protect", "stats").code == 2  # not initialised
    _setup(capsys, tmp_path)
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("subject_ref,phone,shoe_size\nu1,010-1111-2222,270\n", encoding="utf-8")
    result = run_cli(capsys, "protect", "import", str(unknown))
    assert result.code == 2
    assert "unmapped columns: 'shoe_size'" in result.err
    assert "Traceback" not in result.err
    missing = run_cli(capsys, "scan", str(tmp_path / "nope.csv"))
    assert missing.code == 2
    assert "does not exist" in missing.err


def test_missing_key_file_is_a_clear_error(workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _setup(capsys, tmp_path)
    (workspace / "keys.json").unlink()
    result = run_cli(capsys, "scan", str(_leak(tmp_path)))
    assert result.code == 3
    assert "key file" in result.err


def _plaintexts() -> list[str]:
    values: list[str] = []
    for _, name, phone, email, rrn in PEOPLE:
        values += [name, phone, phone.replace("-", ""), email, email.split("@")[0]]
        if rrn:
            values += [rrn, rrn.replace("-", "")]
    return values


def _database_text(db_url: str, workspace: Path) -> bytes:
    """Every table's rows and the raw database files.

    The SQLite file is where ``db_url`` says (the ``db_url`` fixture puts it beside the workspace,
    not in it): reading ``workspace / "leakmon.db"`` opened a new, empty database and checked nothing.
    """
    if db_url.startswith("sqlite"):
        database = Path(db_url.removeprefix("sqlite:///"))
        assert database.is_file(), database
        blobs = b""
        for path in database.parent.glob(f"{database.name}*"):
            blobs += path.read_bytes()
        db = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        for (sql,) in db.execute("select sql from sqlite_master where sql is not null"):
            blobs += sql.encode()
        for (table,) in db.execute("select name from sqlite_master where type='table'"):
            for row in db.execute(f'select * from "{table}"'):  # noqa: S608 - names from the catalogue
                blobs += repr(row).encode()
        return blobs
    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://"))
    dump = []
    with engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            for row in connection.execute(text(f'select * from "{table}"')):  # noqa: S608
                dump.append(repr(tuple(row)))
    engine.dispose()
    return "\n".join(dump).encode()


def test_no_plaintext_protected_identifier_anywhere(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], db_url: str
) -> None:
    outputs = [r.out + r.err for r in _setup(capsys, tmp_path)]
    (tmp_path / "p.csv").unlink()  # the company file is the only place plaintext may live
    leaks = _leak(tmp_path)
    for fmt in ("jsonl", "csv", "table"):
        result = run_cli(capsys, "scan", str(leaks), "--format", fmt)
        outputs.append(result.out + result.err)
    outputs.append(run_cli(capsys, "protect", "stats").out)
    haystack = _database_text(db_url, workspace) + "\n".join(outputs).encode()
    for path in workspace.rglob("*"):
        if path.is_file():
            haystack += path.read_bytes()
    leaked_values = [v for v in _plaintexts() if v.encode() in haystack]
    assert leaked_values == []


def _scan_refs(capsys: pytest.CaptureFixture[str], leaks: Path) -> set[tuple[str, str]]:
    result = run_cli(capsys, "scan", str(leaks), "--format", "jsonl", "--no-store")
    assert result.code == 0, result.err
    return {(h["subject_ref"], h["id_type"]) for h in map(json.loads, result.out.splitlines()) if h["subject_ref"]}


def test_hashed_file_from_a_secure_zone_imports_the_same_set(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(capsys, "init").code == 0
    hashed = tmp_path / "hashed.csv"
    made = run_cli(capsys, "protect", "hash", str(_protected_csv(tmp_path / "p.csv")), "--output", str(hashed))
    assert made.code == 0, made.err
    content = hashed.read_text()
    assert all(value not in content for value in _plaintexts())
    imported = run_cli(capsys, "protect", "import", str(hashed), "--hashed")
    assert imported.code == 0, imported.err
    refs = _scan_refs(capsys, _leak(tmp_path))
    assert {("cust-001", "phone"), ("cust-002", "email"), ("cust-003", "email")} <= refs


def test_replace_swaps_the_set(workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _setup(capsys, tmp_path)
    smaller = tmp_path / "smaller.csv"
    smaller.write_text("subject_ref,phone\ncust-002,010-8765-4321\n", encoding="utf-8")
    result = run_cli(capsys, "protect", "import", str(smaller), "--replace")
    assert result.code == 0, result.err
    refs = _scan_refs(capsys, _leak(tmp_path))
    assert refs == {("cust-002", "phone")}


def test_key_rotation_rehashes_the_set_and_retires_the_old_key(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _setup(capsys, tmp_path)
    before = json.loads((workspace / "keys.json").read_text())["hmac"]["active"]
    rotated = run_cli(capsys, "keys", "rotate", "--source", str(tmp_path / "p.csv"))
    assert rotated.code == 0, rotated.err
    ring = json.loads((workspace / "keys.json").read_text())["hmac"]
    assert ring["active"] != before
    assert before not in ring["keys"]
    listing = run_cli(capsys, "keys", "list", "--format", "jsonl")
    assert all(ring["keys"][ring["active"]] not in line for line in listing.out.splitlines())
    stats = run_cli(capsys, "protect", "stats", "--format", "jsonl")
    assert {json.loads(line)["key_id"] for line in stats.out.splitlines()} == {ring["active"]}
    assert ("cust-001", "phone") in _scan_refs(capsys, _leak(tmp_path))


def test_partial_forms_can_be_switched_off(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEAKMON_IDENTIFIERS__PARTIAL_FORMS", "false")
    _setup(capsys, tmp_path)
    stats = run_cli(capsys, "protect", "stats", "--format", "jsonl")
    forms = {json.loads(line)["form"] for line in stats.out.splitlines()}
    assert forms == {"full"}
    masked = tmp_path / "masked.txt"
    masked.write_text("010-****-6789 김민수 010-2345-6789\n", encoding="utf-8")
    result = run_cli(capsys, "scan", str(masked), "--format", "jsonl", "--no-store")
    kinds = sorted(json.loads(line)["match_kind"] for line in result.out.splitlines())
    assert kinds == ["composite", "exact"]  # the masked number is no longer partial evidence


def _ring(workspace: Path) -> dict[str, object]:
    ring: dict[str, object] = json.loads((workspace / "keys.json").read_text())["hmac"]
    return ring


def test_key_rotation_refuses_to_shrink_and_takes_a_mapping_per_file(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 16 item 3: a file left out of rotate no longer silently stops matching."""
    _setup(capsys, tmp_path)
    other = tmp_path / "crm.csv"
    other.write_text("CUSTNO,휴대폰\ncust-005,010-3141-5926\n", encoding="utf-8")
    imported = run_cli(
        capsys, "protect", "import", str(other), "--subject-column", "CUSTNO", "--column", "휴대폰=phone"
    )
    assert imported.code == 0, imported.err
    before = _ring(workspace)
    shrunk = run_cli(capsys, "keys", "rotate", "--source", str(tmp_path / "p.csv"))
    assert shrunk.code == 2
    assert "--allow-shrink" in shrunk.err
    assert _ring(workspace) == before  # no inactive key left behind
    broken = run_cli(capsys, "keys", "rotate", "--source", f"{other}::subject_column=nosuch")
    assert broken.code == 2
    assert _ring(workspace) == before
    rotated = run_cli(
        capsys,
        "keys",
        "rotate",
        "--source",
        str(tmp_path / "p.csv"),
        "--source",
        f"{other}::subject_column=CUSTNO;휴대폰=phone",
    )
    assert rotated.code == 0, rotated.err
    assert _ring(workspace)["active"] != before["active"]
    leak = tmp_path / "leak5.txt"
    leak.write_text("연락처 010-3141-5926\n", encoding="utf-8")
    result = run_cli(capsys, "scan", str(leak), "--format", "jsonl", "--no-store")
    assert {json.loads(line)["subject_ref"] for line in result.out.splitlines()} == {"cust-005"}
    smaller = run_cli(capsys, "keys", "rotate", "--source", str(tmp_path / "p.csv"), "--allow-shrink")
    assert smaller.code == 0, smaller.err


def test_jobs_above_the_cpu_count_are_refused_before_any_work(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from leakmon.settings import MAX_JOBS

    assert (os.cpu_count() or 1) == MAX_JOBS
    _setup(capsys, tmp_path)
    too_many = str(MAX_JOBS + 38)
    leaks = str(_leak(tmp_path))
    for argv in (("scan", leaks), ("protect", "import", str(tmp_path / "p.csv"))):
        result = run_cli(capsys, *argv, "--jobs", too_many)
        assert result.code == 2
        assert "--jobs" in result.err
        assert str(MAX_JOBS) in result.err  # the bound is named
    monkeypatch.setenv("LEAKMON_SCAN__JOBS", too_many)
    configured = run_cli(capsys, "scan", leaks)
    assert configured.code != 0
    assert "jobs" in configured.err
