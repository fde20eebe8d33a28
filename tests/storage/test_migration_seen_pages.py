"""Migration privacy_0008_seen_pages_redacted: existing crawl state is kept and marked not redacted;
downgrade drops only the flag, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from storage.db import make_engine
from storage.migrate import alembic_config, upgrade

NOW = "2026-12-01 09:00:00"
ROW = (
    "INSERT INTO seen_pages (source, url_hash, url, depth, status, links, post_ids, first_seen, last_seen,"
    " last_changed) VALUES ('forum', :h, 'http://a.test/t?phone=01031415926', 0, 200, '[]', '[]', :t, :t, :t)"
)


def _to(db_url: str, target: str, *, down: bool = False) -> None:
    engine = make_engine(db_url)
    config = alembic_config(db_url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, target)
    engine.dispose()


def _columns(db_url: str) -> set[str]:
    engine = make_engine(db_url)
    names = {column["name"] for column in inspect(engine).get_columns("seen_pages")}
    engine.dispose()
    return names


def test_existing_pages_are_marked_not_redacted_and_downgrade_keeps_them(db_url: str) -> None:
    _to(db_url, "0002_crawl")
    engine = make_engine(db_url)
    with engine.begin() as c:
        c.execute(text(ROW), {"h": "a" * 64, "t": NOW})
    upgrade(engine)
    with engine.begin() as c:
        assert c.execute(text("SELECT url, redacted FROM seen_pages")).one() == (
            "http://a.test/t?phone=01031415926",
            False,
        )
        c.execute(text("UPDATE seen_pages SET redacted = :r"), {"r": True})
    engine.dispose()
    _to(db_url, "0002_crawl", down=True)
    assert "redacted" not in _columns(db_url)
    engine = make_engine(db_url)
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM seen_pages")).scalar() == 1
    upgrade(engine)
    engine.dispose()
    assert "redacted" in _columns(db_url)
