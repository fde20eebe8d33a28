"""Wiring: build the keyed hasher, the in-memory protected index, the matcher and the ingest sink.

Every venue (scan, spiders, Telegram reader, export import) gets its sink from here, so they all
share one code path from post to stored hit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from crawlers.analyzer import TradeScorer
from crawlers.files import ReadLimits
from crawlers.model import TextBlock
from crawlers.parallel import ParallelScanner, block_scanner
from leakmon.app import App
from leakmon.errors import ConfigError
from leakmon.index_cache import IndexData, cache_file, cached_index, rests_of
from leakmon.keycheck import require_set_key
from leakmon.settings import invalid_section
from matchers.confirm import IndexConfirm
from matchers.engine import Confirm, Matcher, MatcherOptions
from matchers.index import ProtectedIndex
from matchers.keyed_hash import KeyedHasher
from matchers.protect import ProtectedForms
from matchers.registry import IdentifierRegistry
from matchers.types.custom import CustomType

# What only storing a post needs (SQLAlchemy, the models, the evidence sealer) loads in build_sink:
# `scan --jobs N` builds the matcher and forks its workers first (see leakmon.commands.scan).
if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from crawlers.ingest import IngestSink, PostHook, RemovedHook
    from storage.models.core import Post
    from storage.repositories.hits import StoredHits

log = logging.getLogger(__name__)


@dataclass
class MatchContext:
    hasher: KeyedHasher
    registry: IdentifierRegistry
    index: ProtectedIndex
    matcher: Matcher


def build_registry(app: App) -> IdentifierRegistry:
    """Built-in identifier types plus the custom ones declared in ``[identifiers.custom.NAME]``, with the
    e-mail domain aliases of ``[identifiers.email] aliases``."""
    settings = app.settings.identifiers
    try:
        custom = [
            CustomType(
                name=name,
                pattern=spec.pattern,
                canonical=spec.canonical,
                context=tuple(spec.context),
                separators=spec.separators,
            )
            for name, spec in settings.custom.items()
        ]
    except ValueError as exc:
        raise ConfigError(f"[identifiers.custom]: {exc}") from None
    try:
        return IdentifierRegistry.default(custom=custom, email_aliases=settings.email.aliases)
    except ValueError as exc:
        raise ConfigError(f"[identifiers.email] aliases: {exc}") from None


def forms_for(app: App, registry: IdentifierRegistry) -> Callable[[str, str], list[tuple[str, str]]]:
    """The protected-set normalizer bound to ``registry``: (type, value) -> [(form, canonical)].

    Mask forms are included unless ``[identifiers] partial_forms = false``.
    """
    return ProtectedForms(registry, partial=app.settings.identifiers.partial_forms)


def build_hasher(app: App) -> KeyedHasher:
    key_id, key = app.keyring.active_key("hmac")
    return KeyedHasher(key, key_id)


def build_match_context(app: App) -> MatchContext:
    """Load the protected set under the active key into memory and build a matcher over it."""
    require_set_key(app)
    hasher = build_hasher(app)
    registry = build_registry(app)
    cache_dir = app.settings.home if app.settings.home.is_dir() else None
    tiers, types = _index_data(app, hasher.key_id, cache_dir)
    domains = frozenset(registry.get(t).domain for t in types if t in registry)
    index = ProtectedIndex.from_tiers(tiers, domains=domains)  # built once, then cached
    if len(index) == 0:
        log.warning("the protected set under key %s is empty: nothing can match", hasher.key_id)

    confirm: Confirm = _Confirmer(app)
    rests = rests_of(tiers, index)
    if rests is not None and cache_dir is not None:  # by position in the cached store; the database after damage
        damaged = cache_file(cache_dir, hasher.key_id)
        confirm = IndexConfirm(index, rests, confirm, on_damage=lambda: damaged.unlink(missing_ok=True))
    options = MatcherOptions(partial=app.settings.identifiers.partial_forms)
    matcher = Matcher(hasher, index, registry, confirm=confirm, options=options)
    return MatchContext(hasher=hasher, registry=registry, index=index, matcher=matcher)


def _index_data(app: App, key_id: str, cache_dir: Path | None) -> IndexData:
    """The set's built index: the workspace's cache when current (its fingerprint read on the DB-API
    driver when the URL allows, see :mod:`storage.driver`), else from the database (and cached)."""
    driver = app.driver
    if cache_dir is not None and driver is not None:
        try:
            fingerprint = driver.set_fingerprint(key_id)
        except driver.errors:
            fingerprint = None
        cached = cached_index(cache_dir, key_id, fingerprint) if fingerprint is not None else None
        if cached is not None:
            return cached
    from leakmon.index_cache import load_index_tiers

    with app.sessions() as session:
        return load_index_tiers(session, key_id, cache_dir)


class _Confirmer:
    """Full-digest confirmation in the database: digests (``confirm_digests``), or (digest, subject)
    pairs alone (``pairs``: what a name beside a strong value needs, see ``matchers.engine.PairConfirm``)."""

    def __init__(self, app: App) -> None:
        self.app = app

    # A read snapshot, not a write transaction: on SQLite every other session begins IMMEDIATE,
    # so two workers' confirmations queued for the write lock, and a scan storing its hits while
    # its workers match (crawlers.ingest.IngestSink.analyze_and_store) holds that lock throughout.
    # On the DB-API driver when the URL allows: a worker forked before the parent imported SQLAlchemy
    # never imports it (storage.driver; each process opens its own connection).
    def __call__(self, digests: Sequence[bytes]) -> Mapping[bytes, Sequence[int]]:
        driver = self.app.driver
        if driver is not None:
            return driver.confirm_digests(digests)
        from storage.db import read_snapshot
        from storage.repositories.protected import confirm_digests

        with read_snapshot(self.app.sessions) as session:
            return confirm_digests(session, digests)

    def pairs(self, pairs: Sequence[tuple[bytes, int]]) -> Collection[tuple[bytes, int]]:
        driver = self.app.driver
        if driver is not None:
            return driver.confirm_pairs(pairs)
        from storage.db import read_snapshot
        from storage.repositories.protected import confirm_pairs

        with read_snapshot(self.app.sessions) as session:
            return confirm_pairs(session, pairs)


def build_sink(
    app: App,
    *,
    context: MatchContext | None = None,
    run_id: int | None = None,
    jobs: int | None = None,
    on_block: Callable[[TextBlock], None] | None = None,
    limits: ReadLimits | None = None,
    parallel: ParallelScanner | None = None,
) -> IngestSink:
    """The ingest sink with the configured evidence policy, reader limits (``limits`` overrides the
    ``[files]`` ones) and workflow hooks; big files go to ``parallel`` (default: :func:`build_scanner`
    with ``jobs``, whose default is the ``scan.jobs`` setting)."""
    from crawlers import spool
    from crawlers.analyzer import AnalysisOptions, Analyzer
    from crawlers.ingest import MAX_EVIDENCE_FILE_BYTES, IngestPolicy, IngestSink
    from crawlers.redact import Redactor
    from storage.evidence import EvidenceSealer, EvidenceStore

    context = context or build_match_context(app)
    # Big attachments and rar copies stay in the workspace (a read-only one: the private fallback).
    spool.configure_writable(app.settings.home / "spool")
    evidence = app.settings.evidence
    sealer = None
    if evidence.store_post_text == "encrypted" or evidence.store_files:
        key_id, key = app.keyring.active_key("evidence")
        sealer = EvidenceSealer(key_id, key)
    post_hooks, removed_hooks = _workflow_hooks(app)
    options = AnalysisOptions(
        read_limits=limits or read_limits(app),
        trade_scorer=_trade_scorer(app),
        fingerprinter=_fingerprinter(app.keyring.active_key("signature")[1]),
        redactor=Redactor(app.keyring.active_key("redaction")[1]),
    )
    parallel = parallel or build_scanner(app, context, jobs)
    analyzer = Analyzer(context.matcher, options, parallel=parallel, on_block=on_block)
    policy = IngestPolicy(
        text_sealer=sealer if evidence.store_post_text == "encrypted" else None,
        evidence=(
            EvidenceStore(app.settings.home / "evidence", sealer, max_bytes=MAX_EVIDENCE_FILE_BYTES)
            if evidence.store_files and sealer is not None
            else None
        ),
        post_hooks=tuple(post_hooks),
        removed_hooks=tuple(removed_hooks),
        run_id=run_id,
    )
    return IngestSink(app.sessions, analyzer, policy)


def build_scanner(app: App, context: MatchContext, jobs: int | None = None) -> ParallelScanner:
    """The scanner for big files, ``jobs`` workers (default: the ``scan.jobs`` setting).

    One and several jobs run the same code for big files (identical rows); workers confirm digests
    over their own connections (an in-memory SQLite database cannot be shared: the parent confirms).
    """
    jobs = jobs if jobs is not None else app.settings.scan.jobs
    after_fork = None if app.in_memory else _fresh_connections(app)
    return block_scanner(context.matcher, jobs, after_fork=after_fork)


def _fresh_connections(app: App) -> Callable[[], None]:
    """Run first in a forked scan worker: its pool forgets the parent's connections (never closing them)."""

    def after_fork() -> None:
        if "engine" in vars(app):  # else none was opened (the driver opens its own per process)
            app.engine.dispose(close=False)

    return after_fork


