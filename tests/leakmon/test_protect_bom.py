"""`protect import` believes a byte order mark only when the bytes behind it agree (a lying BOM imports nothing)."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from storage.models.core import ProtectedIdentifier
from tests.leakmon.cli import run_cli

TEXT = "subject_ref,name,phone,email\ncust-1,김민수,010-2345-6789,minsu.kim@naver.com\ncust-2,이영희,010-8765-4321,\n"


@pytest.fixture
def workspace(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LEAKMON_HOME", str(tmp_path / "ws"))
    monkeypatch.setenv("LEAKMON_DATABASE_URL", db_url)
    monkeypatch.delenv("LEAKMON_CONFIG", raising=False)
    monkeypatch.delenv("LEAKMON_HMAC_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "ws"


def _stored(db_url: str) -> int:
    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        count = connection.scalar(select(func.count()).select_from(ProtectedIdentifier))
    engine.dispose()
    return int(count or 0)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("le_utf8.csv", codecs.BOM_UTF16_LE + TEXT.encode("utf-8")),
        ("be_utf8.csv", codecs.BOM_UTF16_BE + TEXT.encode("utf-8")),
        ("le_cp949.csv", codecs.BOM_UTF16_LE + TEXT.encode("cp949")),
        ("be_cp949_odd.csv", codecs.BOM_UTF16_BE + TEXT.encode("cp949") + b"x"),
        ("utf8_bom_cp949.csv", codecs.BOM_UTF8 + TEXT.encode("cp949")),
    ],
)
def test_a_lying_byte_order_mark_is_an_error_and_imports_nothing(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], db_url: str, name: str, data: bytes
) -> None:
    assert run_cli(capsys, "init").code == 0
    path = tmp_path / name
    path.write_bytes(data)
    result = run_cli(capsys, "protect", "import", str(path))
    assert result.code == 2, result.err
    assert "byte order mark" in result.err
    assert "re-save it as UTF-8 CSV" in result.err
    assert "Traceback" not in result.err
    assert "010-2345-6789" not in result.out + result.err
    assert _stored(db_url) == 0


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_a_true_utf16_file_still_imports(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], db_url: str, encoding: str
) -> None:
    assert run_cli(capsys, "init").code == 0
    path = tmp_path / "set.csv"
    bom = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}.get(encoding, b"")
    path.write_bytes(bom + TEXT.encode(encoding))
    result = run_cli(capsys, "protect", "import", str(path))
    assert result.code == 0, result.err
    assert _stored(db_url) > 0
    leak = tmp_path / "leak.txt"
    leak.write_text("판매 010-2345-6789\n", encoding="utf-8")
    scan = run_cli(capsys, "scan", str(leak), "--format", "jsonl", "--no-store")
    assert scan.code == 0, scan.err
    assert ("cust-1", "phone") in {(h["subject_ref"], h["id_type"]) for h in map(json.loads, scan.out.splitlines())}
