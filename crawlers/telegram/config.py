"""The ``[telegram]`` configuration section, validated from ``Settings.telegram``.

Secrets never belong in the TOML in production: ``api_hash`` and ``session_string`` come from the
environment (``LEAKMON_TELEGRAM__API_ID``, ``LEAKMON_TELEGRAM__API_HASH``,
``LEAKMON_TELEGRAM__SESSION_STRING``) or a secret store that sets them; a session file must be mode 0600.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class ChatConfig(BaseModel):
    """One chat to read, from ``[telegram.chats.NAME]``."""

    model_config = ConfigDict(extra="forbid")

    ref: str = Field(description="@username, t.me/NAME link, or invite link (t.me/+HASH, t.me/joinchat/HASH).")
    schedule: str | None = Field(None, description="Schedule for the scheduler (cron expression or interval).")
    join: bool | None = Field(None, description="Join this chat when not a member; default: [telegram] join.")
    enabled: bool = Field(True, description="Read this chat (false keeps its state but skips it).")


TEST_DC_HOST = "149.154.167.40"  # Telegram's test DC 2 (my.telegram.org, "Test configuration")


class ServerConfig(BaseModel):
    """``[telegram.server]``: where a NEW session connects (test DCs or a self-hosted MTProto server).

    Production use needs Telegram's own servers: leave this section out. A session that already
    holds an auth key keeps the data centre it was made for.
    """

    model_config = ConfigDict(extra="forbid")

    host: str | None = Field(None, description="Server IP address; default: Telegram's (test DC 2 in test_mode).")
    port: int = Field(443, ge=1, le=65535, description="Server TCP port.")
    dc_id: int = Field(2, ge=1, description="Data centre id the new session starts on.")
    test_mode: bool = Field(False, description="Use Telegram's test data centres (accounts there are separate).")
    rsa_public_key_file: Path | None = Field(
        None, description="PEM (PKCS#1) public key of a server Telethon does not know (self-hosted servers)."
    )

    def address(self) -> tuple[int, str, int] | None:
        """(dc id, host, port) to start a new session on; None for Telegram's production default."""
        host = self.host or (TEST_DC_HOST if self.test_mode else None)
        return None if host is None else (self.dc_id, host, self.port)


class TelegramConfig(BaseModel):
    """Telethon reader settings and the chats to read."""

    model_config = ConfigDict(extra="forbid")

    api_id: int | None = Field(None, description="my.telegram.org api_id (environment, not the TOML).")
    api_hash: SecretStr | None = Field(None, description="my.telegram.org api_hash (environment or secret store).")
    session_string: SecretStr | None = Field(
        None, description="Telethon StringSession (environment or secret store); a full account credential."
    )
    session_file: Path | None = Field(
        None, description="Telethon SQLite session file (mode 0600, one process at a time); used if no string."
    )
    source_name: str = Field("telegram", description="Source name stored on every Telegram post.")
    flood_sleep_threshold: int = Field(
        10, ge=0, description="Flood waits up to this many seconds are slept through by the client."
    )
    max_flood_wait: int = Field(
        3600,
        ge=1,
        description="A flood wait at or above this many seconds defers every remaining chat of the run.",
    )
    reread_last_n: int = Field(
        20, ge=0, description="Message ids below the checkpoint re-read each run to catch edits and deletions."
    )
    max_posts_per_run: int | None = Field(
        None, ge=1, description="Stop a chat's run after this many new posts (the rest comes next run)."
    )
    max_attachment_bytes: int = Field(
        50 * 1024 * 1024, ge=0, description="Attachments larger than this (declared or actual) are skipped."
    )
    spool_bytes: int = Field(
        8 * 1024 * 1024, ge=0, description="Downloads larger than this are spooled to a private temp file."
    )
    download_attachments: bool = Field(True, description="Download documents for the leaked-files reader.")
    history_wait_time: float = Field(
        1.0, ge=0, description="Seconds between 100-message history requests (flood budget)."
    )
    join: bool = Field(False, description="Join chats the account is not a member of (per chat: join).")
    server: ServerConfig | None = Field(
        None, description="Connect new sessions to test DCs or a self-hosted server (never for production)."
    )
    chats: dict[str, ChatConfig] = Field(default_factory=dict, description="Chats to read, by name.")

    @classmethod
    def from_settings(cls, section: dict[str, Any]) -> TelegramConfig:
        """Validate the free-form ``Settings.telegram`` section."""
        return cls.model_validate(section)

    def should_join(self, chat: ChatConfig) -> bool:
        return self.join if chat.join is None else chat.join
