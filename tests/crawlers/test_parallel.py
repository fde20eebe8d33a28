"""Big files matched by workers: the rows, findings and file reports equal the reader's, for one and two jobs.

Line files (text, combolist, CSV/TSV, JSON lines) are read in byte ranges by the workers
(:mod:`crawlers.files.ranges`); everything else is read by the parent's reader and matched by the
workers. Either way the hit rows must be exactly those of the plain serial reader path.
"""

from __future__ import annotations

import contextlib
import gzip
import itertools
import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

import crawlers.analyzer as analyzer_module
import crawlers.parallel as parallel_module
from crawlers.analyzer import Analysis, AnalysisOptions, Analyzer
from crawlers.files import ReadLimits
from crawlers.files.ranges import RangeState, plan_lines, range_items, raw_block
from crawlers.model import Attachment, CrawledPost, TextBlock
from crawlers.parallel import ParallelScanner, block_ranges
from matchers.engine import Matcher
from matchers.index import ProtectedIndex
from matchers.keyed_hash import KeyedHasher, prefix64
from matchers.registry import IdentifierRegistry
from storage.repositories.hits import HitRow
from tests.matchers.conftest import TEST_KEY, build_pairs

LIMITS = ReadLimits(block_bytes=4096)
RANGE_BYTES = 1500  # many ranges, smaller than the reader's blocks


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    hasher, registry = KeyedHasher(TEST_KEY), IdentifierRegistry.default()
    return Matcher(hasher, ProtectedIndex.from_digests(build_pairs(hasher, registry)), registry)


@pytest.fixture(autouse=True)
def _every_file_is_big(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analyzer_module, "PARALLEL_MIN_BYTES", 1)


def _rows(i: int) -> tuple[str, str, str, str]:
    """(name, phone, email, note) of row ``i``: protected values every 37 rows, in varied forms."""
    if i % 37 == 5:
        return "김철수", "010-1234-5678", "kim.chulsoo@hanmail.net", "vip"
    if i % 37 == 11:
        return "이영희", "０２-３４５-６７８９", f"user{i}@example.com", "전각"
    if i % 37 == 17:
        return "박지성", "010 9999 5678", "park (at) naver (dot) com", "obfuscated"
    if i % 53 == 3:
        return "박민수", "010-****-5678", "", "masked"
    return f"홍길동{i}", f"010-{i % 9000 + 1000:04d}-{i % 7919:04d}", f"user{i}@example.com", "-"


def _csv(n: int, delimiter: str = ",") -> str:
    lines = [delimiter.join(["이름", "전화번호", "이메일", "비고"])]
    for i in range(n):
        name, phone, email, note = _rows(i)
        if i % 41 == 9:  # a quoted field over three lines, now and then right where a range ends
            note = f'"메모 {i}\n둘째 줄 010-1234-5678\n셋째"'
        lines.append(delimiter.join([name, phone, email, note]))
    return "\n".join(lines) + "\n"


def _jsonl(n: int) -> str:
    lines = []
    for i in range(n):
        name, phone, email, note = _rows(i)
        lines.append(json.dumps({"id": i, "name": name, "tel": phone, "mail": email, "memo": {"note": note}}))
        if i % 97 == 0:
            lines.append("not json 010-1234-5678")
    return "\n".join(lines) + "\n"


def _text(n: int, newline: str = "\n") -> str:
    return newline.join(f"주문 [{i}] {' '.join(_rows(i))} 처리" for i in range(n)) + newline


def _combolist(n: int) -> str:
    return "\n".join(f"{_rows(i)[2] if '@' in _rows(i)[2] else f'u{i}@x.com'}:pass{i}word" for i in range(n)) + "\n"


INTO = "INSERT INTO "


def _sql(n: int) -> str:
    """A dump with what carries state from line to line: CREATE TABLE, INSERTs on one and on many
    lines, a COPY block, a second table defined half-way, comments."""
    out = ["-- MySQL dump", "CREATE TABLE `members` (", "  `name` varchar(20),", "  `phone` varchar(20),"]
    out += ["  `email` varchar(80),", "  `note` text,", "  PRIMARY KEY (`name`)", ");"]
    for i in range(n):
        name, phone, email, note = _rows(i)
        row = f"('{name}','{phone}','{email}','{note}')"
        if i == n // 2:
            out += ["CREATE TABLE orders (", "  buyer varchar(20),", "  tel varchar(20)", ");"]
        if i % 60 == 0:  # one tuple per line until the ";"
            out += ["INSERT INTO `members` VALUES", *(f"{row}," for _ in range(30)), f"{row};"]
        elif i % 75 == 0:
            out += ["COPY members (name, phone, email, note) FROM stdin;"]
            out += [f"{name}\t{phone}\t{email}\t{note}" for _ in range(40)] + ["\\."]
        elif i > n // 2 and i % 3 == 0:
            out.append(f"{INTO}orders VALUES ('{name}','{phone}');")
        else:
            out.append(f"{INTO}`members` VALUES {row},('x','010-0000-{i % 10000:04d}','y','z');")
    return "\n".join(out) + "\n"


