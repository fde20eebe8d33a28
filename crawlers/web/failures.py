"""Map a failed request to a stored :class:`Finding` (the kinds are API: see crawlers.model)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import ConnectError, ConnectionLost, DNSLookupError, TimeoutError
from twisted.python.failure import Failure

from crawlers.model import Finding

#: request.meta key a middleware sets to name the finding for an IgnoreRequest it raised.
FINDING_META = "lm_finding"


class OffsiteRefused(IgnoreRequest):
    """A request (or redirect hop) to an origin the source does not allow; carries its finding."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.reason)
        self.finding = finding


def finding_for(failure: Failure | BaseException, url: str, *, meta: dict[str, object] | None = None) -> Finding:
    """The finding for a request that failed with ``failure``."""
    exc = failure.value if isinstance(failure, Failure) else failure
    preset = (meta or {}).get(FINDING_META)
    if isinstance(preset, Finding):
        return preset
    if isinstance(exc, OffsiteRefused):
        return exc.finding
    if exc is None:
        return Finding(locator=url, kind="error", reason="unknown failure")
    kind, reason = _classify(exc)
    return Finding(locator=url, kind=kind, reason=reason)


#: A Retry-After beyond this is treated as this (a week): a typo must not silence a source for years.
MAX_RETRY_AFTER = 7 * 24 * 3600


def retry_after_seconds(value: bytes | str | None, now: datetime | None = None) -> int | None:
    """Seconds to wait from a Retry-After header (delay-seconds or an HTTP date); None if absent or bad."""
    if not value:
        return None
    text = (value.decode("latin-1") if isinstance(value, bytes) else value).strip()
    if text.isdigit():
        return min(int(text), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = int((when - (now or datetime.now(UTC))).total_seconds())
    return min(max(seconds, 0), MAX_RETRY_AFTER)


def _classify(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, HttpError):
        reason = f"HTTP {exc.response.status}"
        wait = retry_after_seconds(exc.response.headers.get(b"Retry-After")) if exc.response.status == 429 else None
        return "http_error", reason if wait is None else f"{reason} (Retry-After: {wait})"
    if isinstance(exc, (CannotResolveHostError, DNSLookupError)):
        return "dns_error", "host name does not resolve"
    if isinstance(exc, (DownloadTimeoutError, TimeoutError)):
        return "timeout", str(exc) or "request timed out"
    if isinstance(exc, DownloadCancelledError):
        return "cap_bytes", str(exc) or "response larger than the size cap"
    if isinstance(exc, ResponseDataLossError):
        return "truncated", "response ended before its declared length"
    if isinstance(exc, (DownloadConnectionRefusedError, ConnectError, ConnectionLost, DownloadFailedError)):
        text = str(exc)
        if "DataLoss" in text or "not enough data" in text.lower():
            return "truncated", "response ended before its declared length"
        return "connection_error", text[:200] or type(exc).__name__
    if isinstance(exc, IgnoreRequest):
        text = str(exc)
        if "robots.txt" in text:
            return "robots_denied", "forbidden by robots.txt"
        if "redirection" in text:
            return "redirect_loop", "too many redirects"
        return "ignored", text[:200] or "request ignored"
    return "error", f"{type(exc).__name__}: {str(exc)[:200]}"
