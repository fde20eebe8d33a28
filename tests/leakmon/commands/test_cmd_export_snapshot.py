"""`export affected` reads one snapshot without holding writers back: a scan storing hits on another
connection while the export is half written commits at once, and the export holds none of its rows."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from leakmon.commands import export
from storage.db import make_engine
from storage.models.core import identity_key
from tests.leakmon.cli import run_cli
from tests.leakmon.commands.seed import Seeded, seed
from tests.leakmon.workflows.world import Db

CaptureFixture = pytest.CaptureFixture[str]


def _store_elsewhere(db_url: str, post_id: int) -> None:
    """What a scan's store does, on its own connection: a write transaction that must not wait long."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                connection.exec_driver_sql("PRAGMA busy_timeout=300")  # locked: fail fast, not in 30 s
            else:
                connection.exec_driver_sql("SET lock_timeout = '300ms'")
            connection.commit()
            now = datetime.now(UTC)
            with connection.begin():
                subject = connection.execute(
                    text("INSERT INTO subjects (subject_ref, created_at) VALUES ('cust-late', :t) RETURNING id"),
                    {"t": now},
                ).scalar_one()
                connection.execute(
                    text(
                        "INSERT INTO hits (post_id, attachment_sha256, source, locator, id_type, form, digest, key_id,"
                        " subject_id, subject_slot, compatible_subjects, match_kind, obfuscation, confidence, masked,"
                        " explanation, first_seen, last_seen, identity_key) VALUES (:post, NULL, 'kr_db_market',"
                        " 'late:line 1', 'phone', 'full', :digest, 'k-test', :subject, :subject, 1, 'exact', 'none',"
                        " 0.95, '***', '{}', :t, :t, :key)"
                    ),
                    {
                        "post": post_id,
                        "digest": b"\x05" * 32,
                        "subject": subject,
                        "t": now,
                        "key": identity_key("phone", "full", b"\x05" * 32, subject),
                    },
                )
    finally:
        engine.dispose()


def test_a_store_commits_while_an_export_reads_and_the_export_is_one_snapshot(
    cli_db: Db, tmp_path: Path, capsys: CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded: Seeded = seed(cli_db)
    real = export.write_affected
    stored: list[bool] = []

    def writing(*args: Any, advance: Callable[[int], object], **kwargs: Any) -> int:
        def told(count: int) -> object:
            if not stored:  # the export is reading: its snapshot is taken, rows are out
                _store_elsewhere(cli_db.url, seeded.leak_post)  # raised "database is locked" before the fix
                stored.append(True)
            return advance(count)

        return real(*args, advance=told, **kwargs)

    monkeypatch.setattr(export, "write_affected", writing)
    out = tmp_path / "affected.csv"
    result = run_cli(capsys, "export", "affected", str(seeded.incident), "--output", str(out))
    assert result.code == 0, result.err
    assert stored == [True]
    refs = [row["subject_ref"] for row in csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig")))]
    assert refs == [f"cust-{i:03d}" for i in range(5)]  # the snapshot: the late hit is not in it
    with cli_db.engine.connect() as connection:
        late = connection.execute(text("SELECT count(*) FROM hits WHERE locator = 'late:line 1'")).scalar_one()
        audited = connection.execute(
            text("SELECT rows FROM audit_log WHERE action = 'export_affected' ORDER BY seq DESC")
        ).first()
    assert late == 1  # the store committed while the export was open
    assert audited is not None
    assert audited[0] == 5  # audited after the read, with the rows written
