"""Expected failures are one sentence and a documented exit code; help names values, not types."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from leakmon.cli import command
from tests.leakmon.cli import run_cli

CaptureFixture = pytest.CaptureFixture[str]
README = Path(__file__).resolve().parents[3] / "README.md"


def _command_paths() -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = [()]

    def walk(group: object, prefix: tuple[str, ...]) -> None:
        for name, sub in getattr(group, "commands", {}).items():
            found.append((*prefix, name))
            walk(sub, (*prefix, name))

    walk(command(), ())
    return found


@pytest.mark.parametrize("path", _command_paths(), ids=lambda p: " ".join(p) or "leakmon")
def test_help_names_values_not_python_types(capsys: CaptureFixture, path: tuple[str, ...]) -> None:
    result = run_cli(capsys, *path, "--help")
    assert result.code == 0, result.err
    labels = re.findall(r"<(?:bool|str|int|float|path|list\[str\])>", result.out)
    assert not labels, f"{' '.join(path)} --help shows {labels}"


def test_help_lists_the_exit_codes(capsys: CaptureFixture) -> None:
    text = " ".join(run_cli(capsys, "--help").out.split())
    for code in range(9):
        assert re.search(rf"[:;] {code} [a-zA-Z]", text), f"exit code {code} is not in --help"


def test_readme_documents_every_exit_code() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### Exit codes") :]
    for code in range(9):
        assert f"| {code} |" in section, f"exit code {code} is not in the README table"


NEEDS_DATABASE = [
    ("status",),
    ("status", "--format", "jsonl"),
    ("hits",),
    ("incidents",),
    ("takedown", "list"),
    ("protect", "stats"),
    ("protect", "import", "people.csv"),
    ("scan", "leak.csv"),
    ("run", "--once"),
    ("audit", "verify"),
    ("purge", "--dry-run"),
    ("export", "affected", "--all", "--output", "out.csv"),
]


@pytest.mark.parametrize("argv", NEEDS_DATABASE, ids=" ".join)
def test_no_workspace_is_one_sentence_and_creates_nothing(
    bare: Path, capsys: CaptureFixture, argv: tuple[str, ...]
) -> None:
    result = run_cli(capsys, *argv)
    assert result.code == 2, result.err
    assert "run `leakmon init`" in result.err
    assert result.err.count("\n") == 1, result.err
    assert sorted(p.name for p in bare.iterdir()) == ["leak.csv", "leakmon.toml", "people.csv"]


@pytest.mark.parametrize("argv", [("keys", "list"), ("protect", "hash", "people.csv", "-o", "h.csv")], ids=" ".join)
def test_no_key_file_is_one_sentence_and_creates_nothing(
    bare: Path, capsys: CaptureFixture, argv: tuple[str, ...]
) -> None:
    result = run_cli(capsys, *argv)
    assert result.code == 3, result.err
    assert "run `leakmon init`" in result.err
    assert not (bare / ".leakmon").exists()


@pytest.mark.parametrize("argv", [("status",), ("hits", "--format", "csv"), ("protect", "stats")], ids=" ".join)
def test_an_unreachable_database_is_one_sentence(
    bare: Path, capsys: CaptureFixture, monkeypatch: pytest.MonkeyPatch, argv: tuple[str, ...]
) -> None:
    # Port 1 on loopback: nothing listens there, the connection is refused at once.
    monkeypatch.setenv("LEAKMON_DATABASE_URL", "postgresql://leakmon:hunter2@127.0.0.1:1/leakmon")
    result = run_cli(capsys, *argv)
    assert result.code == 7, result.err
    assert result.err.startswith("leakmon: cannot use the database postgresql://leakmon:***@127.0.0.1:1/leakmon: ")
    assert result.err.count("\n") == 1, result.err
    assert "hunter2" not in result.err


@pytest.mark.parametrize("url", ["mysql://leakmon:hunter2@127.0.0.1/leakmon", "not a url"])
def test_an_unusable_database_url_is_one_sentence(
    bare: Path, capsys: CaptureFixture, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("LEAKMON_DATABASE_URL", url)
    result = run_cli(capsys, "hits")
    assert result.code == 2, result.err
    assert "leakmon supports sqlite:/// and postgresql:// URLs" in result.err
    assert result.err.count("\n") == 1
    assert "hunter2" not in result.err
