"""Settings: defaults < config/leakmon.toml (or $LEAKMON_CONFIG) < environment (LEAKMON_...).

Nested values use ``__`` in the environment: ``LEAKMON_EVIDENCE__STORE_POST_TEXT=none``; a table or
list as a whole takes JSON (``LEAKMON_BRANDS='["acme"]'``). Names are matched without regard to case.
Secrets (the HMAC and evidence keys, Telegram sessions, forum cookies) never live in the TOML:
they come from the key file / environment / secret files.

The rules are pydantic-settings' (``EnvSettingsSource`` with prefix ``LEAKMON_`` and delimiter ``__``,
then the TOML file, merged table by table). Reading them costs every command start-up about 0.1 s of
CPU for pydantic-settings' import, so the common case is read here: when each ``LEAKMON_`` variable
that names a setting names a plain top-level value (``LEAKMON_HOME``, ``LEAKMON_DATABASE_URL``,
``LEAKMON_KEY_FILE``, ``LEAKMON_REDIS_URL``), its text is the value, as pydantic-settings takes it.
Any other (a nested ``__`` key, a JSON table or list) is read by pydantic-settings itself.
tests/leakmon/test_settings_sources.py holds the two equal.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from leakmon.errors import ConfigError

DEFAULT_CONFIG_PATH = Path("config/leakmon.toml")
#: The environment's names for settings: ``LEAKMON_`` and a field, ``__`` between nested keys.
ENV_PREFIX = "LEAKMON_"
ENV_NESTED_DELIMITER = "__"


class Section(BaseModel):
    """A settings table: a key it does not declare is refused (a typo must not keep a default)."""

    model_config = ConfigDict(extra="forbid")


class EvidenceSettings(Section):
    """What crawled evidence is kept, and for how long."""

    store_post_text: Literal["encrypted", "none"] = Field(
        "encrypted", description="Keep post text encrypted at rest, or not at all."
    )
    store_files: bool = Field(False, description="Keep captured attachments (encrypted at rest).")
    retention_days: int = Field(180, ge=1, description="Days to keep raw evidence before `purge`.")


#: Upper bound of worker processes (``--jobs``, ``scan.jobs``): more than the CPUs only adds memory.
MAX_JOBS = os.cpu_count() or 1


class ScanSettings(Section):
    """Matching options."""

    jobs: int = Field(1, ge=1, le=MAX_JOBS, description="Worker processes for big files (at most the CPU count).")
    min_confidence: float = Field(0.0, ge=0, le=1, description="Hits below this are not reported.")


class CustomIdentifier(Section):
    """A user-declared identifier type, e.g. a messenger's internal member serial number."""

    pattern: str = Field(description="Regular expression (RE2 syntax) matching the value.")
    canonical: Literal["digits", "lowercase", "strip"] = Field(
        "strip", description="How values are canonicalized before hashing."
    )
    context: list[str] = Field(default_factory=list, description="Words near a value that raise confidence.")
    separators: bool | None = Field(
        None,
        description=(
            "Also match values written with grouping commas or spaces (123,456,789; 123 456 7890). "
            "Only for canonical = digits, where it is on unless set to false."
        ),
    )


class EmailIdentifier(Section):
    """E-mail matching rules."""

    aliases: dict[str, str] = Field(
        default_factory=lambda: {"hanmail.net": "daum.net"},
        description=(
            "Domains folded into another before hashing (one mailbox family); {} turns folding off. "
            "Changing it changes the digests of the addresses it names: re-run `protect import`."
        ),
    )


class IncidentSettings(Section):
    """How posts are grouped into incidents, and when the company counts as aware of a leak."""

    subject_shared_min: int = Field(
        2, ge=1, description="A post joins an incident when it shares at least this many matched subjects with it..."
    )
    subject_overlap_min: float = Field(
        0.5, gt=0, le=1, description="...and the shared ones are at least this share of the smaller subject set."
    )
    text_similarity_min: float = Field(
        90.0, ge=0, le=100, description="rapidfuzz ratio of two post titles that makes them reposts of one leak."
    )
    text_with_subject_min: float = Field(
        75.0, ge=0, le=100, description="The title similarity needed when the posts also share a subject."
    )
    signature_similarity_min: float = Field(
        0.6, gt=0, le=1, description="Estimated Jaccard similarity of two message texts that makes them reposts."
    )
    signature_with_subject_min: float = Field(
        0.4, gt=0, le=1, description="The text similarity needed when the messages also share a subject."
    )
    text_window_days: int = Field(30, ge=1, description="Titles and texts are compared with posts this recent.")
    awareness_confidence: float = Field(
        0.9,
        gt=0,
        le=1,
        description="An exact hit this confident (or a confirmed label) starts the 72-hour notification clock.",
    )


class IdentifierSettings(Section):
    """Identifier types beyond the built-in ones, and which forms of each value are stored."""

    custom: dict[str, CustomIdentifier] = Field(default_factory=dict, description="Custom identifier types.")
    email: EmailIdentifier = Field(default_factory=EmailIdentifier)
    partial_forms: bool = Field(
        True,
        description=(
            "Also store mask forms of each protected value (010-****-5678, k***@naver.com) so masked leaks "
            "become partial hits; costs about 7 bytes of index memory per identifier and 2-3x import time."
        ),
    )


