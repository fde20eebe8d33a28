"""config/datasette.yml: every table that could show identifiers, keys or evidence is denied, arbitrary
SQL is off, and the canned queries run on a real leakmon database without naming an identifier."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml

from storage.models import Base
from tests.leakmon.commands.seed import seed
from tests.leakmon.workflows.world import SECRET_VALUES, Db

CONFIG = Path(__file__).parents[3] / "config" / "datasette.yml"
#: Tables a team may browse: incident state, triage and takedown history, runs. Everything else is denied.
BROWSABLE = {"subjects", "incidents", "incident_posts", "post_scores", "hit_labels", "takedown_cases"}
BROWSABLE |= {"takedown_events", "runs", "findings"}


def _database() -> dict[str, Any]:
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    database: dict[str, Any] = config["databases"]["leakmon"]
    return database


def test_sensitive_tables_denied_and_sql_off() -> None:
    database = _database()
    assert database["allow_sql"] is False
    denied = {name for name, table in database["tables"].items() if table.get("allow") is False}
    assert {"protected_identifiers", "key_records", "hits", "posts", "attachments", "web_users"} <= denied
    # A table added later must be decided on: denied here or knowingly browsable.
    assert set(Base.metadata.tables) - denied <= BROWSABLE


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'leakmon.db'}"


def test_canned_queries_run(cli_db: Db, tmp_path: Path) -> None:
    s = seed(cli_db)
    queries = _database()["queries"]
    assert set(queries) == {"overdue_incidents", "new_hits_by_source_this_week", "affected_subjects_by_incident"}
    with sqlite3.connect(tmp_path / "leakmon.db") as connection:
        results = {
            name: connection.execute(query["sql"], {"incident_id": s.incident}).fetchall()
            for name, query in queries.items()
        }
        views = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'view'")}
    assert {"v_hits", "v_incidents", "v_affected_subjects"} <= views
    assert [row[0] for row in results["overdue_incidents"]] == [s.incident]  # seeded five days ago
    assert {row[0] for row in results["new_hits_by_source_this_week"]} == {"kr_db_market", "dark_forum", "ads_channel"}
    assert [row[0] for row in results["affected_subjects_by_incident"]] == [f"cust-{i:03d}" for i in range(5)]
    for rows in results.values():
        for secret in SECRET_VALUES:
            assert secret not in repr(rows)
