"""Migration respond_0005_cases: existing suppression rules take their subject and masked value
from the hit they were made from (so a key rotation keeps them), failed alerts count one attempt."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import text

from storage.db import make_engine
from storage.migrate import alembic_config, upgrade

NOW = "2026-11-20 09:00:00"


def test_rules_and_alerts_are_backfilled(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0004_cases")
    with engine.begin() as c:
        c.execute(text("INSERT INTO subjects (id, subject_ref, created_at) VALUES (7, 'cust-7', :t)"), {"t": NOW})
        c.execute(
            text(
                "INSERT INTO posts (id, source, external_id, venue, first_seen, last_seen, content_hash, versions,"
                " status, text_length, trade_terms, extra) VALUES (1, 'chan', '1', 'telegram', :t, :t, 'h', 1, 'ok',"
                " 0, '[]', '{}')"
            ),
            {"t": NOW},
        )
        c.execute(
            text(
                "INSERT INTO hits (id, post_id, source, locator, id_type, form, digest, key_id, subject_id,"
                " subject_slot, compatible_subjects, match_kind, obfuscation, confidence, masked, explanation,"
                " first_seen, last_seen) VALUES (3, 1, 'chan', 'text:line 1', 'phone', 'full', :d, 'k1', 7, 7, 1,"
                " 'exact', 'none', 0.9, '010-****-5432', '{}', :t, :t)"
            ),
            {"t": NOW, "d": b"\x01" * 32},
        )
        c.execute(
            text(
                "INSERT INTO suppression_rules (key_id, id_type, form, digest, source, note, actor, created_at,"
                " from_hit_id) VALUES ('k1', 'phone', 'full', :d, 'chan', 'shop line', 'alice', :t, 3)"
            ),
            {"t": NOW, "d": b"\x01" * 32},
        )
        c.execute(
            text("INSERT INTO alert_log (kind, text, created_at, status, results) VALUES ('new_incident', 'x', :t,"
                 " 'failed', '{}')"),
            {"t": NOW},
        )  # fmt: skip
    upgrade(engine)
    with engine.connect() as c:
        assert c.execute(text("SELECT subject_id, masked FROM suppression_rules")).one() == (7, "010-****-5432")
        assert c.execute(text("SELECT attempts, next_attempt_at FROM alert_log")).one() == (1, None)
    engine.dispose()
