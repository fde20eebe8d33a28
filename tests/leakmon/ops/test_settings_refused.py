"""Settings that would silently change behaviour are refused with one sentence naming key and table."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakmon.app import App
from leakmon.errors import ConfigError
from leakmon.runtime import read_limits
from leakmon.scheduler.specs import job_specs
from leakmon.settings import load_settings
from leakmon.workflows.alerts import alert_settings
from leakmon.workflows.retention import retention_settings
from tests.leakmon.cli import run_cli

CaptureFixture = pytest.CaptureFixture[str]


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "leakmon.toml"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LEAKMON_CONFIG", str(path))
    monkeypatch.setenv("LEAKMON_HOME", str(tmp_path / "home"))
    return path


# Tables every command reads: refused when the settings load, before any work.
LOADED = [
    ('[evidence]\nstore_post_txt = "none"\n', "store_post_txt", "[evidence]"),
    ("[scan]\njob = 4\n", "job", "[scan]"),
    ("[identifiers]\npartial_form = false\n", "partial_form", "[identifiers]"),
    (
        '[identifiers.custom.serial]\npattern = "MS[0-9]{10}"\ncanonicl = "digits"\n',
        "canonicl",
        "[identifiers.custom.serial]",
    ),
    ("[incidents]\nawareness_confidense = 0.5\n", "awareness_confidense", "[incidents]"),
    ('hom = "/srv/leakmon"\n', "hom", "at the top level"),
]


@pytest.mark.parametrize(("toml", "key", "table"), LOADED, ids=[k for _, k, _ in LOADED])
def test_an_unknown_key_is_one_sentence_naming_key_and_table(
    config: Path, capsys: CaptureFixture, toml: str, key: str, table: str
) -> None:
    config.write_text(toml, encoding="utf-8")
    result = run_cli(capsys, "status")
    assert result.code == 2
    assert result.err.count("\n") == 1, result.err
    assert f"unknown key {key!r}" in result.err
    assert table in result.err
    assert "Traceback" not in result.err
    assert not (config.parent / "home").exists()


# Free-form tables validated where they are used: refused the same way there.
SECTIONS = [
    ("[files]\nmax_fiel_bytes = 10\n", read_limits, "max_fiel_bytes", "[files]"),
    ("[alerts]\nenable = false\n", lambda app: alert_settings(app.settings), "enable", "[alerts]"),
    (
        "[alerts.email]\nhost = 'smtp'\nrecipients = ['a@b.c']\nsender = 'x@y.z'\nprot = 25\n",
        lambda app: alert_settings(app.settings),
        "prot",
        "[alerts.email]",
    ),
    ("[telegram]\napi_idd = 1\n", lambda app: job_specs(app.settings), "api_idd", "[telegram]"),
    ("[retention]\nhits_dayz = 5\n", lambda app: retention_settings(app.settings), "hits_dayz", "[retention]"),
]


@pytest.mark.parametrize(("toml", "use", "key", "table"), SECTIONS, ids=[k for _, _, k, _ in SECTIONS])
def test_a_free_form_table_refuses_unknown_keys_where_it_is_used(
    config: Path, toml: str, use: object, key: str, table: str
) -> None:
    config.write_text(toml, encoding="utf-8")
    app = App(settings=load_settings())
    with pytest.raises(ConfigError) as raised:
        use(app)  # type: ignore[operator]
    assert str(raised.value) == f"configuration error: unknown key {key!r} in {table}"


def test_an_invalid_value_names_key_and_table(config: Path, capsys: CaptureFixture) -> None:
    config.write_text('[evidence]\nstore_post_text = "plaintext"\n', encoding="utf-8")
    result = run_cli(capsys, "status")
    assert result.code == 2
    assert "'store_post_text' in [evidence]" in result.err
    assert result.err.count("\n") == 1


def test_an_environment_typo_is_refused_too(
    config: Path, capsys: CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    config.write_text("", encoding="utf-8")
    monkeypatch.setenv("LEAKMON_EVIDENCE__STORE_POST_TXT", "none")
    result = run_cli(capsys, "status")
    assert result.code == 2
    assert "unknown key 'store_post_txt' in [evidence]" in result.err


@pytest.mark.parametrize("toml", ["[evidence\n", 'brands = ["a"\n', "a = = 1\n", "[scan]\njobs = 1\njobs = 2\n"])
def test_malformed_toml_is_one_sentence(config: Path, capsys: CaptureFixture, toml: str) -> None:
    config.write_text(toml, encoding="utf-8")
    result = run_cli(capsys, "status")
    assert result.code == 2
    assert result.err.startswith(f"leakmon: {config} is not valid TOML: ")
    assert "(at " in result.err
    assert result.err.count("\n") == 1, result.err