class Settings(BaseModel):
    """Everything leakmon reads from configuration: ``Settings(**overrides)`` reads the environment
    and the TOML file under the overrides, as ``pydantic_settings.BaseSettings`` did."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    home: Path = Field(Path(".leakmon"), description="Workspace: SQLite database, key file, evidence.")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite in the workspace.")
    key_file: Path | None = Field(None, description="Key file (mode 0600); default <home>/keys.json.")
    redis_url: str | None = Field(None, description="Private Redis for a shared crawl frontier.")
    evidence: EvidenceSettings = Field(default_factory=EvidenceSettings)
    scan: ScanSettings = Field(default_factory=ScanSettings)
    identifiers: IdentifierSettings = Field(default_factory=IdentifierSettings)
    incidents: IncidentSettings = Field(default_factory=IncidentSettings)
    files: dict[str, Any] = Field(default_factory=dict, description="Leaked-file reader limits.")
    sources: dict[str, dict[str, Any]] = Field(default_factory=dict, description="Web sources to crawl.")
    telegram: dict[str, Any] = Field(default_factory=dict, description="Telegram reader settings and chats.")
    alerts: dict[str, Any] = Field(default_factory=dict, description="Alert channels.")
    retention: dict[str, Any] = Field(default_factory=dict, description="Retention per table, in days.")
    brands: list[str] = Field(default_factory=list, description="The company's brand names for trade scoring.")

    def __init__(self, **overrides: Any) -> None:
        super().__init__(**sourced_values(overrides))

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'leakmon.db'}"

    @property
    def resolved_key_file(self) -> Path:
        return self.key_file or self.home / "keys.json"


#: Top-level settings whose environment value is their text (no JSON, no nested keys).
PLAIN_FIELDS = frozenset({"home", "database_url", "key_file", "redis_url"})


def sourced_values(overrides: dict[str, Any]) -> dict[str, Any]:
    """The values to validate: the TOML file's, then the environment's, then ``overrides``, each
    merged into the one before table by table (pydantic-settings' order and merge)."""
    toml_path = config_path()
    values: dict[str, Any] = {}
    if toml_path is not None:
        with toml_path.open("rb") as handle:
            values = tomllib.load(handle)
    environment = plain_environment()
    if environment is None:
        environment = environment_by_pydantic_settings()
    return deep_update(values, environment, overrides)


def plain_environment() -> dict[str, str] | None:
    """The settings the environment sets, when each is a plain top-level value (else None).

    Other ``LEAKMON_`` variables (``LEAKMON_HMAC_KEY``, ``LEAKMON_CONFIG``, ...) name no setting and
    are not read here, as pydantic-settings does not read them.
    """
    fields = Settings.model_fields
    prefix = ENV_PREFIX.lower()
    values: dict[str, str] = {}
    for name, value in os.environ.items():
        lowered = name.lower()
        if not lowered.startswith(prefix):
            continue
        key = lowered[len(prefix) :]
        if key in PLAIN_FIELDS and key not in values:
            values[key] = value
        elif key in fields or any(key.startswith(f"{field}{ENV_NESTED_DELIMITER}") for field in fields):
            return None  # a table, a list, a nested key, or one name spelled twice: pydantic-settings' rules
    return values


def environment_by_pydantic_settings() -> dict[str, Any]:
    """The environment's settings as pydantic-settings reads them (JSON values, nested ``__`` keys)."""
    from pydantic_settings import EnvSettingsSource

    source = EnvSettingsSource(
        Settings,  # type: ignore[arg-type]  # the source reads only the fields and the arguments given
        case_sensitive=False,
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTED_DELIMITER,
    )
    return source()


def deep_update(base: dict[str, Any], *updates: dict[str, Any]) -> dict[str, Any]:
    """``base`` with each of ``updates`` laid over it; a table present in both is merged key by key."""
    merged = dict(base)
    for update in updates:
        for key, value in update.items():
            if isinstance(merged.get(key), dict) and isinstance(value, dict):
                merged[key] = deep_update(merged[key], value)
            else:
                merged[key] = value
    return merged


def config_path() -> Path | None:
    """The TOML file in force: $LEAKMON_CONFIG, else config/leakmon.toml when present."""
    explicit = os.environ.get("LEAKMON_CONFIG")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"LEAKMON_CONFIG points to {path}, which is not a file")
        return path
    return DEFAULT_CONFIG_PATH if DEFAULT_CONFIG_PATH.is_file() else None


def load_settings(**overrides: Any) -> Settings:
    """The settings in force; a malformed file or an unknown or invalid key is one ConfigError sentence."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise invalid_section(exc) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{config_path()} is not valid TOML: {exc}") from None


def invalid_section(exc: ValidationError, table: str = "") -> ConfigError:
    """One sentence for the first problem of a settings table: the key, the table and what is wrong.

    ``table`` is the dotted name of the table ``exc`` was validated from (``alerts``), empty for
    the whole settings file.
    """
    first = min(exc.errors(), key=lambda error: error["type"] != "extra_forbidden")  # a typo first
    path = [*filter(None, table.split(".")), *(str(part) for part in first["loc"])]
    key, where = (path[-1], ".".join(path[:-1])) if path else ("", "")
    place = f"in [{where}]" if where else "at the top level"
    if first["type"] == "extra_forbidden":
        return ConfigError(f"configuration error: unknown key {key!r} {place}")
    message = first["msg"].removeprefix("Value error, ")
    return ConfigError(f"configuration error: {key!r} {place}: {message}")
