"""SIGKILL in the middle of storing a big file, then a rerun: exactly what a clean run stores.

One file is one transaction (crawlers/ingest.py, docs/sizing.md): the killed run leaves nothing of
the file, the rerun reads it again. The kill is deterministic: a child process kills itself right
after the first bulk batch went into the open transaction.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from scripts.bench_massbreach import person
from storage.db import make_engine
from tests.leakmon.cli import run_cli

ROWS = 12_000
BATCH_ROWS = 3_000  # several bulk batches per file

_KILLER = """
import os, signal, sys
import crawlers.hitspool as spool
import storage.repositories.hits as hits
from leakmon.cli import main

spool.BATCH_ROWS = {batch}
real = hits._executemany_batches if "{dialect}" == "sqlite" else hits._copy_batches
name = "_executemany_batches" if "{dialect}" == "sqlite" else "_copy_batches"

def killing(session, post_id, batches, now):
    def first_then_die():
        for number, batch in enumerate(batches):
            if number == 1:
                session.flush()
                os.kill(os.getpid(), signal.SIGKILL)  # mid-transaction, one batch written
            yield batch
    real(session, post_id, first_then_die(), now)

setattr(hits, name, killing)
sys.exit(main(sys.argv[1:]))
"""


def _env(home: Path, db_url: str) -> dict[str, str]:
    env = {**os.environ, "LEAKMON_HOME": str(home), "LEAKMON_DATABASE_URL": db_url}
    for name in ("LEAKMON_CONFIG", "LEAKMON_HMAC_KEY"):
        env.pop(name, None)
    return env


def _stored(db_url: str) -> list[tuple[object, ...]]:
    engine = make_engine(db_url)
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT s.subject_ref, h.id_type, h.form, h.match_kind, h.locator, h.confidence "
                "FROM hits h LEFT JOIN subjects s ON s.id = h.subject_id"
            )
        ).all()
    engine.dispose()
    return sorted((tuple(row) for row in rows), key=repr)


@pytest.mark.slow
def test_sigkill_mid_file_then_rerun_stores_what_a_clean_run_stores(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "ws"
    for name, value in _env(home, db_url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("LEAKMON_CONFIG", raising=False)
    monkeypatch.delenv("LEAKMON_HMAC_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    protected = tmp_path / "protected.csv"
    protected.write_text(
        "subject_ref,name,phone,email\n" + "".join(",".join(person(i)[:4]) + "\n" for i in range(ROWS)),
        encoding="utf-8",
    )
    dump = tmp_path / "dump.csv"
    dump.write_text("이름,전화번호,이메일\n" + "".join(",".join(person(i)[1:4]) + "\n" for i in range(ROWS)))
    assert run_cli(capsys, "init").code == 0
    assert run_cli(capsys, "protect", "import", str(protected)).code == 0

    dialect = "postgresql" if db_url.startswith("postgresql") else "sqlite"
    script = _KILLER.format(batch=BATCH_ROWS, dialect=dialect)
    killed = subprocess.run(
        [sys.executable, "-c", script, "scan", str(dump), "--format", "jsonl", "--output", str(tmp_path / "k.jsonl")],
        env=_env(home, db_url),
        capture_output=True,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode(errors="replace")[-2000:]
    assert _stored(db_url) == []  # the open transaction died with the process

    rerun = run_cli(capsys, "scan", str(dump), "--format", "jsonl", "--output", str(tmp_path / "r.jsonl"))
    assert rerun.code == 0, rerun.err
    after_crash = _stored(db_url)
    assert len(after_crash) >= 2 * ROWS

    engine = make_engine(db_url)
    with engine.begin() as connection:  # a clean run of the same file
        connection.execute(text("DELETE FROM posts"))  # hits, scores, memberships cascade
    engine.dispose()
    clean = run_cli(capsys, "scan", str(dump), "--format", "jsonl", "--output", str(tmp_path / "c.jsonl"))
    assert clean.code == 0, clean.err
    assert _stored(db_url) == after_crash
