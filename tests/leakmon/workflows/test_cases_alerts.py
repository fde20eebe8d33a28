"""Alerts: queued on new incidents and confidence jumps, delivered to a local webhook and SMTP server."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from leakmon.errors import ConfigError
from leakmon.settings import Settings
from leakmon.workflows.alerts import alert_settings, deliver_pending
from storage.models.cases import AlertRecord
from storage.repositories.cases import incident_of_post
from tests.leakmon.workflows.receivers import smtp_receiver, webhook_receiver
from tests.leakmon.workflows.world import SECRET_VALUES, Db


def _settings(webhook_url: str, smtp_port: int) -> Settings:
    return Settings(
        alerts={
            "min_confidence": 0.3,
            "reference_url": "https://leakmon.internal/db",
            "webhooks": [{"name": "soc", "url": webhook_url}],
            "email": {
                "host": "127.0.0.1",
                "port": smtp_port,
                "sender": "leakmon@example.kr",
                "recipients": ["soc@example.kr"],
                "starttls": False,
            },
        }
    )


def test_new_incident_and_confidence_jump_reach_webhook_and_mail(db: Db) -> None:
    with webhook_receiver() as hook, smtp_receiver() as mailbox:
        settings = _settings(hook.url, mailbox.port)
        with db.world(settings) as w:
            post = w.post("chan_a", "1", trade_score=0.0)
            w.ingest(post, [w.hit(post, "u1", confidence=0.9), w.hit(post, "u2", confidence=0.9)])
        with db.world(settings) as w:
            w.leak("chan_a", "2", [f"u{i}" for i in range(1, 40)], file_sha="9" * 64, trade_score=0.9)
        with db.sessions() as session:
            kinds = [a.kind for a in session.scalars(select(AlertRecord).order_by(AlertRecord.id))]
        deliveries = deliver_pending(db.sessions, alert_settings(settings))
    assert kinds == ["new_incident", "confidence_jump"]
    assert [d.status for d in deliveries] == ["sent", "sent"]
    assert len(hook.bodies) == 2
    assert set(hook.bodies[0]) == {"text"}
    assert "new incident #1" in hook.bodies[0]["text"]
    assert "https://leakmon.internal/db/incidents/1" in hook.bodies[0]["text"]
    assert "39 subjects, 2 posts" in hook.bodies[1]["text"]
    assert len(mailbox.messages) == 2
    sender, recipients, content = mailbox.messages[0]
    assert "new incident #1" in content
    assert sender == "leakmon@example.kr"
    assert recipients == ["soc@example.kr"]
    for text in [b["text"] for b in hook.bodies] + [m[2] for m in mailbox.messages]:
        assert "u1" not in text.replace("#1", "")  # no subject references
        for secret in SECRET_VALUES:
            assert secret not in text
    with db.sessions() as session:
        assert {a.status for a in session.scalars(select(AlertRecord))} == {"sent"}


def test_small_rise_does_not_alert_again(db: Db) -> None:
    settings = Settings(alerts={"min_confidence": 0.3, "jump": 0.5})
    with db.world(settings) as w:
        post = w.post("chan_a", "1", trade_score=0.0)
        w.ingest(post, [w.hit(post, "u1", confidence=0.9), w.hit(post, "u2", confidence=0.9)])
        second = w.post("chan_a", "1b", trade_score=0.0, files=[("x.csv", "8" * 64)])
        w.ingest(
            second,
            [w.hit(second, "u1", "email", attachment_sha256="8" * 64), w.hit(second, "u2", attachment_sha256="8" * 64)],
        )
        assert incident_of_post(w.session, post.id) == incident_of_post(w.session, second.id)
    with db.sessions() as session:
        assert [a.kind for a in session.scalars(select(AlertRecord))] == ["new_incident"]


def test_failing_receiver_is_recorded_not_raised(db: Db) -> None:
    with webhook_receiver(status=500) as hook:
        settings = Settings(alerts={"min_confidence": 0.0, "webhooks": [{"url": hook.url}]})
        with db.world(settings) as w:
            w.leak("chan_a", "1", ["u1"])
        (delivery,) = deliver_pending(db.sessions, alert_settings(settings))
    assert delivery.status == "failed"
    assert delivery.results["webhook"] == "HTTP 500"


def test_bad_alert_settings_are_one_sentence() -> None:
    with pytest.raises(ConfigError, match=r"'url' in \[alerts.webhooks.0\]: Field required"):
        alert_settings(Settings(alerts={"webhooks": [{"name": "x"}]}))


def test_bad_alert_settings_do_not_stop_ingest(db: Db) -> None:
    with db.world(Settings(alerts={"webhooks": [{"name": "no url"}]})) as w:
        post = w.leak("chan_a", "1", ["u1", "u2"])
        assert incident_of_post(w.session, post.id) is not None
    with db.sessions() as session:
        assert list(session.scalars(select(AlertRecord))) == []


def test_failed_alert_is_retried_with_backoff_until_delivered(db: Db) -> None:
    """Issue 16 item 1: a failed alert (receiver down) is resent after its backoff, not left failed."""
    from datetime import UTC, datetime, timedelta

    t0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    with webhook_receiver(status=503) as hook:
        settings = Settings(
            alerts={"min_confidence": 0.0, "webhooks": [{"name": "soc", "url": hook.url}], "retry_seconds": 60}
        )
        with db.world(settings) as w:
            w.leak("chan_a", "1", ["u1"], types=("rrn",))
        policy = alert_settings(settings)
        (first,) = deliver_pending(db.sessions, policy, now=t0)
        assert first.status == "failed"
        assert first.retry_at == t0 + timedelta(seconds=60)
        assert deliver_pending(db.sessions, policy, now=t0 + timedelta(seconds=30)) == []  # backoff not over
        (second,) = deliver_pending(db.sessions, policy, now=t0 + timedelta(seconds=61))
        assert second.attempts == 2
        assert second.retry_at == t0 + timedelta(seconds=61 + 120)  # the wait doubles
        hook.status = 200
        (third,) = deliver_pending(db.sessions, policy, now=t0 + timedelta(seconds=200))
    assert third.status == "sent"
    assert len(hook.bodies) == 3
    assert "report required: yes" in hook.bodies[0]["text"]
    with db.sessions() as session:
        record = session.scalars(select(AlertRecord)).one()
        assert (record.status, record.attempts, record.next_attempt_at) == ("sent", 3, None)


def test_retries_are_capped_and_only_failed_channels_are_resent(db: Db) -> None:
    from datetime import UTC, datetime, timedelta

    from leakmon.workflows.alerts import describe, undelivered

    t0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    with webhook_receiver() as good, webhook_receiver(status=500) as bad:
        settings = Settings(
            alerts={
                "min_confidence": 0.0,
                "webhooks": [{"name": "good", "url": good.url}, {"name": "bad", "url": bad.url}],
                "max_attempts": 2,
            }
        )
        with db.world(settings) as w:
            w.leak("chan_a", "1", ["u1"])
        policy = alert_settings(settings)
        deliver_pending(db.sessions, policy, now=t0)
        (last,) = deliver_pending(db.sessions, policy, now=t0 + timedelta(days=1))
        assert deliver_pending(db.sessions, policy, now=t0 + timedelta(days=2)) == []  # gave up
    assert len(good.bodies) == 1  # the channel that took it is not spammed on retries
    assert len(bad.bodies) == 2
    assert last.gave_up
    assert "NOT delivered" in describe(last)
    assert "gave up after 2 attempts" in describe(last)
    with db.sessions() as session:
        assert [a.results for a in undelivered(session)] == [{"good": "ok", "bad": "HTTP 500"}]
