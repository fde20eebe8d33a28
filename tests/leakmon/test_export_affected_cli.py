"""`leakmon export affected` end to end: no protected plaintext in any part of any output (every
member of the XLSX package, CSV, JSON lines, stdout, stderr); rows are staged and delivered only
after the audit entry is stored, so a refused audit leaves neither the file nor a staged part."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from leakmon.workflows import audit
from tests.leakmon.cli import run_cli
from tests.leakmon.test_privacy_sweep import LEAK_ROWS, PEOPLE, PLAINTEXTS
from tests.leakmon.test_protect_and_scan import workspace  # noqa: F401 - the CLI workspace fixture

CaptureFixture = pytest.CaptureFixture[str]


def _incident(capsys: CaptureFixture, tmp_path: Path) -> int:
    (tmp_path / "people.csv").write_text(PEOPLE, encoding="utf-8")
    (tmp_path / "leak.csv").write_text(LEAK_ROWS, encoding="utf-8")
    for argv in (("init",), ("protect", "import", "people.csv"), ("scan", "leak.csv", "--format", "jsonl")):
        result = run_cli(capsys, *argv)
        assert result.code == 0, result.err
    (tmp_path / "people.csv").unlink()
    listed = run_cli(capsys, "incidents", "--format", "jsonl").out.splitlines()
    return int(json.loads(listed[0])["incident_id"])


def _parts(path: Path) -> list[bytes]:
    """The file's bytes, and for an XLSX package every member's bytes, uncompressed."""
    if path.suffix != ".xlsx":
        return [path.read_bytes()]
    with zipfile.ZipFile(path) as package:
        return [package.read(name) for name in package.namelist()]


@pytest.mark.usefixtures("workspace")
def test_no_plaintext_in_any_part_of_any_export(tmp_path: Path, capsys: CaptureFixture) -> None:
    incident = _incident(capsys, tmp_path)
    outputs: list[bytes] = []
    for fmt in ("csv", "jsonl", "xlsx"):
        path = tmp_path / f"affected.{fmt}"
        result = run_cli(capsys, "export", "affected", str(incident), "--format", fmt, "--output", str(path))
        assert result.code == 0, result.err
        parts = _parts(path)
        assert any(b"cust-201" in part for part in parts), fmt  # the rows are there, by reference
        outputs += [*parts, result.out.encode(), result.err.encode()]
    for fmt in ("csv", "jsonl"):
        result = run_cli(capsys, "export", "affected", "--all", "--format", fmt)
        assert result.code == 0, result.err
        assert "cust-201" in result.out
        outputs += [result.out.encode(), result.err.encode()]
    assert len([p for p in outputs if p]) > 6
    assert [value for value in PLAINTEXTS if any(value.encode() in part for part in outputs)] == []
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # nothing staged left


@pytest.mark.usefixtures("workspace")
@pytest.mark.parametrize("to_file", [True, False], ids=["file", "stdout"])
def test_a_refused_audit_delivers_no_row(
    tmp_path: Path, capsys: CaptureFixture, monkeypatch: pytest.MonkeyPatch, to_file: bool
) -> None:
    incident = _incident(capsys, tmp_path)

    def refused(*_args: object, **_kwargs: object) -> None:
        raise OperationalError("INSERT INTO audit_log", {}, Exception("attempt to write a readonly database"))

    monkeypatch.setattr(audit, "record", refused)
    target = tmp_path / "out" / "affected.csv"
    target.parent.mkdir()
    argv = ["export", "affected", str(incident), "--format", "csv"] + (["--output", str(target)] if to_file else [])
    result = run_cli(capsys, *argv)
    assert result.code != 0
    assert "cust-20" not in result.out + result.err
    assert result.out == ""
    assert list(target.parent.iterdir()) == []  # neither the file nor its staged part
    spool = tmp_path / "ws" / "spool"
    assert [p for p in spool.rglob("*") if p.is_file() and p.name != ".lock"] == []
