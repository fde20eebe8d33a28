"""Map a failed request to a stored :class:`Finding` (the kinds are API: see crawlers.model)."""

from __future__ import annotations

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


def finding_for(failure: Failure | BaseException, url: str, *, meta: dict[str, object] | None = None) -> Finding:
    """The finding for a request that failed with ``failure``."""
    exc = failure.value if isinstance(failure, Failure) else failure
    preset = (meta or {}).get(FINDING_META)
    if isinstance(preset, Finding):
        return preset
    if exc is None:
        return Finding(locator=url, kind="error", reason="unknown failure")
    kind, reason = _classify(exc)
    return Finding(locator=url, kind=kind, reason=reason)


def _classify(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, HttpError):
        return "http_error", f"HTTP {exc.response.status}"
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
