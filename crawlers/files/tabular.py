"""Delimited tables (csv, tsv, pipe, semicolon): delimiter and header sniffing, rows as lines.

Rows keep their physical line numbers: a row whose quoted field spans lines is put on its first
line and the lines it swallowed stay empty, so ``first_line + i`` is always the line in the file.
The header row stays in the text as row 1 (nothing is lost when the header guess is wrong) and
also names the block's ``columns``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from statistics import mode
from typing import Literal

from crawlers.files.context import Item, Member
from crawlers.files.lines import Batch
from crawlers.model import Finding, TextBlock

DELIMITERS = ("\t", ",", "|", ";")
_SAMPLE_LINES = 100
_MAX_CARRY_LINES = 1000
# Header words in Korean and English dumps; a first row made of such words is a header even when
# the rows below it look alike.
HEADER_WORDS = frozenset(
    """이름 성명 성함 고객명 회원명 전화 전화번호 휴대폰 휴대폰번호 핸드폰 연락처 휴대전화 이메일 메일 전자우편
    주소 배송지 우편번호 주민번호 주민등록번호 생년월일 생일 성별 아이디 비밀번호 가입일 계좌 계좌번호 카드번호
    name fullname username user id email mail e-mail phone mobile tel telephone cell address addr zip zipcode
    postcode rrn ssn birth birthday dob gender sex password passwd login account created""".split()  # noqa: SIM905 - a word list reads better than a literal
)
_DATA_LIKE = re.compile(r"[0-9@]")
_QUOTED = re.compile(r'"[^"]*"')


def sniff_delimiter(lines: list[str]) -> str | None:
    """The delimiter splitting most sample lines into the same number (>0) of fields, if any.

    Hand-written: csv.Sniffer guesses from quoting and often fails on the unquoted dumps sellers post;
    a consistent per-line count is predictable and fast.
    """
    sample = [_QUOTED.sub("", line) for line in lines[:_SAMPLE_LINES] if line.strip()]
    if len(sample) < 2:
        return None
    best: tuple[float, str] | None = None
    for delimiter in DELIMITERS:
        counts = [line.count(delimiter) for line in sample]
        common = mode(counts)
        if common == 0:
            continue
        share = counts.count(common) / len(counts)
        if share >= 0.7 and (best is None or share > best[0]):
            best = (share, delimiter)
    return best[1] if best else None


def header_of(fields: list[str], next_fields: list[str] | None) -> tuple[str, ...] | None:
    """``fields`` as column names when they look like a header, else None."""
    names = [field.strip().strip("\"'").strip() for field in fields]
    if len(names) < 2 or any(_DATA_LIKE.search(name) and not _known(name) for name in names):
        return None
    if any(_known(name) for name in names):
        return tuple(names)
    if next_fields and any(_DATA_LIKE.search(field) for field in next_fields):
        return tuple(names)
    return None


def _known(name: str) -> bool:
    key = re.sub(r"[\s_\-.()]", "", name.lower())
    return key in HEADER_WORDS or key.rstrip("0123456789") in HEADER_WORDS


class DelimitedReader:
    """Turns line batches of one delimited file into row blocks (unit ``row``)."""

    def __init__(
        self, member: Member, delimiter: str, *, header: tuple[str, ...] | Literal[True] | None = True
    ) -> None:
        """``header``: True to take it from the first batch, else the columns already known (a range
        of a file whose first line was read elsewhere, see :mod:`crawlers.files.ranges`)."""
        self.member = member
        self.delimiter = delimiter
        self.columns: tuple[str, ...] | None = None if header is True else header
        self._carry: list[str] = []
        self._carry_start = 0
        self._first = header is True
        self.cut_at_end = False  # a quoted row was still open when the input ended

    def read(self, batches: Iterator[Batch | Finding]) -> Iterator[Item]:
        """All row blocks and findings of the file."""
        for batch in batches:
            if isinstance(batch, Finding):
                yield batch
            elif batch.piece:
                yield from self._flush_carry()
                yield TextBlock(self.member.locator, batch.lines[0], batch.first_line, unit="row")
            else:
                yield from self._batch(batch)
        self.cut_at_end = bool(self._carry)
        yield from self._flush_carry()

    def _batch(self, batch: Batch) -> Iterator[Item]:
        lines, first = batch.lines, batch.first_line
        if self._first:
            self._first = False
            head = list(csv.reader(lines[:2], delimiter=self.delimiter))
            if head:
                self.columns = header_of(head[0], head[1] if len(head) > 1 else None)
        if self._carry:
            lines, first = self._carry + lines, self._carry_start
            self._carry = []
        if not lines:
            return
        text = "\n".join(lines)
        if '"' not in text:
            yield self._block(text, first)
            return
        rows, carry = self._parse(lines)
        if carry:
            self._carry, self._carry_start = carry, first + len(rows)
        if rows:
            yield self._block("\n".join(rows), first)

    def _parse(self, lines: list[str]) -> tuple[list[str], list[str]]:
        """Rows aligned with ``lines`` and the lines of a quoted row that the batch cut short."""
        out: list[str] = []
        delimiter = self.delimiter
        clean = str.maketrans({delimiter: " ", "\n": " ", "\r": " "})
        feed = iter([line + "\n" for line in lines])  # one iterator: a new reader resumes after an error
        while len(out) < len(lines):
            start = len(out)
            reader = csv.reader(feed, delimiter=delimiter, strict=True)
            try:
                for row in reader:
                    span = start + reader.line_num - len(out)
                    joined = delimiter.join(row)  # as is unless a field holds the delimiter or a line end
                    if joined.count(delimiter) != len(row) - 1 or "\n" in joined or "\r" in joined:
                        joined = delimiter.join(field.translate(clean) for field in row)
                    out.append(joined)
                    out.extend([""] * (span - 1))
            except csv.Error:
                consumed = start + reader.line_num
                if consumed >= len(lines) and len(lines) - len(out) <= _MAX_CARRY_LINES:
                    return out, lines[len(out) :]
                out.extend(lines[len(out) : max(consumed, len(out) + 1)])  # malformed: keep the raw lines
        return out, []

    def _flush_carry(self) -> Iterator[Item]:
        if self._carry:
            yield self._block("\n".join(self._carry), self._carry_start)
            self._carry = []

    def _block(self, text: str, first: int) -> TextBlock:
        return TextBlock(self.member.locator, text, first, unit="row", columns=self.columns, delimiter=self.delimiter)
