"""The hit path reports exactly what it reported before: every field of every hit, in order, on a
mixed corpus (tests/matchers/mixed_corpus.py) against fingerprints in hits_golden.json.

A change that is meant to alter hits regenerates the file (``python -m tests.matchers.mixed_corpus``)
and says why in its commit message; a speed-up must leave it untouched.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.matchers.mixed_corpus import cases, fingerprint

GOLDEN: dict[str, list[object]] = json.loads(Path(__file__).with_name("hits_golden.json").read_text(encoding="utf-8"))
CASES = {case.name: case for case in cases()}


def test_every_case_has_a_fingerprint() -> None:
    assert sorted(GOLDEN) == sorted(CASES)
    assert all(count for count, _ in GOLDEN.values())  # each case reports hits


@pytest.mark.parametrize("name", sorted(CASES))
def test_hits_unchanged(name: str) -> None:
    count, digest = fingerprint(CASES[name])
    assert (count, digest) == tuple(GOLDEN[name])
