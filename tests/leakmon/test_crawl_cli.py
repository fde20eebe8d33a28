"""`leakmon sources list` and `leakmon crawl` end to end, with the real ingest sink and matcher."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from storage.models.core import HitRecord, Post, Run
from tests.crawlers.web.web_fakes import TEST_SETTINGS
from tests.crawlers.web.web_sites import FixtureSite, serve
from tests.leakmon.cli import run_cli

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "sources.example.toml"
PEOPLE = "subject_ref,name,phone,email\ncust-101,김서연,010-3141-5926,seoyeon.kim@naver.com\n"


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LEAKMON_HOME", str(tmp_path / "ws"))
    monkeypatch.delenv("LEAKMON_DATABASE_URL", raising=False)
    monkeypatch.delenv("LEAKMON_HMAC_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _config(path: Path, body: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path.write_text(body, encoding="utf-8")
    monkeypatch.setenv("LEAKMON_CONFIG", str(path))


def test_sources_list_shows_the_documented_example(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LEAKMON_CONFIG", str(EXAMPLE))
    result = run_cli(capsys, "sources", "list", "--format", "jsonl")
    assert result.code == 0, result.err
    rows = {row["name"]: row for row in map(json.loads, result.out.splitlines())}
    assert {name: row["kind"] for name, row in rows.items()} == {
        "example_channel": "tme_preview",
        "example_forum": "forum",
        "example_onion": "site",
        "example_paste": "paste",
    }
    assert rows["example_onion"]["proxy"] is True
    table = run_cli(capsys, "sources", "list")
    assert table.code == 0
    assert "example_" in table.out  # the table wraps on narrow terminals


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('kind = "site"\nstart_urls = ["http://abcdefgh.onion/"]', ".onion hosts need a proxy"),
        ('kind = "site"\nstart_urls = ["http://a.test/"]\nobey_robots = false', "needs robots_override_reason"),
        ('kind = "blog"\nstart_urls = ["http://a.test/"]', "kind"),
        ('kind = "site"\nstart_urls = ["ftp://a.test/"]', "is not an http(s) URL"),
        ('kind = "site"\nstart_urls = ["http://a.test/"]\nschedule = "often"', "neither an interval"),
    ],
)
def test_an_invalid_source_is_one_sentence(
    workspace: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    table: str,
    message: str,
) -> None:
    _config(workspace / "bad.toml", f"[sources.bad]\n{table}\n", monkeypatch)
    result = run_cli(capsys, "sources", "list")
    assert result.code == 2
    assert result.err.startswith("leakmon: source 'bad'")
    assert message in result.err
    assert "Traceback" not in result.err


def test_crawl_of_an_unknown_source_exits_4(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _config(workspace / "c.toml", '[sources.real]\nkind = "site"\nstart_urls = ["http://a.test/"]\n', monkeypatch)
    result = run_cli(capsys, "crawl", "nope")
    assert result.code == 4
    assert "no web source named 'nope' (known: real)" in result.err


@pytest.mark.slow
def test_crawl_stores_hits_through_the_real_sink_and_recrawl_adds_none(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from leakmon.commands import crawl as crawl_command

    monkeypatch.setattr(crawl_command, "EXTRA_SCRAPY_SETTINGS", TEST_SETTINGS)
    with serve(FixtureSite()) as site:
        site.add("/", '<html><body><a href="/t/1">db</a></body></html>', etag=True)
        site.add(
            "/t/1",
            '<html><body><div class="post" id="p1">쿠팡 회원 DB 판매 샘플: 김서연 010-3141-5926 '
            '<a href="/f/sample.csv">sample.csv</a></div></body></html>',
            etag=True,
        )
        site.add("/f/sample.csv", "이름,이메일\n김서연,seoyeon.kim@naver.com\n".encode(), content_type="text/csv")
        _config(
            workspace / "leakmon.toml",
            f'[sources.forum]\nkind = "forum"\nstart_urls = ["{site.url("/")}"]\ndepth = 1\n'
            "download_delay = 0\nautothrottle = false\nretries = 0\n"
            '[sources.forum.selectors]\npost = "div.post"\n',
            monkeypatch,
        )
        (workspace / "people.csv").write_text(PEOPLE, encoding="utf-8")
        assert run_cli(capsys, "init").code == 0
        assert run_cli(capsys, "protect", "import", str(workspace / "people.csv")).code == 0
        first = run_cli(capsys, "crawl", "forum", "--format", "jsonl")
        assert first.code == 0, first.err
        [summary] = [json.loads(line) for line in first.out.splitlines()]
        assert summary["status"] == "ok"
        assert summary["posts"] == 1
        assert summary["attachments"] == 1
        assert summary["new_hits"] >= 2  # the phone in the text, the email in the CSV
        site.reset_log()
        second = run_cli(capsys, "crawl", "forum", "--format", "jsonl")
        assert second.code == 0, second.err
        [again] = [json.loads(line) for line in second.out.splitlines()]
        assert again["new_hits"] == 0
        assert again["not_modified"] == 2
        assert site.fetched() == []  # everything answered 304
    engine = create_engine(f"sqlite:///{workspace / 'ws' / 'leakmon.db'}")
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Post).where(Post.source == "forum")) == 1
        hits = session.scalars(select(HitRecord).where(HitRecord.source == "forum")).all()
        assert {h.id_type for h in hits} >= {"phone", "email"}
        runs = session.scalars(select(Run).where(Run.kind == "crawl").order_by(Run.id)).all()
        assert [r.status for r in runs] == ["ok", "ok"]
        assert runs[0].stats["new_hits"] == summary["new_hits"]
        # no plaintext protected value in any stored row we own
        rows = " ".join(str(r.stats) for r in runs) + " ".join(h.masked for h in hits)
        assert "3141-5926" not in rows
        assert "seoyeon.kim" not in rows
    engine.dispose()
