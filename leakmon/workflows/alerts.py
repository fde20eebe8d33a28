"""Alerts on new incidents and confidence jumps: a webhook (Slack/Mattermost JSON) and e-mail (SMTP).

Ingest only *queues* an alert (``alert_log``, status ``pending``) inside its transaction; delivery
happens after commit (``deliver_pending``, run by ``leakmon incidents alert`` or the scheduler), so a
slow receiver never holds the database write lock. A failed alert is retried with exponential
backoff (``retry_seconds`` doubling per attempt, at most ``retry_max_seconds``), only to the channels
that have not taken it yet, until ``max_attempts`` deliveries were tried; it then stays ``failed``
and ``leakmon status`` lists it as undelivered. Messages carry counts and a reference, never a
title, a value or a digest. The webhook is one JSON POST through stdlib ``urllib`` (the payload is
fixed, so apprise's URL schemes would add nothing here); e-mail uses ``smtplib`` + ``EmailMessage``.
"""

from __future__ import annotations

import json
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from leakmon.settings import Settings, invalid_section
from storage.models.cases import AlertRecord, Incident


class WebhookChannel(BaseModel):
    """A Slack- or Mattermost-style incoming webhook (POST ``{"text": ...}``)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field("webhook", description="Name shown in the alert log for this channel.")
    url: SecretStr = Field(description="Incoming-webhook URL (a secret: it lets anyone post).")
    timeout_seconds: float = Field(10.0, gt=0, description="Give up on the receiver after this long.")


class EmailChannel(BaseModel):
    """An SMTP relay and the responders to write to."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(description="SMTP server host name.")
    port: int = Field(587, ge=1, le=65535, description="SMTP server port.")
    sender: str = Field(description="From address of alert mails.")
    recipients: list[str] = Field(min_length=1, description="Responder addresses alerts go to.")
    starttls: bool = Field(True, description="Upgrade the connection with STARTTLS before sending.")
    username: str | None = Field(None, description="SMTP login, if the relay needs one.")
    password: SecretStr | None = Field(None, description="SMTP password (prefer the environment).")
    timeout_seconds: float = Field(10.0, gt=0, description="Give up on the server after this long.")


class AlertSettings(BaseModel):
    """The ``[alerts]`` section."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="Queue alerts at all.")
    min_confidence: float = Field(0.5, ge=0, le=1, description="Incidents below this confidence do not alert.")
    jump: float = Field(
        0.2, gt=0, le=1, description="Alert again when an incident's confidence rose by this much since the last alert."
    )
    reference_url: str | None = Field(
        None, description="Base URL of the analysts' view (e.g. Datasette); alerts link <url>/incidents/<id>."
    )
    webhooks: list[WebhookChannel] = Field(default_factory=list, description="Webhook receivers.")
    email: EmailChannel | None = Field(None, description="E-mail receiver.")
    max_attempts: int = Field(8, ge=1, le=100, description="Deliveries tried per alert before giving up.")
    retry_seconds: float = Field(60.0, gt=0, description="Wait before the first retry of a failed alert (doubles).")
    retry_max_seconds: float = Field(6 * 3600.0, gt=0, description="Longest wait between two retries.")

    @property
    def has_channel(self) -> bool:
        return bool(self.webhooks or self.email)

    def backoff(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed delivery."""
        seconds = self.retry_seconds * 2 ** max(0, min(attempts - 1, 30))
        return timedelta(seconds=min(seconds, self.retry_max_seconds))


def alert_settings(settings: Settings) -> AlertSettings:
    """Validate the free-form ``[alerts]`` section."""
    try:
        return AlertSettings.model_validate(settings.alerts)
    except ValidationError as exc:
        raise invalid_section(exc, "alerts") from None


def alert_text(incident: Incident, kind: str, reference_url: str | None) -> str:
    """Counts and a reference only."""
    head = "new incident" if kind == "new_incident" else "incident confidence rose"
    deadline = incident.notify_deadline.strftime("%Y-%m-%d %H:%M UTC") if incident.notify_deadline else "not started"
    reference = (
        f"{reference_url.rstrip('/')}/incidents/{incident.id}"
        if reference_url
        else f"leakmon incidents show {incident.id}"
    )
    return (
        f"leakmon: {head} #{incident.id}: {incident.subject_count} subjects, {incident.post_count} posts, "
        f"types {incident.id_types or '-'}, confidence {incident.confidence:.2f}, "
        f"report required: {'yes' if incident.report_required else 'no'}, notify by: {deadline}. {reference}"
    )


def queue_alerts(
    session: Session, incident: Incident, settings: AlertSettings, now: datetime | None = None
) -> str | None:
    """Queue a new-incident or confidence-jump alert when due; returns the kind queued."""
    if not settings.enabled or incident.confidence < settings.min_confidence:
        return None
    if incident.alerted_confidence is None:
        kind = "new_incident"
    elif incident.confidence - incident.alerted_confidence >= settings.jump - 1e-9:
        kind = "confidence_jump"
    else:
        return None
    incident.alerted_confidence = incident.confidence
    session.add(
        AlertRecord(
            incident_id=incident.id,
            kind=kind,
            text=alert_text(incident, kind, settings.reference_url),
            created_at=now or datetime.now(UTC),
            status="pending",
            results={},
        )
    )
    return kind


