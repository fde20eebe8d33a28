"""Issue 15 item 7: custom identifier patterns run on RE2 only, in the fast and the slow path."""

from __future__ import annotations

import re

import pytest

from matchers.engine import Matcher
from matchers.index import ProtectedIndex
from matchers.keyed_hash import KeyedHasher
from matchers.protect import protected_forms
from matchers.registry import IdentifierRegistry
from matchers.types.custom import CustomRecognizer, CustomType

KEY = b"leakmon-test-key-custom-re2-0001"


@pytest.mark.parametrize("pattern", [r"(M[0-9]+)-\1", r"(?<![0-9])[0-9]{9}", r"[0-9]{9}(?![0-9])", r"(?P<a>x)(?P=a)"])
def test_patterns_re2_cannot_run_are_refused_not_handed_to_stdlib_re(pattern: str) -> None:
    with pytest.raises(ValueError, match="RE2 does not support"):
        CustomType(name="member", pattern=pattern)


def test_both_paths_use_re2_objects() -> None:
    rec = CustomRecognizer(CustomType(name="kakao", pattern=r"(?:카카오|kakao):[a-z0-9_]{4,20}"))
    assert not isinstance(rec.scan_pattern, re.Pattern)  # the slow path (de-obfuscated text)
    assert type(rec.scan_pattern).__module__ == "re2"
    assert type(rec._bytes_re).__name__ == "Pattern"  # not re2.FallbackPattern


def _matcher(spec: CustomType, value: str) -> Matcher:
    registry = IdentifierRegistry.default(custom=[spec])
    hasher = KeyedHasher(KEY)
    pairs = [(hasher.digest(spec.name, c, f), 7) for f, c in protected_forms(spec.name, value, registry)]
    return Matcher(hasher, ProtectedIndex.from_digests(pairs), registry)


def test_a_catastrophic_pattern_on_an_obfuscated_hostile_line_runs_in_linear_time() -> None:
    """``(a+)+$`` backtracks 2^n steps in stdlib ``re`` on ``a``*n + ``!``; RE2 answers at once."""
    spec = CustomType(name="runs", pattern=r"(a+)+$", canonical="strip")
    matcher = _matcher(spec, "aaaa")
    hostile = "０１０ " + "a" * 64 + "!"  # full-width digits send the line to the de-obfuscation slow path
    assert matcher.scan_text(hostile) == []
    assert [h.subject_ids for h in matcher.scan_text("０１０ aaaa")] == [(7,)]


def test_non_ascii_patterns_match_over_utf8_bytes() -> None:
    spec = CustomType(name="kakao_id", pattern=r"(?:카카오|kakao):[a-z0-9_]{4,20}")
    matcher = _matcher(spec, "카카오:leak_user")
    assert [h.subject_ids for h in matcher.scan_text("연락 카카오:leak_user 로")] == [(7,)]


def test_a_custom_hit_is_located_by_its_own_match_not_an_earlier_equal_text() -> None:
    """The value ``12345-X`` is also written inside an earlier match (``K-12345`` took the text first,
    so RE2 never matched ``12345-X`` on line 1): the hit is on line 2, where it was matched. Found by
    searching the text for the value, it was put on line 1 (its span verified by an anchored match)."""
    spec = CustomType(name="ticket", pattern=r"K-[0-9]{5}|[0-9]{5}-X", canonical="strip")
    matcher = _matcher(spec, "12345-X")
    hits = matcher.scan_text("K-12345-X\n12345-X\n")
    assert [(h.id_type, h.line, h.subject_ids) for h in hits] == [("ticket", 1, (7,))]
    # a repeated value: each of its lines holds its own hit
    hits = matcher.scan_text("12345-X K-12345-X\nK-12345-X 12345-X\n")
    assert [(h.line, h.subject_ids) for h in hits] == [(0, (7,)), (1, (7,))]
