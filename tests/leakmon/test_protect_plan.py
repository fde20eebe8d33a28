"""Column planning and company-file reading for `protect import`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from leakmon.errors import InputError
from leakmon.protect import parse_column_options, plan_columns
from leakmon.tables import open_table

KNOWN = ("phone", "email", "name", "rrn")


def test_columns_named_by_type_are_planned() -> None:
    plan = plan_columns(["subject_ref", "Phone", "email"], subject_column="subject_ref", mapping={}, known_types=KNOWN)
    assert plan.subject_index == 0
    assert plan.typed == ((1, "phone"), (2, "email"))


def test_unmapped_columns_are_an_error_that_names_them() -> None:
    with pytest.raises(InputError, match="'휴대폰', 'memo'"):
        plan_columns(["subject_ref", "휴대폰", "memo"], subject_column="subject_ref", mapping={}, known_types=KNOWN)


def test_mapping_and_ignoring_columns() -> None:
    mapping = parse_column_options(["휴대폰=phone", "memo=-"])
    plan = plan_columns(["id", "휴대폰", "memo"], subject_column="id", mapping=mapping, known_types=KNOWN)
    assert plan.typed == ((1, "phone"),)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["nocolumn=phone"], "not in the header"),
        (["휴대폰=telephone"], "unknown type"),
    ],
)
def test_bad_mappings_are_clear_errors(options: list[str], message: str) -> None:
    with pytest.raises(InputError, match=message):
        plan_columns(
            ["subject_ref", "휴대폰"],
            subject_column="subject_ref",
            mapping=parse_column_options(options),
            known_types=KNOWN,
        )


def test_missing_subject_column() -> None:
    with pytest.raises(InputError, match="--subject-column"):
        plan_columns(["phone"], subject_column="subject_ref", mapping={}, known_types=KNOWN)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp949"])
def test_company_csv_in_common_encodings(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "set.csv"
    path.write_bytes("subject_ref,name\nu1,똠방각하\n".encode(encoding))
    table = open_table(path)
    assert table.header == ("subject_ref", "name")
    assert list(table.rows) == [(2, ("u1", "똠방각하"))]


def test_tsv_and_wrong_encoding(tmp_path: Path) -> None:
    path = tmp_path / "set.tsv"
    path.write_bytes(b"subject_ref\tphone\nu1\t010\n")
    assert open_table(path).header == ("subject_ref", "phone")
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"subject_ref,name\nu1,\xff\xfe\xfa\xfb\n")
    with pytest.raises(InputError, match="neither UTF-8 nor CP949"):
        open_table(bad)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(InputError, match="header row is required"):
        open_table(path)


def _company_file(path: Path, rows: int) -> Path:
    lines = ["subject_ref,phone,email"]
    for i in range(rows):
        if i % 997 == 5:
            lines.append(f",010{i:08d},u{i}@naver.com")  # no subject
        elif i % 1009 == 7:
            lines.append(f"s{i},12,not-an-email")  # two invalid values
        else:
            lines.append(f"s{i},010-{i % 10000:04d}-{i // 10000:04d},user{i}@Hanmail.net")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_worker_processes_hash_exactly_what_one_process_does(tmp_path: Path) -> None:
    from leakmon.protect import CHUNK_ROWS, ImportReport, hash_rows
    from matchers.keyed_hash import KeyedHasher
    from matchers.protect import protected_forms

    path = _company_file(tmp_path / "set.csv", 2 * CHUNK_ROWS + 123)  # three chunks, the last one short
    hasher = KeyedHasher(b"k" * 32)
    outcomes = []
    for jobs in (1, 2):
        table = open_table(path)
        plan = plan_columns(table.header, subject_column="subject_ref", mapping={}, known_types=KNOWN)
        report = ImportReport()
        staged = [row for batch in hash_rows(table, plan, hasher, protected_forms, report, jobs=jobs) for row in batch]
        outcomes.append((staged, report))
    (one, one_report), (two, two_report) = outcomes
    assert two == one  # same rows, same order
    assert len(one) == one_report.digests == two_report.digests > 2 * CHUNK_ROWS
    assert (
        (two_report.rows, two_report.values)
        == (one_report.rows, one_report.values)
        == (2 * CHUNK_ROWS + 123, (2 * CHUNK_ROWS + 123 - 21) * 2)
    )
    assert two_report.invalid == one_report.invalid
    assert two_report.invalid_rows == one_report.invalid_rows
    assert one_report.invalid == {"subject_ref": 21, "phone": 20, "email": 20}


def test_utf8_csv_whose_sniffed_sample_ends_inside_a_korean_character(tmp_path: Path) -> None:
    """The first megabyte ends one byte into a 3-byte character: trimming 3 bytes cut the one before."""
    from leakmon.tables import _SNIFF_BYTES

    row = "김철수,010-1234-5678\n".encode()
    for pad in range(3):
        data = b"subject_ref,name,phone\n" + b"u" * pad + b",x,y\n" + row * (_SNIFF_BYTES // len(row) + 10)
        head = data[:_SNIFF_BYTES]
        try:
            head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            break  # the cut the old sniffing tripped on
    else:
        pytest.fail("no padding put the sample boundary one byte into a character")
    path = tmp_path / "korean.csv"
    path.write_bytes(data)
    table = open_table(path)
    rows = list(table.rows)
    assert table.header == ("subject_ref", "name", "phone")
    assert rows[-1][1] == ("김철수", "010-1234-5678")
    assert len(rows) == 1 + _SNIFF_BYTES // len(row) + 10


def test_hashing_pauses_the_collector_and_always_restores_it(tmp_path: Path) -> None:
    """The cyclic collector is off while rows are read and hashed (it took half the time), and comes
    back after the last batch, after a consumer that stops early or fails, and stays off if it was."""
    import gc
    import os

    from leakmon.protect import ImportReport, hash_rows
    from matchers.keyed_hash import KeyedHasher
    from matchers.protect import ProtectedForms
    from storage.repositories.protected import DigestBatch

    path = tmp_path / "set.csv"
    path.write_text("subject_ref,phone\n" + "".join(f"s{i},010{i:08d}\n" for i in range(25_000)), encoding="utf-8")
    hasher = KeyedHasher(os.urandom(32), "k")

    def batches() -> Iterator[DigestBatch]:
        table = open_table(path)
        plan = plan_columns(table.header, subject_column="subject_ref", mapping={}, known_types=KNOWN)
        return hash_rows(table, plan, hasher, ProtectedForms(), ImportReport())

    assert gc.isenabled()
    seen = []
    for _batch in batches():
        seen.append(gc.isenabled())
    assert seen == [False, False, False]
    assert gc.isenabled()

    def store_fails() -> None:
        for _batch in batches():
            raise RuntimeError("the store failed")

    with pytest.raises(RuntimeError):
        store_fails()
    assert gc.isenabled()
    gc.disable()
    try:
        assert sum(1 for _ in batches()) == 3
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_import_hashes_every_form_in_one_native_call_per_form(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Issue 11: protect import hashes with the kernel, every type and form (the bulk paths and the
    one-value reference alike) packed into ``digest_packed`` calls, never a digest per value; the
    digests equal the one-value reference's."""
    from leakmon.protect import ImportReport, hash_rows
    from matchers.keyed_hash import KeyedHasher
    from matchers.protect import ProtectedForms, protected_digests

    rows = [
        ("s1", "010-1234-5678", "user1@naver.com", "김민서"),
        ("s2", "+82 10 2222 3333", "USER.Two@Daum.net", "이도윤"),
        ("s3", "(011)345-6789", "a.b@hanmail.net", "박 지 호"),
    ]
    path = tmp_path / "set.csv"
    path.write_text("subject_ref,phone,email,name\n" + "".join(",".join(r) + "\n" for r in rows), encoding="utf-8")
    hasher = KeyedHasher(b"k" * 32)
    expected = {
        (subject, id_type, form, digest)
        for subject, *values in rows
        for id_type, value in zip(("phone", "email", "name"), values, strict=True)
        for form, digest in protected_digests(hasher, id_type, value)
    }
    calls: list[str] = []
    packed = KeyedHasher.digest_packed

    def counted(self: KeyedHasher, id_type: str, data: bytes, width: int = 0, form: str = "full") -> bytes:
        calls.append(f"{id_type}/{form}")
        return packed(self, id_type, data, width, form)

    def refused(*_args: object, **_kwargs: object) -> bytes:
        raise AssertionError("a digest per value during an import")

    monkeypatch.setattr(KeyedHasher, "digest_packed", counted)
    for name in ("digest", "digest_many", "joined_digests"):
        monkeypatch.setattr(KeyedHasher, name, refused)
    table = open_table(path)
    plan = plan_columns(table.header, subject_column="subject_ref", mapping={}, known_types=KNOWN)
    report = ImportReport()
    staged = [row for batch in hash_rows(table, plan, hasher, ProtectedForms(), report) for row in batch]
    assert {(subject, id_type, form, digest) for subject, _, id_type, form, digest in staged} == expected
    assert report.invalid == {}
    # a few calls per type and form in the one chunk (phones: one per bulk length and the reference's)
    assert max(calls.count(c) for c in calls) <= 3
    assert {c.split("/")[0] for c in calls} == {"phone", "email", "name"}
    assert len(expected) > len(calls) > 3
