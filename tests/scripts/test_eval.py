"""`make eval`'s world and scoring on a small world: every type x class cell is planted, decoys
(near misses, other people's values, a relative at a subject's address, a stranger with a subject's
name) produce no hit, and each cell is found."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from eval_detect import build_matcher, correct, evaluate, finds
from eval_world import CELLS, Sighting, build_world

from matchers.model import Hit


@pytest.fixture(scope="module")
def score():  # type: ignore[no-untyped-def]
    world = build_world(subjects=60, per_cell=6, seed=7)
    return evaluate(world, build_matcher(world))


def test_every_cell_is_planted_and_found(score) -> None:  # type: ignore[no-untyped-def]
    assert set(score.cells) >= set(CELLS)
    missed = {
        cell: score.cells[cell] - score.found[cell] for cell in score.cells if score.found[cell] < score.cells[cell]
    }
    assert missed == {}


def test_decoys_give_no_wrong_hit(score) -> None:  # type: ignore[no-untyped-def]
    assert score.hits > 0
    assert score.wrong == 0, score.wrong_examples
    assert score.subjects_found == score.subjects


def _hit(kind: str, subjects: tuple[int, ...]) -> Hit:
    return Hit("address", b"d" * 32, "k", subjects, kind, (), 0.5, "***", 0)


def test_scoring_rules_for_households() -> None:
    household = Sighting("address", "plain", frozenset({1, 2}), exact=False)
    assert finds(_hit("partial", (1, 2)), household)
    assert correct(_hit("partial", (2,)), [household])
    assert not correct(_hit("exact", (1,)), [household])  # an address alone is never exact
    person = Sighting("address", "plain", frozenset({1}))
    assert correct(_hit("exact", (1,)), [person])
    assert not correct(_hit("exact", (1, 3)), [person])
