"""A read-only workspace: `scan --no-store` works and names nobody unaudited; `export affected` writes nothing.

The workspace is bind-mounted read-only inside a user and mount namespace (``unshare -rm``), as in
test_storage_failures.py. Before: `scan --no-store` failed on its spool folder inside the workspace
(after printing the table header), and `export affected` printed the CSV, rows included, before its
audit write failed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.leakmon.cli import run_cli

CaptureFixture = pytest.CaptureFixture[str]


def _read_only_namespaces() -> bool:
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-rm", "true"], capture_output=True, check=False).returncode == 0


def _in_read_only_workspace(workspace: Path, tmp: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    command = " ".join([sys.executable, "-m", "leakmon", *argv])
    return subprocess.run(
        ["unshare", "-rm", "sh", "-c", f"mount --bind -o ro {workspace} {workspace} && {command}"],
        capture_output=True, text=True, timeout=300, check=False, env={**os.environ, "TMPDIR": str(tmp)},
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.skipif(not _read_only_namespaces(), reason="user and mount namespaces are not available here")
def test_read_only_workspace_scan_no_store_and_export_affected(bare: Path, capsys: CaptureFixture) -> None:
    for argv in (("init",), ("protect", "import", "people.csv"), ("scan", "leak.csv")):
        result = run_cli(capsys, *argv)
        assert result.code == 0, result.err
    workspace = bare / ".leakmon"
    incident = json.loads(run_cli(capsys, "incidents", "--format", "jsonl").out.splitlines()[0])["incident_id"]
    before = sorted(str(p) for p in workspace.rglob("*"))
    system_tmp = bare / "system-tmp"
    system_tmp.mkdir()

    scan = _in_read_only_workspace(workspace, system_tmp, "scan", "leak.csv", "--no-store", "--format", "jsonl")
    assert scan.returncode == 0, scan.stderr
    hits = [json.loads(line) for line in scan.stdout.splitlines()]
    assert {(h["id_type"], h["masked"]) for h in hits} >= {("phone", "010-****-6789"), ("phone", "010-****-4321")}
    assert all(h["subject_ref"] is None for h in hits)  # no audit entry possible: nobody named
    assert "cust-00" not in scan.stdout + scan.stderr
    assert "subject references withheld" in scan.stderr
    # The spool went to a private folder in the system temp folder, and nothing was left in it.
    spools = list(system_tmp.iterdir())
    assert [p.name for p in spools] == [f"leakmon-spool-{os.getuid()}"]
    assert spools[0].stat().st_mode & 0o777 == 0o700
    assert [p for p in spools[0].rglob("*") if p.is_file()] == []

    for argv in (("export", "affected", str(incident)), ("export", "affected", str(incident), "--format", "jsonl")):
        export = _in_read_only_workspace(workspace, system_tmp, *argv)
        assert export.returncode == 8, export.stderr
        assert export.stdout == ""  # not even the header: the audit entry comes first
        assert export.stderr.startswith("leakmon: cannot write the database"), export.stderr
    target = bare / "affected.csv"
    export = _in_read_only_workspace(
        workspace, system_tmp, "export", "affected", str(incident), "--output", str(target)
    )
    assert export.returncode == 8, export.stderr
    assert not target.exists()
    assert sorted(str(p) for p in workspace.rglob("*")) == before

    # Writable again: the export is audited with the row count it then writes.
    export_ok = run_cli(capsys, "export", "affected", str(incident), "--format", "jsonl")
    assert export_ok.code == 0, export_ok.err
    rows = export_ok.out.splitlines()
    listed = run_cli(capsys, "audit", "list", "--limit", "100").out
    assert [line.split()[-1] for line in listed.splitlines() if "export_affected" in line] == [f"rows={len(rows)}"]
