"""storage.repositories.runs.mark_interrupted: which running rows never recorded their end, on both backends."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from storage.db import make_engine, make_sessionmaker, transaction
from storage.migrate import upgrade
from storage.models.core import Run
from storage.repositories.runs import STALE_AFTER, finish_run, mark_interrupted, run_owner, start_run


def test_only_runs_whose_owner_is_gone_or_unknown_and_old_are_marked(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    now = datetime.now(UTC)
    owners = {
        "mine_active": None,  # this process, in flight
        "mine_lost": None,  # this process, its end could not be recorded
        "alive": run_owner(alive.pid),  # another process of this host, still running
        "gone": run_owner(gone.pid),
        "reused": {**run_owner(alive.pid), "since": "1"},  # its pid now belongs to another process
        "other_host_new": {"host": "elsewhere", "pid": 1, "since": "1"},
        "other_host_old": {"host": "elsewhere", "pid": 1, "since": "1"},
        "no_owner_old": "",
    }
    try:
        ids: dict[str, int] = {}
        with transaction(sessions) as session:
            for name, owner in owners.items():
                run = start_run(session, name, "crawl")
                ids[name] = run.id
                if owner is not None:
                    run.stats = {"owner": owner} if owner else {}
                if name.endswith("_old"):
                    run.started_at = now - STALE_AFTER - timedelta(minutes=1)
            done = start_run(session, "done", "crawl").id
            finish_run(session, done, status="ok", stats={})
        with transaction(sessions) as session:
            marked = {run.source for run in mark_interrupted(session, active={ids["mine_active"]}, now=now)}
        assert marked == {"mine_lost", "gone", "reused", "other_host_old", "no_owner_old"}
        with sessions() as session:
            status: dict[str, str] = dict(session.execute(select(Run.source, Run.status)).all())  # type: ignore[arg-type]
        assert status["alive"] == status["mine_active"] == status["other_host_new"] == "running"
        assert status["gone"] == "interrupted"
        assert status["done"] == "ok"
        with transaction(sessions) as session:  # nothing left to mark: idempotent
            assert mark_interrupted(session, active={ids["mine_active"]}, now=now) == []
    finally:
        alive.kill()
        alive.wait()
        engine.dispose()
