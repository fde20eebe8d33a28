"""`leakmon demo` runs the checkout's scripts/demo.py with this interpreter (the demo itself: tests/scripts)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from leakmon.commands import demo
from tests.leakmon.cli import run_cli


def test_demo_passes_its_options_to_the_script_and_its_exit_code_back(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    calls: list[list[str]] = []

    def fake_call(argv: list[str]) -> int:
        calls.append(argv)
        return 3

    monkeypatch.setattr(demo.subprocess, "call", fake_call)
    result = run_cli(capsys, "demo", "--subjects", "50", "--out", str(tmp_path / "w"))
    assert result.code == 3
    assert calls == [[sys.executable, str(demo.DEMO_SCRIPT), "--subjects", "50", "--out", str(tmp_path / "w")]]
    assert demo.DEMO_SCRIPT.is_file()


def test_demo_without_a_source_checkout_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setattr(demo, "DEMO_SCRIPT", tmp_path / "scripts" / "demo.py")
    result = run_cli(capsys, "demo")
    assert result.code == 2
    assert "source checkout" in result.err
