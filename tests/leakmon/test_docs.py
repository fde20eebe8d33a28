"""Docs are tested: every command has help and a README entry; every setting has a description."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from leakmon.cli import app
from leakmon.settings import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def _commands(group: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path under a (Typer-vendored) click group."""
    found: list[tuple[str, ...]] = []
    for name, command in sorted(getattr(group, "commands", {}).items()):
        path = (*prefix, name)
        found.append(path)
        found.extend(_commands(command, path))
    return found


COMMANDS = _commands(typer.main.get_command(app))


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_is_in_the_readme(path: tuple[str, ...]) -> None:
    assert f"leakmon {' '.join(path)}" in README


def _fields(model: type, prefix: str = "") -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    for name, field in model.model_fields.items():  # type: ignore[attr-defined]
        out.append((prefix + name, field))
        annotation = field.annotation
        if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
            out.extend(_fields(annotation, f"{prefix}{name}."))
    return out


@pytest.mark.parametrize(("name", "field"), _fields(Settings), ids=lambda v: v if isinstance(v, str) else "")
def test_every_setting_is_described(name: str, field: object) -> None:
    annotation = getattr(field, "annotation", None)
    is_section = isinstance(annotation, type) and hasattr(annotation, "model_fields")
    assert is_section or getattr(field, "description", None), f"setting {name} has no description"
