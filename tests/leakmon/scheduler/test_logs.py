"""Logs never carry a plaintext identifier, even one logged by mistake; metrics count runs."""

from __future__ import annotations

import io
import json
import logging

import pytest

from crawlers.redact import redact
from leakmon import metrics
from leakmon.logs import configure_logging, get_logger, redact_text
from tests.identifier_forms import IDENTIFIER_FORMS, KEPT

PHONE, EMAIL, RRN = "010-2345-6789", "kim.minseo77@example.com", "900101-1234567"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (f"call {PHONE} now", "call [redacted] now"),
        ("01023456789", "[redacted]"),
        ("+82 10-2345-6789", "+[redacted]"),
        ("０１０－２３４５－６７８９", "[redacted]"),  # full-width digits
        ("02-123-4567", "[redacted]"),
        (f"mail {EMAIL}", "mail [redacted]"),
        (f"rrn {RRN}", "rrn [redacted]"),
        ("9001011234567", "[redacted]"),
        ("card 4111 1111 1111 1111", "card [redacted]"),
        ("run 42 took 3.5 s, 120 posts", "run 42 took 3.5 s, 120 posts"),
        ("2026-11-23T18:00:00+00:00", "2026-11-23T18:00:00+00:00"),
    ],
)
def test_redact_text(text: str, masked: str) -> None:
    assert redact_text(text) == masked


@pytest.mark.parametrize(("text", "secrets"), IDENTIFIER_FORMS, ids=[t for t, _ in IDENTIFIER_FORMS])
def test_log_lines_follow_the_one_rule_for_every_identifier_form(text: str, secrets: tuple[str, ...]) -> None:
    """The same table as tests/crawlers/test_privacy_redact.py: logs and stored fields mask alike."""
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    try:
        get_logger("leakmon.test").warning(f"seller {text}", title=text)
        logging.getLogger("scrapy.core.scraper").warning("Dropped %s", text)
    finally:
        root = logging.getLogger()
        for handler in [h for h in root.handlers if h.get_name() == "leakmon"]:
            root.removeHandler(handler)
    output = stream.getvalue()
    assert redact_text(text) == redact(text)
    assert [secret for secret in secrets if secret in output or secret in redact_text(text)] == []
    assert "[redacted]" in redact_text(text)


@pytest.mark.parametrize("text", KEPT)
def test_log_lines_keep_addresses_ports_timestamps_and_sizes(text: str) -> None:
    assert redact_text(text) == text


@pytest.fixture
def json_logs() -> io.StringIO:
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    yield stream
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == "leakmon"]:
        root.removeHandler(handler)


def test_a_plaintext_identifier_logged_by_mistake_comes_out_masked(json_logs: io.StringIO) -> None:
    log = get_logger("leakmon.test")
    log.info(f"matched {PHONE}", subject=EMAIL, nested={"rows": [RRN, "fine"]}, count=3)
    logging.getLogger("scrapy.core.scraper").warning("Dropped item with %s", EMAIL)  # a library's stdlib log
    try:
        raise ValueError(f"bad row {RRN}")
    except ValueError:
        log.exception("parse failed")
    output = json_logs.getvalue()
    for plaintext in (PHONE, EMAIL, RRN, "23456789", "kim.minseo77"):
        assert plaintext not in output
    events = [json.loads(line) for line in output.splitlines()]
    assert events[0]["event"] == "matched [redacted]"
    assert events[0]["subject"] == "[redacted]"
    assert events[0]["nested"] == {"rows": ["[redacted]", "fine"]}
    assert events[0]["count"] == 3
    assert events[1]["event"] == "Dropped item with [redacted]"
    assert events[1]["logger"] == "scrapy.core.scraper"
    assert "bad row [redacted]" in events[2]["exception"]
    assert all("timestamp" in event and "level" in event for event in events)


def test_text_format_masks_too() -> None:
    stream = io.StringIO()
    configure_logging("text", stream=stream)
    try:
        get_logger("leakmon.test").warning("seller", contact=PHONE)
    finally:
        root = logging.getLogger()
        for handler in [h for h in root.handlers if h.get_name() == "leakmon"]:
            root.removeHandler(handler)
    assert PHONE not in stream.getvalue()
    assert "[redacted]" in stream.getvalue()


def test_metrics_count_runs_posts_hits_errors() -> None:
    before = metrics.REGISTRY.get_sample_value("leakmon_runs_total", {"source": "m1", "kind": "web", "outcome": "ok"})
    metrics.record_run("m1", "web", "ok", seconds=2.5, posts=4, hits=7, errors=1)
    sample = metrics.REGISTRY.get_sample_value
    assert sample("leakmon_runs_total", {"source": "m1", "kind": "web", "outcome": "ok"}) == (before or 0) + 1
    assert sample("leakmon_posts_total", {"source": "m1"}) == 4
    assert sample("leakmon_hits_total", {"source": "m1"}) == 7
    assert sample("leakmon_errors_total", {"source": "m1"}) == 1
    assert sample("leakmon_run_duration_seconds_count", {"source": "m1", "kind": "web"}) == 1
    assert (sample("leakmon_last_success_timestamp_seconds", {"source": "m1"}) or 0) > 0


def test_metrics_are_served_on_localhost() -> None:
    import urllib.request

    metrics.record_run("served", "telegram", "deferred", seconds=1)
    port = metrics.serve(0)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        body = response.read().decode()
    assert 'leakmon_runs_total{kind="telegram",outcome="deferred",source="served"} 1.0' in body
