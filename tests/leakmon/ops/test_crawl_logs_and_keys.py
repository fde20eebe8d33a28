"""`leakmon crawl` logs are redacted; `keys list` shows the HMAC key LEAKMON_HMAC_KEY puts in use."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from matchers.keyed_hash import key_id_for
from tests.crawlers.web.web_sites import FixtureSite, serve
from tests.leakmon.cli import run_cli

RRN = "900101-1234567"
PHONE = "01023456789"


@pytest.mark.slow
def test_crawl_warnings_are_redacted(bare: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A linked page whose URL carries a phone and an RRN answers 500: Scrapy and the spider warn about it.

    The crawl runs as its own process: a forkserver started earlier in this test process would
    write the child's stderr where no capture sees it.
    """
    leaky = f"/member?tel={PHONE}&rrn={RRN}"
    with serve(FixtureSite()) as site:
        site.add("/", f'<html><body><a href="{leaky}">member</a></body></html>')
        site.add(leaky, "boom", status=500)
        (bare / "leakmon.toml").write_text(
            f'[sources.forum]\nkind = "site"\nstart_urls = ["{site.url("/")}"]\ndepth = 1\n'
            "download_delay = 0\nautothrottle = false\nretries = 1\n",
            encoding="utf-8",
        )
        assert run_cli(capsys, "init").code == 0
        result = subprocess.run(
            [sys.executable, "-m", "leakmon", "crawl", "forum", "--format", "jsonl"],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert any(PHONE in path for path in site.fetched(status=None))  # the page was requested
    [summary] = [json.loads(line) for line in result.stdout.splitlines()]
    assert summary["errors"] >= 1, result.stderr
    for secret in (RRN, PHONE, "2345-6789", "1234567"):
        assert secret not in result.stderr
        assert secret not in result.stdout
    assert "[redacted]" in result.stderr  # the warning is still there, with the value masked


def test_keys_list_shows_the_environment_key_in_use(
    bare: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(capsys, "init").code == 0
    before = [json.loads(line) for line in run_cli(capsys, "keys", "list", "--format", "jsonl").out.splitlines()]
    [file_hmac] = [row for row in before if row["purpose"] == "hmac"]
    assert file_hmac["active"] is True
    assert file_hmac["from"] == "key file"

    key = os.urandom(32)
    monkeypatch.setenv("LEAKMON_HMAC_KEY", key.hex())
    listed = run_cli(capsys, "keys", "list", "--format", "jsonl")
    assert listed.code == 0, listed.err
    rows = [json.loads(line) for line in listed.out.splitlines()]
    hmac_rows = {row["key_id"]: row for row in rows if row["purpose"] == "hmac"}
    assert hmac_rows[key_id_for(key)] == {
        "purpose": "hmac",
        "key_id": key_id_for(key),
        "active": True,
        "from": "LEAKMON_HMAC_KEY",
    }
    assert hmac_rows[file_hmac["key_id"]]["active"] is False  # the key file's key is not the one in use
    assert key.hex() not in listed.out
    assert [row["purpose"] for row in rows if row["active"]].count("hmac") == 1
