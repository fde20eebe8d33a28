"""Archives and compressed streams: members read in memory, names safe, passwords from the post."""

from __future__ import annotations

import base64
import bz2
import io
import lzma
import tarfile
import zipfile
from pathlib import Path

import py7zr
import pytest
from files_builders import aes_zip_of, blocks, gzip_bytes, kinds, lines_at, raw_rar, raw_zip, zip_of

from crawlers.files import (
    STATUS_FAILED,
    STATUS_OK,
    STATUS_PARTIAL,
    STATUS_SKIPPED,
    ReadLimits,
    passwords_from_text,
    read_bytes,
    read_path,
)

USERS_CSV = "이름,전화번호\n김철수,010-1234-5678\n이영희,010-2222-3333\n".encode()
POST_TEXT = "한국 쇼핑몰 회원 DB 샘플 올립니다. 압축 비번: 똠1234 (문의는 텔레그램)"


def test_zip_member_locator_names_chain_and_columns(tmp_path: Path) -> None:
    path = tmp_path / "sample.zip"
    path.write_bytes(zip_of({"inner/users.csv": USERS_CSV, "readme.txt": b"contact kim@naver.com\n"}))
    reading = read_path(path)
    found = lines_at(reading)
    assert found == {
        "sample.zip!inner/users.csv:row 1": "이름,전화번호",
        "sample.zip!inner/users.csv:row 2": "김철수,010-1234-5678",
        "sample.zip!inner/users.csv:row 3": "이영희,010-2222-3333",
        "sample.zip!readme.txt:line 1": "contact kim@naver.com",
    }
    report = reading.report
    assert (report.status, report.detected_type, report.members) == (STATUS_OK, "zip", 2)
    assert report.findings == ()


def test_cp949_member_names_without_utf8_flag() -> None:
    data = raw_zip([("회원/고객명단_똠.csv".encode("cp949"), "이름,전화번호\n똠방,010-1234-5678\n".encode("cp949"))])
    items = list(read_bytes("k.zip", data))
    (block,) = blocks(items)
    assert block.locator == "k.zip!회원/고객명단_똠.csv"
    assert block.text == "이름,전화번호\n똠방,010-1234-5678"
    assert kinds(items) == []


