"""Every stored or printed string from a crawled source follows one redaction rule (issue 15 item 3).

A seller puts protected values (some of them obfuscated) in a post's author, id, URL, title and
file names, and in archive member names. After ingest through the real sink, a scan, and every
output that shows posts (hits, hits show, incidents show, export affected, MISP, STIX, takedown
draft), no plaintext form of any protected value is in any table, any workspace file or any
output, on SQLite and PostgreSQL; and the post still dedupes by its (referenced) id.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from crawlers.model import Attachment, CrawledPost
from leakmon.app import App
from leakmon.runtime import build_sink
from tests.leakmon.cli import run_cli
from tests.leakmon.test_protect_and_scan import _database_text

PEOPLE = (
    "subject_ref,name,phone,email,rrn\n"
    "cust-201,김서연,010-3141-5926,seoyeon.kim@naver.com,940309-2761951\n"
    "cust-202,이준호,010-2718-2818,junho.lee@kakao.com,\n"
)
#: Every plaintext form that must not appear anywhere.
PLAINTEXTS = [
    "010-3141-5926",
    "01031415926",
    "3141-5926",
    "seoyeon.kim@naver.com",
    "seoyeon.kim",
    "940309-2761951",
    "9403092761951",
    "2761951",
    "010-2718-2818",
    "01027182818",
    "junho.lee",
    "삼일사일",  # the Hangul digit words of 3141
    "②⑦①⑧",
]
LEAK_ROWS = "이름,전화번호,이메일\n김서연,010-3141-5926,seoyeon.kim@naver.com\n이준호,010-2718-2818,\n"


@pytest.fixture
def workspace(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LEAKMON_HOME", str(tmp_path / "ws"))
    monkeypatch.setenv("LEAKMON_DATABASE_URL", db_url)
    monkeypatch.delenv("LEAKMON_CONFIG", raising=False)
    monkeypatch.delenv("LEAKMON_HMAC_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "ws"


def _seller_post() -> CrawledPost:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(zipfile.ZipInfo("kim_010-3141-5926/users.csv"), LEAK_ROWS)  # fixed time: same bytes
        zf.writestr(zipfile.ZipInfo("junho.lee@kakao.com.bin"), b"\x00\x01\x02" * 400)  # a finding names it
    return CrawledPost(
        source="forum",
        external_id="post-940309-2761951",
        venue="forum",
        text="회원 디비 팝니다 샘플 첨부 문의 주세요",
        url="http://forum.test/t/1?contact=seoyeon.kim%40naver.com",
        title="디비 공일공 삼일사일 오구이육",
        author="판매자 ⓪①⓪-②⑦①⑧-②⑧①⑧",
        attachments=(
            Attachment(name="940309-2761951_list.csv", data=LEAK_ROWS.encode()),
            Attachment(name="samples_01027182818.zip", data=archive.getvalue()),
        ),
    )


def _telegram_post() -> CrawledPost:
    return CrawledPost(
        source="tg",
        external_id="-1001234567890/42",
        venue="telegram",
        text="샘플 김서연 010-3141-5926",
        url="https://t.me/c/1234567890/42",
    )


def test_no_plaintext_in_any_column_or_output(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], db_url: str
) -> None:
    (tmp_path / "people.csv").write_text(PEOPLE, encoding="utf-8")
    assert run_cli(capsys, "init").code == 0
    assert run_cli(capsys, "protect", "import", str(tmp_path / "people.csv")).code == 0
    (tmp_path / "people.csv").unlink()

    app = App()
    sink = build_sink(app)
    first = sink.ingest(_seller_post())
    assert first.new_hits >= 3
    assert sink.ingest(_seller_post()).status == "unchanged"  # the referenced id still dedupes
    telegram = sink.ingest(_telegram_post())
    assert sink.ingest(_telegram_post()).status == "unchanged"
    assert sink.record_removed("forum", "post-940309-2761951")
    assert not sink.record_removed("forum", "post-940309-2761951")  # found by its raw id, once
    app.close()

    outputs: list[str] = []
    scanned = tmp_path / "seoyeon.kim@naver.com"
    scanned.mkdir()
    (scanned / "940309-2761951_list.csv").write_text(LEAK_ROWS, encoding="utf-8")
    with zipfile.ZipFile(scanned / "dump.zip", "w") as zf:
        zf.writestr("010-2718-2818.bin", b"\x00\x01\x02" * 400)
    for fmt in ("jsonl", "table"):
        result = run_cli(capsys, "scan", str(scanned), "--format", fmt)
        assert result.code == 0, result.err
        outputs.append(result.out + result.err)
    assert "[redacted]" in outputs[0]  # the source field and the member name were there, masked

    hits = run_cli(capsys, "hits", "--format", "jsonl")
    outputs.append(hits.out + hits.err)
    rows = [json.loads(line) for line in hits.out.splitlines()]
    assert rows
    for row in rows[:3]:
        outputs.append(run_cli(capsys, "hits", "show", str(row["hit_id"])).out)
    incident = next(r["incident_id"] for r in rows if r.get("incident_id"))
    for argv in (
        ["incidents", "show", str(incident)],
        ["export", "affected", str(incident), "--format", "jsonl"],
        ["export", "incident", str(incident), "--format", "misp"],
        ["export", "incident", str(incident), "--format", "stix"],
        ["takedown", "open", str(first.post_id)],
        ["takedown", "open", str(telegram.post_id)],
        ["takedown", "draft", "1", "--to", "host"],
        ["takedown", "draft", "2", "--to", "telegram"],
    ):
        result = run_cli(capsys, *argv)
        assert result.code == 0, (argv, result.err)
        outputs.append(result.out + result.err)
    assert "https://t.me/c/1234567890/42" in outputs[-1]  # Telegram's own numeric ids are kept

    haystack = _database_text(db_url, workspace) + "\n".join(outputs).encode()
    for path in workspace.rglob("*"):
        if path.is_file():
            haystack += path.read_bytes()
    assert [value for value in PLAINTEXTS if value.encode() in haystack] == []
    assert b"-1001234567890/42" in haystack

    listed = run_cli(capsys, "audit", "list", "--limit", "100")
    assert listed.out.count("scan_output") == 2  # both scans named subjects: both audited
    verified = run_cli(capsys, "audit", "verify", "--head")
    assert verified.code == 0, verified.err
    assert "anchor: " in verified.out