@dataclass(frozen=True, slots=True)
class Delivery:
    """One delivery attempt of one alert: ``sent``, or ``failed`` with the next retry (None: gave up)."""

    alert_id: int
    status: str
    results: dict[str, str]
    attempts: int = 1
    retry_at: datetime | None = None

    @property
    def gave_up(self) -> bool:
        return self.status != "sent" and self.retry_at is None


def describe(delivery: Delivery) -> str:
    """One honest line: sent, failed and retried when, or failed for good."""
    channels = ", ".join(f"{name}: {result}" for name, result in delivery.results.items())
    if delivery.status == "sent":
        return f"alert {delivery.alert_id} sent ({channels})"
    if delivery.retry_at is not None:
        when = delivery.retry_at.strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"alert {delivery.alert_id} NOT delivered ({channels}); attempt {delivery.attempts}, retry at {when}"
    return f"alert {delivery.alert_id} NOT delivered ({channels}); gave up after {delivery.attempts} attempts"


def due_alerts(session: Session, settings: AlertSettings, now: datetime) -> list[AlertRecord]:
    """Pending alerts, and failed ones whose backoff has passed and attempts are left."""
    retry_due = (
        (AlertRecord.status == "failed")
        & (AlertRecord.attempts < settings.max_attempts)
        & (AlertRecord.next_attempt_at.is_(None) | (AlertRecord.next_attempt_at <= now))
    )
    statement = select(AlertRecord).where(or_(AlertRecord.status == "pending", retry_due)).order_by(AlertRecord.id)
    return list(session.scalars(statement))


def undelivered(session: Session) -> list[AlertRecord]:
    """Alerts not (yet) taken by every channel: pending, or failed (retrying or given up)."""
    statement = select(AlertRecord).where(AlertRecord.status != "sent").order_by(AlertRecord.id)
    return list(session.scalars(statement))


def deliver_pending(
    sessions: sessionmaker[Session], settings: AlertSettings, now: datetime | None = None
) -> list[Delivery]:
    """Send every due alert to the channels that have not taken it, outside any transaction.

    Records per alert the outcome per channel, the attempt count and, after a failure, when it is
    retried (none once ``max_attempts`` were tried).
    """
    now = now or datetime.now(UTC)
    with sessions() as session:
        due = [(a.id, a.text, dict(a.results or {}), a.attempts) for a in due_alerts(session, settings, now)]
    deliveries = []
    for alert_id, text, before, attempts in due:
        done = {name for name, result in before.items() if result == "ok"}
        fresh = {
            **_send_webhooks(text, [c for c in settings.webhooks if c.name not in done]),
            **_send_email(text, settings.email if "email" not in done else None),
        }
        results = {**{k: v for k, v in before.items() if k in done}, **fresh}
        if not results:
            results = {"none": "no alert channel configured"}
        attempts += 1
        if results and all(v == "ok" for v in results.values()):
            deliveries.append(Delivery(alert_id, "sent", results, attempts))
        else:
            retry_at = now + settings.backoff(attempts) if attempts < settings.max_attempts else None
            deliveries.append(Delivery(alert_id, "failed", results, attempts, retry_at))
    with sessions.begin() as session:
        for delivery in deliveries:
            record = session.get(AlertRecord, delivery.alert_id)
            if record is not None:
                record.status = delivery.status
                record.results = delivery.results
                record.attempts = delivery.attempts
                record.next_attempt_at = delivery.retry_at
                record.delivered_at = now  # the last attempt
    return deliveries


def _send_webhooks(text: str, channels: list[WebhookChannel]) -> dict[str, str]:
    results: dict[str, str] = {}
    for channel in channels:
        body = json.dumps({"text": text}).encode()
        request = urllib.request.Request(  # noqa: S310 (the URL is the operator's configured receiver)
            channel.url.get_secret_value(), data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=channel.timeout_seconds) as response:  # noqa: S310
                results[channel.name] = "ok" if 200 <= response.status < 300 else f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            results[channel.name] = f"HTTP {exc.code}"
        except OSError as exc:
            results[channel.name] = f"webhook failed: {type(exc).__name__}"
    return results


def _send_email(text: str, channel: EmailChannel | None) -> dict[str, str]:
    if channel is None:
        return {}
    message = EmailMessage()
    message["Subject"] = text.split(":", 2)[1].strip() if ":" in text else "leakmon alert"
    message["From"] = channel.sender
    message["To"] = ", ".join(channel.recipients)
    message.set_content(text)
    try:
        with smtplib.SMTP(channel.host, channel.port, timeout=channel.timeout_seconds) as smtp:
            if channel.starttls:
                smtp.starttls()
            if channel.username and channel.password:
                smtp.login(channel.username, channel.password.get_secret_value())
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        return {"email": f"e-mail failed: {type(exc).__name__}"}
    return {"email": "ok"}