@pytest.mark.parametrize(
    ("raw_name", "clean"),
    [("../../etc/x.csv", "etc/x.csv"), ("/abs/path/x.csv", "abs/path/x.csv"), ("C:\\win\\x.csv", "win/x.csv")],
)
def test_traversal_and_absolute_names_are_read_in_memory_and_reported(
    raw_name: str, clean: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    reading = read_bytes("evil.zip", raw_zip([(raw_name.encode(), USERS_CSV)], utf8=True))
    items = list(reading)
    assert [block.locator for block in blocks(items)] == [f"evil.zip!{clean}"]
    assert kinds(items) == ["path_traversal"]
    assert reading.report.status == STATUS_OK  # a note, nothing lost
    assert sorted(p.name for p in tmp_path.rglob("*")) == []  # nothing was written anywhere
    assert not Path("/etc/x.csv").exists()


def test_gzip_data_named_csv_is_read_as_gzip() -> None:
    reading = read_bytes("users.csv", gzip_bytes(USERS_CSV))
    items = list(reading)
    assert kinds(items) == []
    (block,) = blocks(items)
    assert (block.locator, block.columns) == ("users.csv!users.csv", ("이름", "전화번호"))
    assert reading.report.detected_type == "gzip"


@pytest.mark.parametrize(
    ("name", "pack", "inner"),
    [
        ("dump.csv.gz", gzip_bytes, "dump.csv"),
        ("dump.csv.bz2", bz2.compress, "dump.csv"),
        ("dump.csv.xz", lzma.compress, "dump.csv"),
    ],
)
def test_single_stream_compression(name: str, pack: object, inner: str) -> None:
    assert callable(pack)
    items = list(read_bytes(name, pack(USERS_CSV)))
    assert lines_at(items)[f"{name}!{inner}:row 2"] == "김철수,010-1234-5678"
    assert kinds(items) == []


def test_tar_gz_streams_members() -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("db/users.csv")
        info.size = len(USERS_CSV)
        archive.addfile(info, io.BytesIO(USERS_CSV))
        link = tarfile.TarInfo("db/link")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        archive.addfile(link)
    items = list(read_bytes("db.tgz", buffer.getvalue()))
    assert lines_at(items)["db.tgz!db.tar!db/users.csv:row 3"] == "이영희,010-2222-3333"
    assert kinds(items) == []


def test_nested_zip_reads_inner_members() -> None:
    inner = zip_of({"users.csv": USERS_CSV})
    items = list(read_bytes("outer.zip", zip_of({"part1/inner.zip": inner})))
    assert kinds(items) == []
    assert lines_at(items)["outer.zip!part1/inner.zip!users.csv:row 2"] == "김철수,010-1234-5678"


def test_nesting_beyond_max_depth_is_a_finding() -> None:
    data = USERS_CSV
    for level in range(4):
        data = zip_of({f"level{level}.zip" if level else "users.csv": data})
    reading = read_bytes("deep.zip", data, limits=ReadLimits(max_depth=2))
    items = list(reading)
    assert blocks(items) == []
    assert kinds(items) == ["cap_depth"]
    (finding,) = [item for item in items if not hasattr(item, "text")]
    assert finding.locator == "deep.zip!level3.zip!level2.zip"
    assert reading.report.status == STATUS_SKIPPED


def test_aes_zip_opens_with_password_from_post_text() -> None:
    data = aes_zip_of({"users.csv": USERS_CSV}, "똠1234")
    candidates = passwords_from_text(POST_TEXT)
    assert candidates == ["똠1234"]
    reading = read_bytes("aes.zip", data, passwords=candidates)
    items = list(reading)
    assert lines_at(items)["aes.zip!users.csv:row 2"] == "김철수,010-1234-5678"
    assert kinds(items) == []
    assert reading.report.status == STATUS_OK


def test_zipcrypto_zip_with_cp949_password() -> None:
    data = raw_zip([(b"users.csv", USERS_CSV)], password="똠1234".encode("cp949"))
    items = list(read_bytes("legacy.zip", data, passwords=["wrong", "똠1234"]))
    assert lines_at(items)["legacy.zip!users.csv:row 3"] == "이영희,010-2222-3333"
    assert kinds(items) == []


def test_encrypted_zip_whose_password_is_nowhere() -> None:
    data = raw_zip([(b"users.csv", USERS_CSV), (b"b.txt", b"x")], password=b"s3cret-not-in-post")
    reading = read_bytes("locked.zip", data, passwords=passwords_from_text("샘플입니다. 구매 문의 DM"))
    items = list(reading)
    assert blocks(items) == []
    assert kinds(items) == ["encrypted_no_password", "encrypted_no_password"]
    assert "s3cret" not in repr(items)
    assert reading.report.status == STATUS_SKIPPED


def test_7z_plain_and_with_password(tmp_path: Path) -> None:
    plain, locked = tmp_path / "plain.7z", tmp_path / "locked.7z"
    with py7zr.SevenZipFile(plain, "w") as archive:
        archive.writestr(USERS_CSV, "db/users.csv")
        archive.writestr(b"kim@naver.com\n", "notes/contact.txt")
    with py7zr.SevenZipFile(locked, "w", password="infected") as archive:
        archive.writestr(USERS_CSV, "users.csv")
    items = list(read_path(plain))
    assert lines_at(items)["plain.7z!db/users.csv:row 2"] == "김철수,010-1234-5678"
    assert lines_at(items)["plain.7z!notes/contact.txt:line 1"] == "kim@naver.com"
    assert kinds(items) == []
    opened = read_path(locked, passwords=passwords_from_text("pw: infected"))
    assert lines_at(opened)["locked.7z!users.csv:row 3"] == "이영희,010-2222-3333"
    assert opened.report.status == STATUS_OK
    refused = read_path(locked, passwords=["nope"])
    items = list(refused)
    assert (blocks(items), kinds(items)) == ([], ["encrypted_no_password"])


def test_a_7z_failing_its_crc_is_corrupt_not_an_unexpected_error() -> None:
    """py7zr's CrcError was not among the errors a 7z attempt expects. A wrong password decrypts to
    noise, which the LZMA decoder rejects most of the time but about 1 read in 170 decodes and only
    the CRC catches: test_7z_plain_and_with_password's wrong-password read then ended as an
    ``error`` finding instead of ``encrypted_no_password`` (random salt: flaky). Here a stored
    (uncompressed) member with one byte changed fails its CRC every time."""
    buffer = io.BytesIO()
    with py7zr.SevenZipFile(buffer, "w", filters=[{"id": py7zr.FILTER_COPY}]) as archive:
        archive.writestr(USERS_CSV, "users.csv")
    data = bytearray(buffer.getvalue())
    at = data.find(USERS_CSV)
    assert at > 0
    data[at] ^= 0x01
    reading = read_bytes("broken.7z", bytes(data))
    items = list(reading)
    assert (blocks(items), kinds(items)) == ([], ["corrupt"])
    assert "CrcError" in items[0].reason  # type: ignore[union-attr]


#: USERS_CSV as users.csv in a 7z under the password "infected" (made once by py7zr: the salt and
#: IV are random, so the noise a wrong password decrypts to differs per archive). "nope160" is a
#: wrong password whose noise passes the LZMA decoder and fails the CRC.
_LOCKED_7Z = base64.b64decode(
    "N3q8ryccAATavtwuwQAAAAAAAAAUAAAAAAAAAJGkyPUlCwf73NSnYGj7SA49HTCKe/cWgq+BRMH6DxFdvyVW8nDPkDaMwTJb"
    "26+/uvwVI4QVSHtuccsE9Yhl4VJSg765oVM1MzQJ2Pn3gPEX5E14xwEAbAEEBgABCVAKAQNFGLwABwsBAAIkBvEHARJTD0D1"
    "l+ZhDKS7dJttrUexCtkhIQEYAQAMSEQACAoBzcyIYAAABQERFQB1AHMAZQByAHMALgBjAHMAdgAAABQKAQCggRgAlYbdARUG"
    "AQAggICBAAAAFwZQAQlxAAcLAQABISEBGAxtAAA="
)


def test_a_wrong_7z_password_whose_noise_decodes_is_still_a_wrong_password() -> None:
    assert lines_at(read_bytes("locked.7z", _LOCKED_7Z, passwords=["infected"]))["locked.7z!users.csv:row 3"] == (
        "이영희,010-2222-3333"
    )
    reading = read_bytes("locked.7z", _LOCKED_7Z, passwords=["nope160"])
    items = list(reading)
    assert (blocks(items), kinds(items)) == ([], ["encrypted_no_password"])  # was "error" (CrcError)


def test_rar_stored_member_reads_without_tool() -> None:
    items = list(read_bytes("s.rar", raw_rar(b"dir/users.txt", b"kim@naver.com 010-1234-5678\n")))
    assert kinds(items) == []
    assert lines_at(items) == {"s.rar!dir/users.txt:line 1": "kim@naver.com 010-1234-5678"}


def test_rar_compressed_member_without_tool_is_a_clear_finding(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")  # no unrar, unar, 7z or bsdtar
    reading = read_bytes("c.rar", raw_rar(b"users.txt", b"kim@naver.com\n", stored=False))
    items = list(reading)
    assert kinds(items) == ["tool_missing"]
    assert "install unar or 7zip" in items[0].reason  # type: ignore[union-attr]
    assert reading.report.status == STATUS_SKIPPED


def test_a_zip_cut_short_keeps_the_members_before_the_cut() -> None:
    """A download cut short has no central directory: the members are walked by their local headers."""
    rows = "".join(f"홍길동{i},010-{i:04d}-5678\n" for i in range(3000)).encode()
    data = zip_of({"a.csv": USERS_CSV, "b.txt": b"kim@naver.com\n", "c.csv": rows})
    reading = read_bytes("cut.zip", data[: len(data) * 3 // 4])
    items = list(reading)
    found = lines_at(items)
    assert found["cut.zip!a.csv:row 3"] == "이영희,010-2222-3333"
    assert found["cut.zip!b.txt:line 1"] == "kim@naver.com"
    assert "cut.zip!c.csv:row 100" in found  # the readable start of the member that was cut
    assert "cut.zip!c.csv:row 3000" not in found
    assert kinds(items) == ["corrupt"]
    assert "ends early" in items[-1].reason  # type: ignore[union-attr]
    assert reading.report.status == STATUS_PARTIAL


def test_an_encrypted_zip_cut_short_is_walked_with_the_candidate_passwords() -> None:
    whole = aes_zip_of({"a.csv": USERS_CSV, "b.txt": b"kim@naver.com\n" * 20000}, "똠1234")
    data = whole[: len(whole) // 2]
    locked = list(read_bytes("enc.zip", data, passwords=["wrong"]))
    assert (blocks(locked), kinds(locked)) == ([], ["encrypted_no_password"])
    opened = list(read_bytes("enc.zip", data, passwords=["wrong", "똠1234"]))
    assert lines_at(opened)["enc.zip!a.csv:row 2"] == "김철수,010-1234-5678"
    assert kinds(opened) == ["corrupt"]


def test_a_bomb_in_a_zip_cut_short_is_still_capped_by_ratio() -> None:
    data = zip_of({"first.txt": b"lee@daum.net\n", "bomb.txt": b"0" * (60 << 20), "after.txt": b"kim@naver.com\n"})
    items = list(read_bytes("bomb.zip", data[:-30]))  # the end of the central directory is gone
    assert "bomb.zip!first.txt:line 1" in lines_at(items)
    assert kinds(items) == ["cap_ratio", "corrupt"]
    assert "cannot be reached" in items[-1].reason  # type: ignore[union-attr]


def test_a_zip_that_is_only_a_broken_header_is_corrupt_not_a_crash() -> None:
    data = zip_of({"users.csv": USERS_CSV * 50})
    reading = read_bytes("cut.zip", data[:20])
    items = list(reading)
    assert (blocks(items), kinds(items)) == ([], ["corrupt"])
    assert reading.report.status == STATUS_FAILED


def test_corrupt_member_does_not_stop_the_next_one() -> None:
    good = zip_of(
        {"a.txt": b"first kim@naver.com\n", "b.txt": b"second 010-1234-5678\n"}, compression=zipfile.ZIP_STORED
    )
    broken = bytearray(good)
    broken[good.index(b"first") + 2] ^= 0xFF  # CRC mismatch in member a.txt
    reading = read_bytes("crc.zip", bytes(broken))
    items = list(reading)
    assert "crc.zip!b.txt:line 1" in lines_at(items)
    assert kinds(items) == ["corrupt"]
    assert reading.report.status == STATUS_PARTIAL
