"""`make eval`: recall per type x obfuscation class, subject recall and precision on a labelled world.

A benchmark that prints figures (targets: recall >= 0.95 per class, precision >= 0.995, subject
recall 1.0), not a test: tests assert each class's behaviour. The world comes from
``scripts/eval_world.py``; its protected set goes through the real normalizer and keyed hash, and
every record through ``Matcher.scan_text`` as its reader would hand it over.

    python scripts/eval_detect.py [--subjects 400] [--per-cell 60] [--seed 13]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eval_world import CUSTOM, CUSTOM_PATTERN, Record, Sighting, World, build_world

from matchers.engine import Matcher
from matchers.index import ProtectedIndex
from matchers.keyed_hash import KeyedHasher
from matchers.model import COMPOSITE, EXACT, PARTIAL, Hit
from matchers.protect import protected_forms
from matchers.registry import IdentifierRegistry
from matchers.types.custom import CustomType

TARGET_RECALL = 0.95
TARGET_PRECISION = 0.995
_DELIMITERS = {"csv": ",", "json": "\t"}


def build_matcher(world: World) -> Matcher:
    registry = IdentifierRegistry.default(custom=[CustomType(CUSTOM, CUSTOM_PATTERN, canonical="digits")])
    hasher = KeyedHasher(b"leakmon-eval-key-not-a-secret")
    pairs = [
        (hasher.digest(id_type, canonical, form), sid)
        for sid, id_type, value in world.protected_rows()
        for form, canonical in protected_forms(id_type, value, registry)
    ]
    return Matcher(hasher, ProtectedIndex.from_digests(pairs), registry)


def _same_type(hit: Hit, sighting: Sighting) -> bool:
    return hit.id_type == sighting.id_type or {hit.id_type, sighting.id_type} == {"rrn", "frn"}


def finds(hit: Hit, sighting: Sighting) -> bool:
    """The hit reports the sighting: exact sightings need an exact or composite hit of the owner."""
    if not _same_type(hit, sighting) or not sighting.owners & set(hit.subject_ids):
        return False
    return not sighting.exact or hit.match_kind in (EXACT, COMPOSITE)


def correct(hit: Hit, planted: list[Sighting]) -> bool:
    """A partial hit is right when the owner is among its compatible subjects; an exact or composite
    hit only when every subject it names owns a value planted as exact evidence."""
    for s in planted:
        if not _same_type(hit, s):
            continue
        if hit.match_kind == PARTIAL and s.owners & set(hit.subject_ids):
            return True
        if hit.match_kind != PARTIAL and s.exact and set(hit.subject_ids) <= s.owners:
            return True
    return False


@dataclass
class Score:
    cells: Counter[tuple[str, str]] = field(default_factory=Counter)
    found: Counter[tuple[str, str]] = field(default_factory=Counter)
    venues: Counter[str] = field(default_factory=Counter)
    venues_found: Counter[str] = field(default_factory=Counter)
    hits: int = 0
    wrong: int = 0
    wrong_examples: list[str] = field(default_factory=list)
    subjects: set[int] = field(default_factory=set)
    subjects_found: set[int] = field(default_factory=set)

    def add(self, record: Record, hits: list[Hit]) -> None:
        for s in record.planted:
            cell = (s.id_type, s.cls)
            self.cells[cell] += 1
            self.venues[record.venue] += 1
            self.subjects |= s.owners
            matched = [h for h in hits if finds(h, s)]
            if matched:
                self.found[cell] += 1
                self.venues_found[record.venue] += 1
                self.subjects_found |= s.owners & {sid for h in matched for sid in h.subject_ids}
        for h in hits:
            self.hits += 1
            if not correct(h, record.planted):
                self.wrong += 1
                if len(self.wrong_examples) < 5:
                    self.wrong_examples.append(f"{record.venue}: {h.id_type} {h.match_kind} {h.obfuscation_label}")


def evaluate(world: World, matcher: Matcher) -> Score:
    score = Score()
    for record in world.records:
        hits = matcher.scan_text(
            record.text,
            columns=record.columns,
            delimiter=_DELIMITERS.get(record.venue),
            record_scope=record.scope,
        )
        score.add(record, hits)
    return score


def report(score: Score, seconds: float, records: int) -> list[str]:
    lines = [f"{'type':<9} {'class':<22} {'n':>5} {'found':>6} {'recall':>7}"]
    worst = 1.0
    for cell in sorted(score.cells):
        n, k = score.cells[cell], score.found[cell]
        worst = min(worst, k / n)
        flag = "" if k / n >= TARGET_RECALL else "  below target"
        lines.append(f"{cell[0]:<9} {cell[1]:<22} {n:>5} {k:>6} {k / n:>7.3f}{flag}")
    lines.append("")
    for venue in sorted(score.venues):
        lines.append(f"venue {venue:<9} recall {score.venues_found[venue] / score.venues[venue]:.3f}")
    precision = 1 - score.wrong / score.hits if score.hits else 1.0
    subject_recall = len(score.subjects_found) / len(score.subjects) if score.subjects else 1.0
    lines += [
        "",
        f"lowest class recall {worst:.3f} (target >= {TARGET_RECALL})",
        f"precision {precision:.4f} ({score.wrong} wrong of {score.hits} hits; target >= {TARGET_PRECISION})",
        f"subject recall {subject_recall:.3f} ({len(score.subjects_found)} of {len(score.subjects)}; target 1.0)",
        f"{records} records in {seconds:.1f} s (a benchmark: figures vary with machine load)",
    ]
    lines += [f"  wrong: {w}" for w in score.wrong_examples]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subjects", type=int, default=400)
    parser.add_argument("--per-cell", type=int, default=60)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    world = build_world(args.subjects, args.per_cell, args.seed)
    matcher = build_matcher(world)
    start = time.perf_counter()
    score = evaluate(world, matcher)
    print("\n".join(report(score, time.perf_counter() - start, len(world.records))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
