"""A protected set whose HMAC key is not available stops every matching command before any work.

Without the key a matcher finds nothing, and a post it "analysed" would be recorded as unchanged
for good (issue 15 item 1): each command exits 3 with one sentence, stores no post, and a rerun
with the key finds every hit.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from storage.models.core import HitRecord, Post
from tests.crawlers.web.web_fakes import TEST_SETTINGS
from tests.crawlers.web.web_sites import FixtureSite, serve
from tests.leakmon.cli import CliResult, run_cli

ENV_KEY = "5a" * 32
OTHER_KEY = "a5" * 32
PEOPLE = "subject_ref,name,phone,email\ncust-101,김서연,010-3141-5926,seoyeon.kim@naver.com\n"
LEAK = "이름,전화번호,이메일\n김서연,010-3141-5926,seoyeon.kim@naver.com\n"


@pytest.fixture
def workspace(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LEAKMON_HOME", str(tmp_path / "ws"))
    monkeypatch.setenv("LEAKMON_DATABASE_URL", db_url)
    monkeypatch.delenv("LEAKMON_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "people.csv").write_text(PEOPLE, encoding="utf-8")
    (tmp_path / "leak.csv").write_text(LEAK, encoding="utf-8")
    return tmp_path


@pytest.fixture
def _leakmon_logging() -> Iterator[None]:
    """`run --once` installs leakmon's log handler on the root logger: take it away afterwards."""
    yield
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == "leakmon"]:
        root.removeHandler(handler)


def _import_under_env_key(capsys: pytest.CaptureFixture[str], workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEAKMON_HMAC_KEY", ENV_KEY)
    assert run_cli(capsys, "init").code == 0
    imported = run_cli(capsys, "protect", "import", str(workspace / "people.csv"))
    assert imported.code == 0, imported.err


def _counts(db_url: str) -> tuple[int, int]:
    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        posts = connection.scalar(select(func.count()).select_from(Post)) or 0
        hits = connection.scalar(select(func.count()).select_from(HitRecord)) or 0
    engine.dispose()
    return posts, hits


def _assert_refused(result: CliResult) -> None:
    assert result.code == 3, (result.code, result.out, result.err)
    assert "protected set is hashed under key" in result.err
    assert "nothing was matched or recorded" in result.err
    assert "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1


@pytest.mark.parametrize("env", [None, OTHER_KEY], ids=["env-key-absent", "env-key-different"])
def test_scan_without_the_key_stops_and_the_rerun_finds_every_hit(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], db_url: str, env: str | None
) -> None:
    _import_under_env_key(capsys, workspace, monkeypatch)
    if env is None:
        monkeypatch.delenv("LEAKMON_HMAC_KEY")
    else:
        monkeypatch.setenv("LEAKMON_HMAC_KEY", env)
    _assert_refused(run_cli(capsys, "scan", str(workspace / "leak.csv")))
    assert _counts(db_url) == (0, 0)
    monkeypatch.setenv("LEAKMON_HMAC_KEY", ENV_KEY)
    rerun = run_cli(capsys, "scan", str(workspace / "leak.csv"), "--format", "jsonl")
    assert rerun.code == 0, rerun.err
    assert {json.loads(line)["id_type"] for line in rerun.out.splitlines()} >= {"phone", "email"}


def test_telegram_import_without_the_key_stops_before_any_post(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], db_url: str
) -> None:
    _import_under_env_key(capsys, workspace, monkeypatch)
    monkeypatch.delenv("LEAKMON_HMAC_KEY")
    export = workspace / "ChatExport"
    export.mkdir()
    message = {"id": 1, "type": "message", "date": "2026-10-01T10:00:00", "text": "샘플 김서연 010-3141-5926"}
    root = {"name": "Shop", "type": "private_channel", "id": 4242, "messages": [message]}
    (export / "result.json").write_text(json.dumps(root), encoding="utf-8")
    _assert_refused(run_cli(capsys, "telegram", "import-export", str(export)))
    assert _counts(db_url) == (0, 0)
    monkeypatch.setenv("LEAKMON_HMAC_KEY", ENV_KEY)
    assert run_cli(capsys, "telegram", "import-export", str(export)).code == 0
    assert _counts(db_url)[1] >= 1


@pytest.mark.slow
@pytest.mark.usefixtures("_leakmon_logging")
def test_run_once_and_crawl_without_the_key_stop_and_the_rerun_matches_unchanged_pages(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], db_url: str
) -> None:
    from leakmon.commands import crawl as crawl_command

    monkeypatch.setattr(crawl_command, "EXTRA_SCRAPY_SETTINGS", TEST_SETTINGS)
    with serve(FixtureSite()) as site:
        site.add("/", '<html><body><a href="/t/1">db</a></body></html>', etag=True)
        site.add(
            "/t/1",
            '<html><body><div class="post" id="p1">회원 DB 샘플: 김서연 010-3141-5926</div></body></html>',
            etag=True,
        )
        config = workspace / "leakmon.toml"
        config.write_text(
            f'[sources.forum]\nkind = "forum"\nstart_urls = ["{site.url("/")}"]\ndepth = 1\n'
            "download_delay = 0\nautothrottle = false\nretries = 0\n"
            '[sources.forum.selectors]\npost = "div.post"\n',
            encoding="utf-8",
        )
        monkeypatch.setenv("LEAKMON_CONFIG", str(config))
        _import_under_env_key(capsys, workspace, monkeypatch)
        monkeypatch.delenv("LEAKMON_HMAC_KEY")
        _assert_refused(run_cli(capsys, "run", "--once", "--all"))
        _assert_refused(run_cli(capsys, "crawl", "forum"))
        assert _counts(db_url) == (0, 0)
        monkeypatch.setenv("LEAKMON_HMAC_KEY", ENV_KEY)
        rerun = run_cli(capsys, "run", "--once", "--all", "--format", "jsonl")
        assert rerun.code == 0, rerun.err
        posts, hits = _counts(db_url)
        assert posts >= 1
        assert hits >= 1  # the phone in the post: the page was matched, not skipped as unchanged


def test_import_under_another_key_is_refused_unless_it_replaces_the_set(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _import_under_env_key(capsys, workspace, monkeypatch)
    monkeypatch.delenv("LEAKMON_HMAC_KEY")
    _assert_refused(run_cli(capsys, "protect", "import", str(workspace / "people.csv")))
    replaced = run_cli(capsys, "protect", "import", str(workspace / "people.csv"), "--replace")
    assert replaced.code == 0, replaced.err
    scanned = run_cli(capsys, "scan", str(workspace / "leak.csv"), "--format", "jsonl")
    assert scanned.code == 0, scanned.err
    assert scanned.out.strip()
