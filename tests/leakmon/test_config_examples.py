"""The shipped configuration files load: the defaults and the Telegram example."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawlers.telegram.config import TelegramConfig
from leakmon.errors import ConfigError
from leakmon.settings import Settings
from tests.leakmon.cli import run_cli

CONFIG = Path(__file__).resolve().parents[2] / "config"


def test_default_config_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEAKMON_CONFIG", str(CONFIG / "leakmon.toml"))
    settings = Settings()
    assert settings.evidence.store_post_text == "encrypted"
    assert settings.sources == {}


def test_environment_overrides_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEAKMON_CONFIG", str(CONFIG / "leakmon.toml"))
    monkeypatch.setenv("LEAKMON_EVIDENCE__STORE_POST_TEXT", "none")
    assert Settings().evidence.store_post_text == "none"


def test_telegram_example_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEAKMON_CONFIG", str(CONFIG / "telegram.example.toml"))
    config = TelegramConfig.from_settings(Settings().telegram)
    assert set(config.chats) == {"db_market", "private_sales"}
    assert config.chats["private_sales"].join is True


def test_a_missing_config_file_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LEAKMON_CONFIG", str(tmp_path / "absent.toml"))
    with pytest.raises(ConfigError, match="LEAKMON_CONFIG"):
        Settings()


def test_bad_settings_are_one_sentence_at_the_cli(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[evidence]\nstore_post_text = "plaintext"\n')
    monkeypatch.setenv("LEAKMON_CONFIG", str(config))
    result = run_cli(capsys, "protect", "stats")
    assert result.code == 2
    assert "configuration error: 'store_post_text' in [evidence]" in result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize(
    ("identifiers", "message"),
    [
        ({"email": {"aliases": {"daum": "daum.net"}}}, r"\[identifiers.email\] aliases: .*domain names"),
        ({"custom": {"nick": {"pattern": "[a-z]+", "canonical": "lowercase", "separators": True}}}, "separators"),
    ],
)
def test_identifier_rules_are_checked_when_the_registry_is_built(
    monkeypatch: pytest.MonkeyPatch, identifiers: dict[str, object], message: str
) -> None:
    from types import SimpleNamespace

    from leakmon.runtime import build_registry

    monkeypatch.setenv("LEAKMON_CONFIG", str(CONFIG / "leakmon.toml"))
    app = SimpleNamespace(settings=Settings(identifiers=identifiers))
    with pytest.raises(ConfigError, match=message):
        build_registry(app)  # type: ignore[arg-type]


def test_default_email_alias_is_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEAKMON_CONFIG", str(CONFIG / "leakmon.toml"))
    assert Settings().identifiers.email.aliases == {"hanmail.net": "daum.net"}
