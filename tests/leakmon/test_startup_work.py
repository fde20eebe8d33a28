"""Start-up does no work a command does not need (issue 11: start-up plus index load within 1 s)."""

from __future__ import annotations

import subprocess
import sys

COUNT_HASHES = """
import argon2
calls = []
real = argon2.PasswordHasher.hash
argon2.PasswordHasher.hash = lambda self, *a, **k: calls.append(1) or real(self, *a, **k)
import leakmon.cli
print(len(calls))
"""


def test_loading_the_cli_computes_no_password_hash() -> None:
    """The console's dummy argon2 hash (0.35 s of CPU) is made on first use, not by every command."""
    done = subprocess.run([sys.executable, "-c", COUNT_HASHES], capture_output=True, text=True, check=True, timeout=120)
    assert done.stdout.strip() == "0", done.stderr


def test_an_unknown_name_is_still_checked_against_a_hash() -> None:
    from leakmon.web import accounts

    assert accounts.dummy_hash().startswith("$argon2")
    assert accounts.dummy_hash() is accounts.dummy_hash()  # made once
