"""One scheduler per job store: a second one is refused with a clear sentence."""

from __future__ import annotations

import logging

import pytest

from leakmon.cli import main
from leakmon.scheduler import SchedulerBusy, SchedulerLock

from .conftest import Workspace, web_source


def test_a_second_lock_on_the_same_store_is_refused(workspace: Workspace) -> None:
    app = workspace.app()
    first = SchedulerLock(app.engine)
    first.acquire()
    try:
        with pytest.raises(SchedulerBusy, match="another leakmon scheduler already uses the job store") as caught:
            SchedulerLock(app.engine).acquire()
        assert caught.value.exit_code == 5
        assert "pid" in str(caught.value)
    finally:
        first.release()
    with SchedulerLock(app.engine):  # released: the next scheduler may start
        pass
    app.close()


def test_run_once_is_refused_while_a_scheduler_runs(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    app = workspace.app(sources=web_source("forum"))
    monkeypatch.setenv("LEAKMON_HOME", str(workspace.home))
    monkeypatch.setenv("LEAKMON_DATABASE_URL", workspace.db_url)
    try:
        with SchedulerLock(app.engine), pytest.raises(SystemExit) as exited:  # what a running `schedule` holds
            main(["run", "--once"])
    finally:
        app.close()
        root = logging.getLogger()
        for handler in [h for h in root.handlers if h.get_name() == "leakmon"]:
            root.removeHandler(handler)
    assert exited.value.code == 5
    assert "leakmon: another leakmon scheduler already uses the job store" in capsys.readouterr().err
