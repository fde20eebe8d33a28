"""`leakmon scan --jobs 1` and `--jobs 2` print and store the same hits, on every big-file format.

Big files go to worker processes (byte ranges for line files, reader blocks otherwise), which
confirm digests over their own database connections: the output and the stored rows must not
depend on the number of jobs, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

import crawlers.analyzer as analyzer_module
import crawlers.hitspool as hitspool_module
import crawlers.parallel as parallel_module
from tests.leakmon.cli import run_cli

PEOPLE = [
    ("cust-001", "김민수", "010-2345-6789", "minsu.kim@naver.com"),
    ("cust-002", "이영희", "010-8765-4321", "younghee@hanmail.net"),
    ("cust-003", "박지성", "011-456-7890", "jspark@gmail.com"),
]
ROWS = 600
SQL_HEAD = "CREATE TABLE members (\n  name varchar(20),\n  phone varchar(20),\n  email text\n);\n"
INSERT = "INSERT INTO members VALUES "


@pytest.fixture
def workspace(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "ws"
    monkeypatch.setenv("LEAKMON_HOME", str(home))
    monkeypatch.setenv("LEAKMON_DATABASE_URL", db_url)
    monkeypatch.delenv("LEAKMON_CONFIG", raising=False)
    monkeypatch.delenv("LEAKMON_HMAC_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(analyzer_module, "PARALLEL_MIN_BYTES", 1)  # every file is "big"
    monkeypatch.setattr(parallel_module, "PARALLEL_BLOCK", 2048)  # and has many ranges
    monkeypatch.setattr(hitspool_module, "BATCH_ROWS", 7)  # and many batches of hits
    return home


def _row(i: int) -> tuple[str, str, str]:
    if i % 29 == 4:
        _, name, phone, email = PEOPLE[i % 3]
        return name, phone if i % 2 else phone.replace("-", " "), email.upper() if i % 3 else email
    return f"홍길동{i}", f"010-{1000 + i % 9000:04d}-{i % 7000:04d}", f"user{i}@example.com"


def _files(folder: Path) -> dict[str, Path]:
    folder.mkdir()
    rows = [_row(i) for i in range(ROWS)]
    contents = {
        "users.csv": "이름,전화번호,이메일\n" + "".join(f"{n},{p},{e}\n" for n, p, e in rows),
        "users.tsv": "name\tphone\temail\n" + "".join(f"{n}\t{p}\t{e}\n" for n, p, e in rows),
        "users.jsonl": "".join(
            json.dumps({"name": n, "tel": p, "mail": e}, ensure_ascii=False) + "\n" for n, p, e in rows
        ),
        "users.sql": SQL_HEAD + "".join(f"{INSERT}('{n}','{p}','{e}');\n" for n, p, e in rows),
        "orders.txt": "".join(f"주문 {i} 고객 {n} 연락처 {p} 메일 {e}\n" for i, (n, p, e) in enumerate(rows)),
    }
    paths = {}
    for name, content in contents.items():
        paths[name] = folder / name
        paths[name].write_text(content, encoding="utf-8")
    return paths


def _stored(db_url: str, folder: str) -> list[tuple[object, ...]]:
    """The stored hits of the files scanned in ``folder`` (by file name; ids and times left out)."""
    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT p.external_id, p.title, h.locator, h.id_type, h.form, h.digest, h.subject_id, "
                "h.match_kind, h.obfuscation, h.confidence, h.masked, h.compatible_subjects, h.explanation "
                "FROM hits h JOIN posts p ON p.id = h.post_id"
            )
        ).all()
    engine.dispose()
    return sorted(
        tuple(bytes(v) if isinstance(v, memoryview) else v for v in row[1:]) for row in rows if f"/{folder}/" in row[0]
    )


def test_one_and_two_jobs_print_and_store_the_same_hits(
    workspace: Path, tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    protected = tmp_path / "p.csv"
    protected.write_text("subject_ref,name,phone,email\n" + "".join(",".join(p) + "\n" for p in PEOPLE))
    assert run_cli(capsys, "init").code == 0
    assert run_cli(capsys, "protect", "import", str(protected)).code == 0
    printed: dict[str, list[str]] = {}
    stored: dict[str, list[tuple[object, ...]]] = {}
    for jobs in ("1", "2"):
        folder = f"leaks{jobs}"  # the same files, stored as other posts
        files = _files(tmp_path / folder)
        for name, path in files.items():
            result = run_cli(capsys, "scan", str(path), "--format", "jsonl", "--no-store", "--jobs", jobs)
            assert result.code == 0, result.err
            printed[f"{name} no-store jobs {jobs}"] = [
                line.replace(folder, "leaks") for line in result.out.splitlines()
            ]
        result = run_cli(capsys, "scan", str(tmp_path / folder), "--format", "jsonl", "--jobs", jobs)
        assert result.code == 0, result.err
        printed[f"stored jobs {jobs}"] = [
            json.dumps({k: v for k, v in json.loads(line).items() if k not in ("hit_id", "post_id", "incident_id")})
            for line in result.out.replace(folder, "leaks").splitlines()
        ]
        stored[jobs] = _stored(db_url, folder)
    for name in files:
        one, two = printed[f"{name} no-store jobs 1"], printed[f"{name} no-store jobs 2"]
        assert len(one) >= 5, name  # one line per identity (subject, type, form)
        assert one == two, name
    assert printed["stored jobs 1"] == printed["stored jobs 2"]
    assert len(stored["1"]) >= 30
    assert stored["1"] == stored["2"]
    everything = "\n".join(line for lines in printed.values() for line in lines) + repr(stored)
    for _, _, phone, email in PEOPLE:
        assert phone not in everything
        assert email not in everything
        assert email.upper() not in everything


def test_two_jobs_store_hits_while_the_workers_still_match(
    workspace: Path, tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With --jobs 2 the parent upserts each batch of hits as it is cut, inside the file's one
    transaction, while ranges are still coming back from the workers (--jobs 1: after the file)."""
    import storage.repositories.hits as hits_module

    events: list[str] = []
    real_add = hitspool_module.HitSpool.add

    def add(self: hitspool_module.HitSpool, rows: object) -> None:
        events.append("matched")
        real_add(self, rows)  # type: ignore[arg-type]

    name = "_copy_batches" if db_url.startswith("postgresql") else "_executemany_batches"
    real_store = getattr(hits_module, name)

    def store(session: object, post_id: int, batches: object, now: object, **options: object) -> None:
        def noted() -> object:
            for batch in batches:  # type: ignore[attr-defined]
                events.append("stored")
                yield batch

        real_store(session, post_id, noted(), now, **options)

    monkeypatch.setattr(hitspool_module.HitSpool, "add", add)
    monkeypatch.setattr(hits_module, name, store)
    protected = tmp_path / "p.csv"
    protected.write_text("subject_ref,name,phone,email\n" + "".join(",".join(p) + "\n" for p in PEOPLE))
    assert run_cli(capsys, "init").code == 0
    assert run_cli(capsys, "protect", "import", str(protected)).code == 0
    files = _files(tmp_path / "leaks")
    order = {}
    for jobs in ("1", "2"):
        events.clear()
        result = run_cli(capsys, "scan", str(files["users.csv"]), "--format", "jsonl", "--jobs", jobs)
        assert result.code == 0, result.err
        assert events.count("stored") >= 5
        order[jobs] = events.index("stored") < len(events) - 1 - events[::-1].index("matched")
    assert order == {"1": False, "2": True}  # jobs 2: a batch stored before the last range came back