def read_limits(app: App) -> ReadLimits:
    """The ``[files]`` reader limits; an unknown or invalid key is one ConfigError sentence."""
    try:
        return ReadLimits.model_validate(app.settings.files)
    except ValidationError as exc:
        raise invalid_section(exc, "files") from None


def _trade_scorer(app: App) -> TradeScorer:
    brands = tuple(app.settings.brands)

    def score(text: str) -> tuple[float, tuple[str, ...]]:
        from matchers.trade import trade_score  # rapidfuzz: loaded with the first post, not by a file scan

        result = trade_score(text, brands)
        return result.score, tuple(result.terms)

    return score


def _fingerprinter(key: bytes) -> Callable[[str], str]:
    """The keyed text signature of a stored post (its workflow modules load with the first post)."""

    def signature(text: str) -> str:
        from leakmon.workflows.grouping import text_signature

        return text_signature(text, key=key)

    return signature


def _workflow_hooks(app: App) -> tuple[list[PostHook], list[RemovedHook]]:
    """Incident grouping, suppression and legal clocks on ingest; takedown bookkeeping on removal.

    The workflows (rapidfuzz, re2, the alert and takedown modules) load when a post is stored,
    so `leakmon scan --no-store` never imports them.
    """
    settings = app.settings

    def on_post(session: Session, post: Post, hits: StoredHits) -> None:
        from leakmon.workflows import incidents

        incidents.on_post_ingested(session, post, hits, settings=settings)

    def on_removed(session: Session, post: Post) -> None:
        from leakmon.workflows import incidents

        incidents.on_post_removed(session, post)

    return [on_post], [on_removed]
