"""Issue 15 item 6: a big attachment is spooled inside the workspace; a killed crawl's spool is removed."""

from __future__ import annotations

import secrets
import tempfile
import time
from pathlib import Path

import pytest
from conftest import FAST
from web_fakes import TEST_SETTINGS, KilledMidReadSinkFactory, RecordingSinkFactory, read_events
from web_sites import FixtureSite

from crawlers.web.config import SourceConfig
from crawlers.web.runner import CrawlJob, run_in_child

pytestmark = pytest.mark.slow


def _files_holding(marker: bytes, folder: Path, since: float) -> list[Path]:
    """Files under ``folder`` (two levels) changed since ``since`` whose bytes contain ``marker``."""
    found: list[Path] = []
    for path in [*folder.glob("*"), *folder.glob("*/*")]:
        try:
            if path.is_file() and not path.is_symlink() and path.stat().st_mtime >= since - 1:
                with path.open("rb") as handle:
                    if marker in handle.read(16 << 20):
                        found.append(path)
        except OSError:
            continue  # another process's file, gone or unreadable
    return found


def test_a_crawl_killed_mid_read_leaves_its_spool_in_the_workspace_and_the_rerun_removes_it(
    site: FixtureSite, crawl_db: str, tmp_path: Path
) -> None:
    marker = f"PLAINTEXT-{secrets.token_hex(8)}".encode()
    big = b"name,phone\n" + (b"kim," + marker + b"\n") * (9 * 2**20 // (len(marker) + 5))
    assert len(big) > 8 * 2**20  # over memory_attachment_bytes: it goes to disk
    site.add("/", '<html><body>dump <a href="/files/big.csv">big.csv</a></body></html>')
    site.add("/files/big.csv", big, content_type="text/csv")
    config = SourceConfig.model_validate({**FAST, "kind": "site", "start_urls": [site.url("/")], "depth": 0})
    root = tmp_path / "workspace" / "spool"
    job = CrawlJob(
        source="src",
        config=config,
        database_url=crawl_db,
        extra_settings=dict(TEST_SETTINGS),
        spool_dir=str(root),
    )
    started = time.time()
    killed = run_in_child(job, KilledMidReadSinkFactory(tmp_path / "events.jsonl"), timeout=60)
    assert killed.status == "failed"
    assert str(-9) in (killed.error or "")
    # The plaintext the killed crawl was reading is in the workspace spool (0700), nowhere in /tmp.
    assert oct(root.stat().st_mode & 0o777) == "0o700"
    [stale] = [folder for folder in root.iterdir() if folder.is_dir()]
    assert _files_holding(marker, stale, started)
    assert _files_holding(marker, Path(tempfile.gettempdir()), started) == []

    again = run_in_child(job, RecordingSinkFactory(tmp_path / "events.jsonl"), timeout=60)
    assert again.status == "ok", again
    [post] = read_events(tmp_path / "events.jsonl", "ingest")
    assert post["attachments"][0]["on_disk"]
    assert not stale.exists()
    assert list(root.iterdir()) == []  # this crawl's own spool was removed when it closed