def test_a_scan_freezes_what_start_up_built_and_thaws_it_after(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The garbage collector skips start-up's objects while files are scanned (in the workers too),
    and walks them again once the command is done, also after an error: a caller that goes on
    running commands in this process (the tests) must not keep garbage frozen."""
    import leakmon.scan as scan_module

    seen: list[int] = []
    real = scan_module.scan_paths

    def spying(*args: object, **kwargs: object) -> object:
        seen.append(gc.get_freeze_count())
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(scan_module, "scan_paths", spying)
    protected = tmp_path / "p.csv"
    protected.write_text("subject_ref,name,phone,email\n" + "".join(",".join(p) + "\n" for p in PEOPLE))
    assert run_cli(capsys, "init").code == 0
    assert run_cli(capsys, "protect", "import", str(protected)).code == 0
    files = _files(tmp_path / "leaks")
    result = run_cli(capsys, "scan", str(files["users.csv"]), "--no-store", "--jobs", "2")
    assert result.code == 0, result.err
    missing = run_cli(capsys, "scan", str(tmp_path / "missing.csv"), "--no-store")
    assert missing.code != 0
    assert len(seen) == 2
    assert all(count > 0 for count in seen)
    assert gc.get_freeze_count() == 0


@pytest.mark.parametrize("name", ["users.csv", "010-2345-6789 leak.csv"], ids=["plain", "redacted name"])
def test_two_jobs_start_the_first_file_once_before_the_sink_is_built(
    workspace: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    """`scan FILE --jobs 2` starts the workers on FILE right after the matcher is built; the
    analyzer takes that scan over (one pool, not a second one) and prints what --jobs 1 prints."""
    import contextlib
    from collections.abc import Iterator
    from typing import Any

    forked: list[int] = []
    real = parallel_module._pool

    @contextlib.contextmanager
    def pool(*args: Any, **kwargs: Any) -> Iterator[Any]:
        forked.append(1)
        with real(*args, **kwargs) as started:
            yield started

    import leakmon.runtime as runtime_module

    at_sink: list[int] = []
    real_sink = runtime_module.build_sink

    def build_sink(*args: Any, **kwargs: Any) -> Any:
        at_sink.append(len(forked))
        return real_sink(*args, **kwargs)

    monkeypatch.setattr(parallel_module, "_pool", pool)
    monkeypatch.setattr(runtime_module, "build_sink", build_sink)
    protected = tmp_path / "p.csv"
    protected.write_text("subject_ref,name,phone,email\n" + "".join(",".join(p) + "\n" for p in PEOPLE))
    assert run_cli(capsys, "init").code == 0
    assert run_cli(capsys, "protect", "import", str(protected)).code == 0
    path = tmp_path / name
    path.write_bytes(_files(tmp_path / "leaks")["users.csv"].read_bytes())
    printed = {}
    for jobs in ("1", "2"):
        result = run_cli(capsys, "scan", str(path), "--format", "jsonl", "--no-store", "--jobs", jobs)
        assert result.code == 0, result.err
        printed[jobs] = result.out
    assert forked == [1]
    assert at_sink == [0, 1]  # --jobs 2: the workers were matching before the sink was built
    assert printed["1"] == printed["2"]
    assert printed["1"].count("\n") >= 5


def test_the_drivers_connection_is_closed_after_a_failed_scan(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key check, the index fingerprint and the confirmations read on the DB-API driver; its
    connection is closed when the scan ends, also when it fails (a file named that is missing)."""
    from storage.driver import Driver

    opened: list[Driver] = []
    real = Driver.snapshot

    def snapshot(self: Driver) -> object:
        opened.append(self)
        return real(self)

    monkeypatch.setattr(Driver, "snapshot", snapshot)
    protected = tmp_path / "p.csv"
    protected.write_text("subject_ref,name,phone,email\n" + "".join(",".join(p) + "\n" for p in PEOPLE))
    assert run_cli(capsys, "init").code == 0
    assert run_cli(capsys, "protect", "import", str(protected)).code == 0
    files = _files(tmp_path / "leaks")
    result = run_cli(capsys, "scan", str(files["users.csv"]), str(tmp_path / "missing.csv"), "--jobs", "2")
    assert result.code != 0
    assert "missing.csv" in result.err
    assert opened
    assert all(driver._connection is None for driver in opened)