FILES: dict[str, bytes] = {
    "dump.sql": _sql(500).encode(),
    "users.csv": _csv(900).encode(),
    "users.tsv": _csv(900, "\t").encode(),
    "members.jsonl": _jsonl(700).encode(),
    "orders.log": _text(900).encode(),
    "windows.txt": _text(600, "\r\n").encode(),
    "oldmac.txt": _text(300, "\r").encode(),  # one range: no newline byte to cut at
    "combo.txt": _combolist(800).encode(),
    "bom.csv": b"\xef\xbb\xbf" + _csv(500).encode(),
    "korean.txt": _text(700).encode("cp949"),
    "crlf.csv": _csv(500).replace("\n", "\r\n").encode(),
    "no_final_newline.txt": _text(500).rstrip("\n").encode(),
}


def _analysis(matcher: Matcher, path: Path, parallel: ParallelScanner | None) -> Analysis:
    analyzer = Analyzer(matcher, AnalysisOptions(read_limits=LIMITS), parallel=parallel)
    post = CrawledPost(
        source="scan", external_id="x", venue="file", attachments=(Attachment(name=path.name, path=path),)
    )
    return analyzer.analyze(post)


def _outcome(analysis: Analysis) -> tuple[list[HitRow], list[tuple[str, str, str]], list[object]]:
    """(rows, findings, [files, content hash, rows added before de-duplication])."""
    with analysis.hits:
        rows = [row for batch in analysis.hits.batches() for row in batch]
    findings = [(f.locator, f.kind, f.reason) for f in analysis.findings]
    return rows, findings, [analysis.files, analysis.content_hash, analysis.hits.hits]


def _scanner(matcher: Matcher, jobs: int) -> ParallelScanner:
    scanner = ParallelScanner(matcher, jobs)
    scanner.range_bytes = RANGE_BYTES
    return scanner


@pytest.mark.parametrize("name", sorted(FILES))
def test_line_files_in_ranges_give_the_readers_rows_with_one_and_two_jobs(
    tmp_path: Path, matcher: Matcher, name: str
) -> None:
    path = tmp_path / name
    path.write_bytes(FILES[name])
    if name != "oldmac.txt":
        assert plan_lines(path, name, LIMITS) is not None, "this file should be read in ranges"
    reader = _outcome(_analysis(matcher, path, None))
    one = _outcome(_analysis(matcher, path, _scanner(matcher, 1)))
    two = _outcome(_analysis(matcher, path, _scanner(matcher, 2)))
    assert reader[2][2] >= 10, "the fixture should hold hits"
    assert one == reader
    assert two == reader


def test_a_quoted_row_across_a_range_end_is_read_with_the_next_range(tmp_path: Path, matcher: Matcher) -> None:
    head = "이름,전화번호,비고\n" + "".join(f"홍길동{i},010-0000-{i:04d},-\n" for i in range(140))
    cut = len(head.encode())
    # the field's later lines (a phone on its 151st) belong to the row on line 142
    quoted = '김철수,010-1234-5678,"첫 줄\n' + "\n".join(f"줄 {i}" for i in range(150)) + " 010-9999-5678\n"
    quoted += "\n".join(f"줄 {i}" for i in range(150, 200)) + '"\n'
    tail = "".join(f"이영희,02-345-6789,{i}\n" for i in range(40))
    path = tmp_path / "quoted.csv"
    path.write_text(head + quoted + tail, encoding="utf-8")
    scanner = _scanner(matcher, 2)
    scanner.range_bytes = cut + 10  # the first range ends inside the quoted field
    reader = _outcome(_analysis(matcher, path, None))
    assert _outcome(_analysis(matcher, path, scanner)) == reader
    phones = {(row.locator, row.subject_id) for row in reader[0] if row.id_type == "phone"}
    assert ("quoted.csv:row 142", 6) in phones  # 010-9999-5678, inside the quoted field
    assert ("quoted.csv:row 343", 2) in phones


