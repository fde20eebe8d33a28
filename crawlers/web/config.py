"""Web source configuration: one ``[sources.NAME]`` table per source, validated here.

Secrets never live in the TOML: ``headers`` and ``cookies`` map a header or cookie name to the
name of an environment variable holding its value, resolved only in the crawl process.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

from parsel import Selector
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

SourceKind = Literal["forum", "paste", "tme_preview", "site"]

DEFAULT_ATTACHMENT_EXTENSIONS = (
    "csv", "tsv", "txt", "json", "sql", "xls", "xlsx", "zip", "7z", "rar", "gz", "tar", "db", "sqlite",
)  # fmt: skip

_INTERVAL = re.compile(r"^\d+[smhd]$")
_CRON_FIELD = re.compile(r"^[\w*/,\-?#LW]+$")


class SourceConfigError(ValueError):
    """A source table is invalid; the message is one sentence naming the source."""


class Selectors(BaseModel):
    """CSS selectors (parsel syntax, ``::text`` and ``::attr(x)`` allowed) for structured pages."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    post: str | None = Field(None, description="Each element matched is one post (one document).")
    post_id: str | None = Field(None, description="Relative to a post: its stable id, e.g. '::attr(data-post-id)'.")
    author: str | None = Field(None, description="Relative to a post: the author's display name.")
    date: str | None = Field(None, description="Relative to a post: the posting time (ISO or Y-m-d H:M).")
    title: str | None = Field(None, description="The page's (thread's) title.")
    next_page: str | None = Field(None, description="Links to the next page of the same listing or thread.")
    attachments: str | None = Field(None, description="Relative to a post (or page): attachment links.")
    links: str | None = Field(None, description="Regions whose links are followed (default: the whole page).")

    @field_validator("*")
    @classmethod
    def _valid_css(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                Selector(text="<html></html>").css(value)
            except Exception as exc:
                raise ValueError(f"{value!r} is not a valid CSS selector ({type(exc).__name__})") from None
        return value


class SourceConfig(BaseModel):
    """One web source to crawl."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: SourceKind = Field(description="forum, paste, tme_preview (t.me/s/NAME) or site (generic).")
    start_urls: list[str] = Field(min_length=1, description="Where each crawl starts (http or https).")
    allowed_domains: list[str] = Field(
        default_factory=list, description="Hosts the crawl may visit; default: the start URLs' hosts."
    )
    depth: int = Field(2, ge=0, le=20, description="Link hops from a start URL (tme_preview: older pages).")
    schedule: str | None = Field(None, description="How often: an interval like '30m' or a cron string.")
    selectors: Selectors = Field(
        default_factory=lambda: Selectors.model_validate({}), description="Optional CSS selectors."
    )
    proxy: str | None = Field(
        None, description="HTTP proxy for every request, e.g. http://127.0.0.1:8118 (Privoxy to Tor)."
    )
    headers: dict[str, str] = Field(
        default_factory=dict, description="Header name -> environment variable holding its value."
    )
    cookies: dict[str, str] = Field(
        default_factory=dict, description="Cookie name -> environment variable holding its value."
    )
    obey_robots: bool = Field(True, description="Obey robots.txt (turning it off needs a reason).")
    robots_override_reason: str | None = Field(None, description="Why robots.txt is not obeyed.")
    concurrency: int = Field(2, ge=1, le=32, description="Concurrent requests to this source.")
    download_delay: float = Field(1.0, ge=0, description="Seconds between requests: the politeness floor.")
    autothrottle: bool = Field(True, description="Adapt the delay to the server's latency (AutoThrottle).")
    timeout: float = Field(30.0, gt=0, description="Seconds before a request counts as timed out.")
    retries: int = Field(2, ge=0, le=10, description="Retries of a failed request (5xx, timeouts).")
    max_pages: int = Field(1000, ge=1, description="Stop a run after this many pages.")
    max_page_bytes: int = Field(5 * 2**20, ge=1024, description="Pages larger than this are not read.")
    max_attachment_bytes: int = Field(
        50 * 2**20, ge=1024, description="Attachments larger than this are not downloaded."
    )
    memory_attachment_bytes: int = Field(
        8 * 2**20, ge=0, description="Attachments up to this size stay in memory, larger ones go to disk."
    )
    attachment_extensions: list[str] = Field(
        default_factory=lambda: list(DEFAULT_ATTACHMENT_EXTENSIONS),
        description="Linked files with these extensions are downloaded as attachments.",
    )
    revisit: Literal["conditional", "never"] | None = Field(
        None,
        description="Seen pages: re-request with If-None-Match/If-Modified-Since, or never "
        "(immutable documents). Default: never for paste, conditional otherwise.",
    )
    revisit_days: int = Field(
        30, ge=0, description="Revalidate seen pages that changed within this many days (0: only linked ones)."
    )
    timezone: str = Field("Asia/Seoul", description="Zone of page times that carry no offset.")
    user_agent: str = Field("leakmon/0.1 (exposure monitor)", description="User-Agent header.")
    enabled: bool = Field(True, description="Disabled sources are listed but not crawled.")

    @field_validator("start_urls")
    @classmethod
    def _http_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"start URL {url!r} is not an http(s) URL")
        return urls

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        if value is None or _INTERVAL.match(value):
            return value
        fields = value.split()
        if len(fields) == 5 and all(_CRON_FIELD.match(f) for f in fields):
            return value
        raise ValueError(f"schedule {value!r} is neither an interval like '30m' nor a 5-field cron string")

    @field_validator("proxy")
    @classmethod
    def _proxy(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("proxy must be an http(s) URL such as http://127.0.0.1:8118 (SOCKS is not supported)")
        return value

    @field_validator("attachment_extensions")
    @classmethod
    def _extensions(cls, value: list[str]) -> list[str]:
        return [ext.lower().lstrip(".") for ext in value]

    @model_validator(mode="after")
    def _consistent(self) -> SourceConfig:
        if not self.obey_robots and not (self.robots_override_reason or "").strip():
            raise ValueError("obey_robots = false needs robots_override_reason")
        if not self.allowed_domains:
            hosts = [urlsplit(url).hostname or "" for url in self.start_urls]
            object.__setattr__(self, "allowed_domains", list(dict.fromkeys(hosts)))
        if self.proxy is None and any(is_onion(host) for host in self.hosts()):
            raise ValueError(".onion hosts need a proxy (e.g. http://127.0.0.1:8118, Privoxy to Tor)")
        return self

    def allows(self, url: str) -> bool:
        """True when ``url`` is an origin the source may reach (Scrapy's own check ignores the port).

        A start URL's host and its subdomains: with that start URL's scheme and port (plus https:443
        where it is http:80). Any other allowed domain and its subdomains: http:80 or https:443.
        Every request and redirect hop is held to this, so the source's secret headers and cookies
        never reach another origin.
        """
        try:
            parts = urlsplit(url)
            target = (parts.scheme, _port(url))
        except ValueError:  # a port out of range
            return False
        host = (parts.hostname or "").rstrip(".").lower()
        if not host:
            return False
        starts = [(urlsplit(start).hostname or "", _port(start), urlsplit(start).scheme) for start in self.start_urls]
        for start_host, port, scheme in starts:
            ports = {(scheme, port), ("https", 443)} if (scheme, port) == ("http", 80) else {(scheme, port)}
            if _within(host, start_host) and target in ports:
                return True
        start_hosts = {start_host for start_host, _, _ in starts}
        return target in _DEFAULT_PORTS and any(
            _within(host, domain) for domain in self.allowed_domains if domain not in start_hosts
        )

    def hosts(self) -> list[str]:
        """Every host named by the start URLs and allowed domains."""
        return [*(urlsplit(url).hostname or "" for url in self.start_urls), *self.allowed_domains]

    @property
    def effective_revisit(self) -> str:
        return self.revisit or ("never" if self.kind == "paste" else "conditional")

    def resolve_secrets(self, environ: Mapping[str, str] | None = None) -> tuple[dict[str, str], dict[str, str]]:
        """Header and cookie values from the environment; a missing variable is an error."""
        env = os.environ if environ is None else environ
        resolved: list[dict[str, str]] = []
        for table, label in ((self.headers, "header"), (self.cookies, "cookie")):
            values: dict[str, str] = {}
            for name, variable in table.items():
                if variable not in env:
                    raise SourceConfigError(f"{label} {name!r} needs environment variable {variable}, which is not set")
                values[name] = env[variable]
            resolved.append(values)
        return resolved[0], resolved[1]


_DEFAULT_PORTS = frozenset({("http", 80), ("https", 443)})


def _within(host: str, domain: str) -> bool:
    domain = domain.rstrip(".").lower()
    return host == domain or host.endswith("." + domain)


def _port(url: str) -> int:
    parts = urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def is_onion(host: str | None) -> bool:
    return bool(host) and (host or "").rstrip(".").lower().endswith(".onion")


def parse_source(name: str, raw: Mapping[str, Any]) -> SourceConfig:
    """Validate one ``[sources.NAME]`` table; errors become one sentence naming the source."""
    try:
        return SourceConfig.model_validate(dict(raw))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        raise SourceConfigError(f"source {name!r}: {where + ': ' if where else ''}{message}") from None


def parse_sources(raw: Mapping[str, Mapping[str, Any]]) -> dict[str, SourceConfig]:
    """Validate every source table (in name order)."""
    return {name: parse_source(name, raw[name]) for name in sorted(raw)}
