"""Tables into a pipe or a log: full-width plain rows, never cells folded a letter a line at 80 columns."""

from __future__ import annotations

import pytest

from tests.leakmon.cli import run_cli
from tests.leakmon.commands.seed import seed
from tests.leakmon.workflows.world import Db


def test_the_incident_table_in_a_pipe_is_one_line_per_incident(cli_db: Db, capsys: pytest.CaptureFixture[str]) -> None:
    s = seed(cli_db)
    result = run_cli(capsys, "incidents")  # capsys: stdout is not a terminal
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "incidents"
    assert lines[1].split()[:3] == ["incident_id", "status", "subjects"]
    rows = [line.split() for line in lines[3:] if line and not line.startswith("(")]
    assert {row[0] for row in rows} >= {str(s.incident), str(s.ad_incident)}
    assert not {"┃", "│"} & set(result.out)  # no rich box drawn into the pipe
    assert f"OVERDUE: incident(s) {s.incident} passed" in result.err
