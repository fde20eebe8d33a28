"""The one-subject path of the record rules (matchers/records.py ``_one_subject_hits``: hits of a
record built from the templates of the first record of the same shape) reports exactly what the
general rules report, field for field and in order, whatever the record holds: households,
partial values, composites, context words, columns, value-dependent validation labels and notes.
Also the engine's shortcuts that feed it (context words in one RE2 search, duplicates dropped)."""

from __future__ import annotations

import pytest

from matchers import records
from matchers.engine import Matcher, _dedupe
from matchers.model import Found, Hit
from matchers.registry import IdentifierRegistry
from tests.matchers.mixed_corpus import build_matcher, cases, people, render, run_case

GENERATED = people(40, seed=11)
HEADER = ["이름", "휴대폰", "이메일", "주소", "메모"]


@pytest.fixture(scope="module")
def fast() -> Matcher:
    return build_matcher(IdentifierRegistry.default(), GENERATED)


def _general(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every record through the general rules (the one-subject path declines)."""
    monkeypatch.setattr(records, "_one_subject_hits", lambda ctx, strong, weak: None)


def _scan(matcher: Matcher, text: str, **kwargs: object) -> list[str]:
    data = text.encode()
    if kwargs.pop("whole", False):
        hits = matcher.scan_bytes(data, record_scope="all", **kwargs)  # type: ignore[arg-type]
    else:
        hits = [h for batch in matcher.iter_hits(data, **kwargs) for h in batch]  # type: ignore[arg-type]
    return [render(h) for h in hits]


def _both(monkeypatch: pytest.MonkeyPatch, matcher: Matcher, text: str, **kwargs: object) -> list[str]:
    """The hits of ``text`` by the one-subject path, asserted equal to the general rules' hits."""
    fast_hits = _scan(matcher, text, **kwargs)
    with monkeypatch.context() as m:
        _general(m)
        general_hits = _scan(matcher, text, **kwargs)
    assert fast_hits == general_hits
    return fast_hits


def _row(p: dict[str, str], *, name: str | None = None, phone: str | None = None, email: str | None = None) -> str:
    return ",".join(
        [
            name if name is not None else p["name"],
            phone if phone is not None else p["phone"],
            email if email is not None else p["email"],
            p.get("address", ""),
            "VIP",
        ]
    )


@pytest.mark.parametrize("case", list(cases()), ids=lambda c: c.name)
def test_every_mixed_corpus_case_is_what_the_general_rules_report(
    case: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast_hits = [render(h) for h in run_case(case, {})]  # type: ignore[arg-type]
    _general(monkeypatch)
    assert fast_hits == [render(h) for h in run_case(case, {})]  # type: ignore[arg-type]


def test_alike_rows_are_built_from_one_template(fast: Matcher, monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[int] = []
    first = records._one_subject_built

    def counting(*args: object) -> list[Hit]:
        built.append(1)
        return first(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(records, "_one_subject_built", counting)
    alike = [p for p in GENERATED if "address" in p and "daum" not in p["email"] and "hanmail" not in p["email"]]
    text = "\n".join(_row(p) for p in alike) + "\n"
    hits = _scan(fast, text, columns=HEADER, delimiter=",")
    assert len(hits) == 4 * len(alike)  # name (composite), phone, e-mail, address
    assert len(built) == 1  # every row after the first from the template
    monkeypatch.setattr(records, "_one_subject_built", first)
    assert hits == _both(monkeypatch, fast, text, columns=HEADER, delimiter=",")


def test_templated_hits_are_distinct_objects(fast: Matcher) -> None:
    text = "\n".join(_row(p) for p in GENERATED[1:4]) + "\n"
    hits = [h for batch in fast.iter_hits(text.encode(), columns=HEADER, delimiter=",") for h in batch]
    assert len({id(h.extra) for h in hits}) == len(hits)
    assert all(type(h) is Hit for h in hits)
    hits[-1].extra["column"] = "changed"
    again = [h for batch in fast.iter_hits(text.encode(), columns=HEADER, delimiter=",") for h in batch]
    assert all(h.extra.get("column") != "changed" for h in again)


def test_rows_of_different_shapes_are_what_the_general_rules_report(
    fast: Matcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    p, q = GENERATED[1], GENERATED[2]
    rows = [
        _row(p),
        _row(p, phone="+82 " + p["phone"][1:]),  # another class (international)
        _row(p, phone=p["phone"][:3] + " - " + p["phone"][3:7] + " - " + p["phone"][7:]),  # spaced, slow path
        "연락처 " + _row(p),  # context words on the record
        _row(p, email="kim.chulsoo@daum.net"),  # subject 1's e-mail by its alias: a note that follows the value
        _row(p, name=q["name"]),  # a stranger's name: no composite
        _row(p, email=q["email"]),  # two subjects: general rules
        _row(p, name=""),  # no name
        ",".join(["", "", "", p.get("address", ""), ""]),  # an address alone: partial (household)
        ",".join([p["name"], "", "", p.get("address", ""), ""]),  # address and name: household made exact
        _row(p, phone="010-****-" + p["phone"][-4:]),  # a masked phone: partial
        "김철수,010-1234-5678,900101-1234568,,",  # RRN: a validation label that follows the value
        "김철수,011-234-5678,850505-5123456,,",  # FRN through the RRN recognizer
        "박민수,02-345-6789,,,",  # a household phone (2 and 3) with one subject's name
        _row(p) + "," + _row(p),  # the same values twice on a line
        _row(p).replace(",", "\t"),  # another delimiter than the configured one
        ",".join([p["phone"], p["name"], p["email"], p.get("address", ""), "VIP"]),  # other columns
        "박지성,010-9999-5678,park@naver.com,,",  # subject 6, then subject 1 in the same shape but for
        "김철수,010-1234-5678,kim.chulsoo@hanmail.net,,",  # the alias note of an e-mail domain
        "박민수,,030303-4123456,,",  # subject 3, then subject 1 in the same shape but for the checksum
        "김철수,,900101-1234568,,",
    ]
    text = "\n".join(rows + rows) + "\n"  # each shape twice: built, then from its template
    for kwargs in ({"columns": HEADER, "delimiter": ","}, {"columns": HEADER}, {}, {"whole": True}):
        assert _both(monkeypatch, fast, text, **kwargs)


def test_names_are_never_joined_across_records(fast: Matcher, monkeypatch: pytest.MonkeyPatch) -> None:
    p, q = GENERATED[3], GENERATED[4]
    text = f"{p['name']},{q['phone']},,,\n{q['name']},{p['phone']},,,\n"
    hits = _both(monkeypatch, fast, text, columns=HEADER, delimiter=",")
    assert len(hits) == 2
    assert all("'exact'" in h and "'phone'" in h for h in hits)  # neither name counts: no composite


def test_a_one_subject_row_gets_its_composite_and_corroboration(fast: Matcher) -> None:
    p = GENERATED[5]
    hits = [h for batch in fast.iter_hits(_row(p).encode(), columns=HEADER, delimiter=",") for h in batch]
    kinds = [(h.id_type, h.match_kind, h.extra.get("corroborated_by")) for h in hits]
    assert kinds[0] == ("name", "composite", "phone,email" + (",address" if "address" in p else ""))
    assert kinds[1][:2] == ("phone", "exact")
    assert "name" in (kinds[1][2] or "")
    assert {h.subject_ids for h in hits} == {(GENERATED.index(p) + 101,)}


@pytest.mark.parametrize(
    "text",
    [
        "nothing here at all",
        "연락처: 010",
        "E-MAIL: x",
        "Address line",
        "카드번호 없음",
        "member no. (x) a.b",
        "ÏD \u0130d",
        "lone \udc80 surrogate id",
        "",
    ],
)
def test_any_context_is_a_substring_test_of_every_word(fast: Matcher, text: str) -> None:
    folded = text.casefold()
    assert fast.any_context(text) == any(w in folded for w in fast._context_any)


def test_any_context_reads_custom_words_literally() -> None:
    from matchers.types.custom import CustomType

    registry = IdentifierRegistry.default(
        custom=[CustomType(name="ticket", pattern=r"T[0-9]{6}", canonical="lowercase", context=["a.b", "(no)", "x|y"])]
    )
    matcher = build_matcher(registry, [])
    assert matcher.any_context("see (NO) here")
    assert matcher.any_context("x|y")
    assert not matcher.any_context("axb no x y")


def test_dedupe_keeps_the_first_of_each_line_type_form_digest() -> None:
    rec = IdentifierRegistry.default().get("phone")

    def found(line: int, digest: bytes, start: int, form: str = "full") -> Found:
        return Found.of(
            rec,
            "821012345678",
            form,
            digest=digest,
            subjects=(1,),
            line=line,
            start=start,
            obfuscation=(),
            extractor="phone.fast",
            line_text="x",
        )

    a, b, c, d, e = found(0, b"a", 0), found(0, b"a", 5), found(1, b"a", 0), found(0, b"b", 0), found(0, b"a", 9, "p7")
    assert _dedupe([a, b, c, d, e, b]) == [a, c, d, e]
    assert _dedupe([a, c, d]) == [a, c, d]
    assert _dedupe([]) == []
    assert _dedupe([a]) == [a]