def test_invalid_bytes_mid_file_give_the_readers_decode_finding(tmp_path: Path, matcher: Matcher) -> None:
    data = FILES["orders.log"]
    middle = data.index(b"\n", len(data) // 2) + 1
    path = tmp_path / "broken.log"
    path.write_bytes(data[:middle] + b"\xff\xfe broken 010-1234-5678\n" + data[middle:])
    reader = _outcome(_analysis(matcher, path, None))
    assert [kind for _, kind, _ in reader[1]] == ["decode_fallback"]
    assert _outcome(_analysis(matcher, path, _scanner(matcher, 2))) == reader


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("doc.json", json.dumps([{"tel": "010-1234-5678"}] * 50).encode()),
        ("a.txt.gz", gzip.compress(b"010-1234-5678\n" * 50, mtime=0)),
        ("wide.txt", "010-1234-5678\n".encode("utf-16") * 50),
        ("page.html", b"<html><body>010-1234-5678</body></html>\n" * 50),
        ("long.txt", b"x" * 5000 + b" 010-1234-5678\n"),  # no line end in the first chunk
    ],
    ids=["json", "gzip", "utf16", "html", "long-first-line"],
)
def test_other_files_go_through_the_reader_and_give_its_rows(
    tmp_path: Path, matcher: Matcher, name: str, data: bytes
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    assert plan_lines(path, name, LIMITS) is None
    reader = _outcome(_analysis(matcher, path, None))
    assert reader[0], "the fixture should hold a hit"
    assert _outcome(_analysis(matcher, path, _scanner(matcher, 1))) == reader
    assert _outcome(_analysis(matcher, path, _scanner(matcher, 2))) == reader


@pytest.mark.parametrize("workers_confirm", [True, False])
def test_digests_the_database_does_not_confirm_are_dropped_with_any_jobs(
    tmp_path: Path, matcher: Matcher, workers_confirm: bool
) -> None:
    """Workers confirm inside the matcher, as one process does; without a way to (``after_fork``) the
    scan stays in this process (confirming rows afterwards would keep composites of rejected hits)."""
    rejected = {b"nothing yet"}

    def confirm(digests: Sequence[bytes]) -> dict[bytes, tuple[int, ...]]:
        found = matcher.index.lookup(prefix64(digests))
        subjects = {digests[i]: ids for i, ids in found.items()}
        return {d: ids for d, ids in subjects.items() if d not in rejected}

    confirming = Matcher(matcher.hasher, matcher.index, matcher.registry, confirm, matcher.options)
    path = tmp_path / "users.csv"
    path.write_bytes(FILES["users.csv"])
    everything = _outcome(_analysis(confirming, path, None))[0]
    rejected.add(next(row.digest for row in everything if row.id_type == "phone"))
    reader = _outcome(_analysis(confirming, path, None))
    assert 0 < len(reader[0]) < len(everything)
    after_fork = (lambda: None) if workers_confirm else None
    for jobs in (1, 2):
        scanner = ParallelScanner(confirming, jobs, after_fork=after_fork)
        scanner.range_bytes = RANGE_BYTES
        assert _outcome(_analysis(confirming, path, scanner)) == reader


def test_a_range_read_as_raw_bytes_is_the_readers_block(tmp_path: Path) -> None:
    """Where :func:`raw_block` takes a range's bytes as they are, the reader's code gives that one block."""
    used = 0
    for name, data in FILES.items():
        path = tmp_path / name
        path.write_bytes(data)
        plan = plan_lines(path, name, LIMITS)
        if plan is None:
            continue
        line = 1
        for start, end in block_ranges(path, RANGE_BYTES):
            fast, slow = RangeState(), RangeState()
            raw = raw_block(path, plan, start, end, fast)
            items = list(range_items(path, plan, start, end, line, slow))
            if raw is not None:
                used += 1
                assert [item.text.encode() for item in items if isinstance(item, TextBlock)] == [raw]
                assert (fast.blocks, fast.lines) == (slow.blocks, slow.lines)
                assert not slow.findings
            line += sum(item.text.count("\n") + 1 for item in items if isinstance(item, TextBlock))
    assert used >= 20


def test_a_file_past_max_seconds_stops_with_the_readers_cap_time_finding(tmp_path: Path, matcher: Matcher) -> None:
    path = tmp_path / "users.csv"
    path.write_bytes(FILES["users.csv"])
    limits = LIMITS.model_copy(update={"max_seconds": 1e-9})
    outcomes = []
    for parallel in (None, _scanner(matcher, 2)):
        analyzer = Analyzer(matcher, AnalysisOptions(read_limits=limits), parallel=parallel)
        post = CrawledPost(
            source="scan", external_id="x", venue="file", attachments=(Attachment(path.name, path=path),)
        )
        analysis = analyzer.analyze(post)
        analysis.hits.close()
        outcomes.append(([f.kind for f in analysis.findings], [(f.status, f.sha256) for f in analysis.files]))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == ["cap_time"]


def test_a_finished_scan_lets_its_workers_exit_instead_of_killing_them(
    tmp_path: Path, matcher: Matcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``Pool.terminate`` kills a worker even while it writes a result (holding the result queue's
    lock) and then waits forever for the pool's task thread, which needs that lock: a scan that read
    a range again with the next one (its first task still running) hung so under load. A finished
    scan closes the pool and joins its workers; they exit by themselves."""
    workers: list[Any] = []
    real_pool = parallel_module._pool

    @contextlib.contextmanager
    def spying_pool(*args: Any, **kwargs: Any) -> Iterator[Any]:
        with real_pool(*args, **kwargs) as pool:
            workers.extend(pool._pool)
            yield pool

    monkeypatch.setattr(parallel_module, "_pool", spying_pool)
    path = tmp_path / "users.csv"
    path.write_bytes(FILES["users.csv"])  # quoted rows over range ends: ranges read again
    reader = _outcome(_analysis(matcher, path, None))
    assert _outcome(_analysis(matcher, path, _scanner(matcher, 2))) == reader
    assert len(workers) == 2
    for worker in workers:
        worker.join(10)
    assert [worker.exitcode for worker in workers] == [0, 0]


def test_ranges_shrink_toward_the_end_so_two_workers_finish_together(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With two workers, the last ranges are cut smaller (the tail one worker would match alone), never
    under MIN_RANGE; one worker keeps equal ranges. Every range ends at a line end."""
    monkeypatch.setattr(parallel_module, "MIN_RANGE", 1000)
    path = tmp_path / "lines.txt"
    path.write_bytes(b"".join(b"%06d 010-1234-5678 someone@example.com\n" % i for i in range(2000)))
    data = path.read_bytes()
    one, two = block_ranges(path, 8000), block_ranges(path, 8000, workers=2)
    for ranges in (one, two):
        assert ranges[0][0] == 0
        assert ranges[-1][1] == len(data)
        assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
        assert all(data[end - 1 : end] == b"\n" for _, end in ranges)
    sizes = [end - start for start, end in two]
    assert max(end - start for start, end in one[:-1]) - min(end - start for start, end in one[:-1]) < 50
    assert sizes[0] >= 8000
    assert sizes[-3] < 2000  # the tail comes in small pieces
    assert min(sizes[:-1]) >= 1000
    assert sizes == sorted(sizes, reverse=True) or all(  # non-increasing, but for line alignment
        b <= a + 60 for a, b in itertools.pairwise(sizes)
    )


def _counting_pools(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the worker pools forked (one per file matched by workers)."""
    forked: list[int] = []
    real = parallel_module._pool

    @contextlib.contextmanager
    def pool(*args: Any, **kwargs: Any) -> Iterator[Any]:
        forked.append(1)
        with real(*args, **kwargs) as started:
            yield started

    monkeypatch.setattr(parallel_module, "_pool", pool)
    return forked


@pytest.mark.parametrize("name", ["dump.sql", "users.csv", "members.jsonl"])
def test_a_file_started_ahead_is_taken_over_with_the_readers_rows(
    tmp_path: Path, matcher: Matcher, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """`scan --jobs N` starts the workers on its first file before the sink exists: the analyzer then
    takes that scan over (no second pool), and its rows carry the analyzer's file token."""
    path = tmp_path / name
    path.write_bytes(FILES[name])
    reader = _outcome(_analysis(matcher, path, None))
    forked = _counting_pools(monkeypatch)
    scanner = _scanner(matcher, 2)
    assert scanner.prefetch(path, path.name, LIMITS, "scan")
    assert forked == [1]
    assert _outcome(_analysis(matcher, path, scanner)) == reader
    assert forked == [1]


@pytest.mark.parametrize(
    "ahead",
    [{"name": "other.csv"}, {"source": "crawl"}, {"limits": ReadLimits(block_bytes=8192)}],
    ids=["name", "source", "limits"],
)
def test_a_file_started_ahead_for_other_arguments_is_discarded(
    tmp_path: Path, matcher: Matcher, monkeypatch: pytest.MonkeyPatch, ahead: dict[str, Any]
) -> None:
    path = tmp_path / "users.csv"
    path.write_bytes(FILES["users.csv"])
    reader = _outcome(_analysis(matcher, path, None))
    forked = _counting_pools(monkeypatch)
    scanner = _scanner(matcher, 2)
    arguments = {"name": path.name, "limits": LIMITS, "source": "scan", **ahead}
    assert scanner.prefetch(path, arguments["name"], arguments["limits"], arguments["source"])
    assert _outcome(_analysis(matcher, path, scanner)) == reader
    assert forked == [1, 1]  # the first pool was closed, the file matched again


def test_a_scan_started_ahead_and_never_taken_over_is_closed(
    tmp_path: Path, matcher: Matcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "orders.log"
    path.write_bytes(FILES["orders.log"] * 20)
    forked = _counting_pools(monkeypatch)
    scanner = _scanner(matcher, 2)
    assert scanner.prefetch(path, path.name, LIMITS, "scan")
    scanner.close()
    scanner.close()
    assert forked == [1]
    assert scanner.prefetch(path, path.name, LIMITS, "scan")
    scanner.close()
    assert forked == [1, 1]
    assert _outcome(_analysis(matcher, path, scanner)) == _outcome(_analysis(matcher, path, None))


def test_one_job_starts_nothing_ahead(tmp_path: Path, matcher: Matcher, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "users.csv"
    path.write_bytes(FILES["users.csv"])
    forked = _counting_pools(monkeypatch)
    assert not _scanner(matcher, 1).prefetch(path, path.name, LIMITS, "scan")
    assert forked == []


def _counting_sends(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the ranges sent to the workers' pool (``apply_async`` calls, from any thread)."""
    sent: list[int] = []
    real = parallel_module._pool

    class Spy:
        def __init__(self, pool: Any) -> None:
            self._pool = pool

        def apply_async(self, *args: Any, **kwargs: Any) -> Any:
            sent.append(1)
            return self._pool.apply_async(*args, **kwargs)

    @contextlib.contextmanager
    def pool(*args: Any, **kwargs: Any) -> Iterator[Any]:
        with real(*args, **kwargs) as started:
            yield Spy(started)

    monkeypatch.setattr(parallel_module, "_pool", pool)
    return sent


def _settled(sent: list[int], seconds: float = 30.0) -> int:
    """How many ranges were sent once no more are sent for a while (or ``seconds`` passed)."""
    deadline, seen, since = time.monotonic() + seconds, -1, time.monotonic()
    while time.monotonic() < deadline:
        if len(sent) != seen:
            seen, since = len(sent), time.monotonic()
        elif time.monotonic() - since > 1.5:
            break
        time.sleep(0.05)
    return len(sent)


def test_the_workers_go_on_while_the_parent_is_busy_up_to_a_bound(
    tmp_path: Path, matcher: Matcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parent takes no range for a while (it imports, or writes a batch's output): the workers are
    sent the next ranges as theirs finish, not only when the parent takes one (they stood idle with
    four ranges done), until AHEAD_BYTES of finished ranges wait; the rows are the reader's."""
    path = tmp_path / "orders.log"
    path.write_bytes(FILES["orders.log"] * 4)
    ranges = len(block_ranges(path, RANGE_BYTES, workers=2))
    monkeypatch.setattr(parallel_module, "AHEAD_BYTES", 12 * RANGE_BYTES)
    reader = _outcome(_analysis(matcher, path, None))
    sent = _counting_sends(monkeypatch)
    scanner = _scanner(matcher, 2)
    assert scanner.prefetch(path, path.name, LIMITS, "scan")
    ahead = _settled(sent)
    assert ranges > 40
    assert 2 * 2 + 8 <= ahead <= 2 * 2 + 14  # the window, then finished ranges up to the bound
    assert _outcome(_analysis(matcher, path, scanner)) == reader
    assert len(sent) >= ranges


def test_a_sql_dumps_later_ranges_are_sent_once_its_first_is_matched_and_read_once(
    tmp_path: Path, matcher: Matcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A SQL dump's first range is matched alone (it defines the tables); the ranges after it are sent
    as soon as a worker returns it, not when the parent takes it, and start from the state after it:
    none is read twice."""
    path = tmp_path / "members.sql"
    rows = (f"{INTO}`members` VALUES ('{n}','{p}','{e}','{x}');\n" for n, p, e, x in map(_rows, range(1200)))
    path.write_text(_sql(0) + "".join(rows), encoding="utf-8")
    ranges = len(block_ranges(path, RANGE_BYTES, workers=2))
    reader = _outcome(_analysis(matcher, path, None))
    sent = _counting_sends(monkeypatch)
    scanner = _scanner(matcher, 2)
    assert scanner.prefetch(path, path.name, LIMITS, "scan")
    assert _settled(sent) > 2 * 2 + 8
    assert _outcome(_analysis(matcher, path, scanner)) == reader
    assert reader[2][2] >= 10
    assert len(sent) == ranges
