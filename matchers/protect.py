"""Protected-set normalization: raw values -> the (form, canonical) pairs to hash and index, one value
at a time (the reference) or a column of a chunk at a time, packed for one native hashing call per form."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from matchers.errors import InvalidIdentifier
from matchers.keyed_hash import KeyedHasher
from matchers.registry import IdentifierRegistry
from matchers.types.base import NONDIGIT_NUL
from matchers.types.email import _SHAPE as _EMAIL_SHAPE  # the recognizer's own shape, not a copy
from matchers.types.email import EmailRecognizer
from matchers.types.phone import PhoneRecognizer

_DEFAULT: IdentifierRegistry | None = None


def _default_registry() -> IdentifierRegistry:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = IdentifierRegistry.default()
    return _DEFAULT


def protected_forms(
    id_type: str, raw_value: str, registry: IdentifierRegistry | None = None, *, partial: bool = True
) -> list[tuple[str, str]]:
    """The full canonical form and (if ``partial``) the mask forms a masked leak could match.

    Raises :class:`InvalidIdentifier` (message holds the type and a reason, never the value) and
    :class:`UnknownIdentifierType`.
    """
    reg = registry if registry is not None else _default_registry()
    rec = reg.get(id_type)
    if not isinstance(raw_value, str) or not raw_value.strip():
        raise InvalidIdentifier(id_type, "empty value")
    forms = rec.protected(raw_value)
    return forms if partial else [f for f in forms if f[0] == "full"]


def protected_digests(
    hasher: KeyedHasher,
    id_type: str,
    raw_value: str,
    registry: IdentifierRegistry | None = None,
    *,
    partial: bool = True,
) -> list[tuple[str, bytes]]:
    """(form, digest) pairs for one protected value: what storage keeps (with the key id)."""
    return [
        (form, hasher.digest(id_type, canonical, form))
        for form, canonical in protected_forms(id_type, raw_value, registry, partial=partial)
    ]


# ------------------------------------------------------------------ batches (protect import)


@dataclass(frozen=True)
class PackedForm:
    """The canonical values of one form for a batch of raw values, packed for one native hashing call
    (:meth:`matchers.keyed_hash.KeyedHasher.digest_packed`): fixed records of ``width`` bytes, or
    NUL-separated values when ``width`` is 0. ``rows[i]`` is the position of the raw value record i
    comes from."""

    form: str
    rows: npt.NDArray[np.intp]
    packed: bytes
    width: int

    def values(self) -> list[bytes]:
        """The packed canonical values one by one (tests and the reference path)."""
        if self.width:
            return [self.packed[i : i + self.width] for i in range(0, len(self.packed), self.width)]
        return self.packed.split(b"\x00") if self.packed else []


@dataclass
class PackedForms:
    """All forms of a batch of raw values of one type, and the values that were invalid."""

    forms: list[PackedForm] = field(default_factory=list)
    invalid: list[tuple[int, str]] = field(default_factory=list)  # (position, reason); never the value


class ProtectedForms:
    """The protected-set normalizer bound to a registry: ``(type, value) -> [(form, canonical)]`` one
    value at a time (:func:`protected_forms`), and :meth:`many` for a whole column of a chunk.

    :meth:`many` canonicalizes the common shapes (Korean mobile numbers written with digits and
    separators, plain ASCII e-mail addresses) with a few bulk byte and numpy operations; every
    other value takes :func:`protected_forms`, so both give exactly the same forms
    (tests/matchers/test_protect_batch.py)."""

    def __init__(self, registry: IdentifierRegistry | None = None, *, partial: bool = True) -> None:
        self.registry = registry if registry is not None else _default_registry()
        self.partial = partial

    def __call__(self, id_type: str, raw_value: str) -> list[tuple[str, str]]:
        return protected_forms(id_type, raw_value, self.registry, partial=self.partial)

    def many(self, id_type: str, values: Sequence[str]) -> PackedForms:
        """The forms of ``values`` (each already stripped), packed per form."""
        rec = self.registry.get(id_type)
        out = PackedForms()
        rest: Iterable[int]
        if type(rec) is PhoneRecognizer and rec.id_type == id_type:
            rest = _phone_fast(values, self.partial, out).tolist()
        elif type(rec) is EmailRecognizer and rec.id_type == id_type:
            rest = _email_fast(rec, values, self.partial, out)
        else:
            rest = range(len(values))
        _one_by_one(self, id_type, values, rest, out)
        return out


FormsOf = Callable[[str, str], list[tuple[str, str]]]


def packed_forms(forms_of: FormsOf, id_type: str, values: Sequence[str]) -> PackedForms:
    """``forms_of.many`` when ``forms_of`` is a :class:`ProtectedForms`; any other normalizer one value at a time."""
    if isinstance(forms_of, ProtectedForms):
        return forms_of.many(id_type, values)
    out = PackedForms()
    _one_by_one(forms_of, id_type, values, range(len(values)), out)
    return out


def _one_by_one(forms_of: FormsOf, id_type: str, values: Sequence[str], rest: Iterable[int], out: PackedForms) -> None:
    """The reference path for the values the bulk paths left: grouped per form, NUL-separated."""
    by_form: dict[str, tuple[list[int], list[bytes]]] = {}
    for i in rest:
        try:
            forms = forms_of(id_type, values[i])
        except InvalidIdentifier as exc:
            out.invalid.append((i, exc.reason))
            continue
        for form, canonical in forms:
            rows, canon = by_form.setdefault(form, ([], []))
            rows.append(i)
            canon.append(canonical.encode())
    for form, (rows, canon) in by_form.items():
        if any(b"\x00" in c for c in canon):  # a NUL inside a canonical value cannot be NUL-separated
            for i, c in zip(rows, canon, strict=True):
                out.forms.append(PackedForm(form, np.array([i], dtype=np.intp), c, len(c)))
            continue
        out.forms.append(PackedForm(form, np.array(rows, dtype=np.intp), b"\x00".join(canon), 0))


def _split_points(buf: npt.NDArray[np.uint8], n: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Starts and lengths of the ``n`` NUL-separated items of ``buf``."""
    ends = np.append(np.flatnonzero(buf == 0), len(buf))
    starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.intp)
    return starts, (ends - starts).astype(np.intp)


#: Korean mobile prefixes a 10- or 11-digit number may start with (070: 11 digits only), all with a
#: three-digit area code (matchers/types/phone.py, ``_VALID`` and ``area_code``).
_MOBILE_10 = (b"010", b"011", b"016", b"017", b"018", b"019")
_MOBILE_11 = (*_MOBILE_10, b"070")


def _phone_fast(values: Sequence[str], partial: bool, out: PackedForms) -> npt.NDArray[np.intp]:
    """Forms of the phones written as a 10/11-digit Korean mobile number (digits first, any separators);
    returns the positions left to the reference path."""
    n = len(values)
    everything = np.arange(n, dtype=np.intp)
    joined = "\x00".join(values)
    if n == 0 or joined.count("\x00") != n - 1:
        return everything
    try:
        raw = joined.encode()
    except UnicodeEncodeError:
        return everything
    rbuf = np.frombuffer(raw, dtype=np.uint8)
    rstarts, rlens = _split_points(rbuf, n)
    first = rbuf[np.minimum(rstarts, max(len(rbuf) - 1, 0))]
    chars = np.fromiter(map(len, values), dtype=np.intp, count=n)
    # digits() of a str keeps the ASCII digits; UTF-8 never uses bytes 0x30-0x39 inside a multibyte
    # character, so dropping every other byte of the encoding gives the same digits.
    dbuf = np.frombuffer(raw.translate(None, NONDIGIT_NUL), dtype=np.uint8)
    dstarts, dlens = _split_points(dbuf, n)
    ok = (rlens > 0) & (chars <= 40) & (first >= 48) & (first <= 57)  # protected() reads "+..." otherwise
    done = np.zeros(n, dtype=bool)
    for length, prefixes in ((10, _MOBILE_10), (11, _MOBILE_11)):
        sel = np.flatnonzero(ok & (dlens == length))
        if not len(sel):
            continue
        d = dbuf[dstarts[sel][:, None] + np.arange(length)]
        head = d[:, 0].astype(np.int32) * 65536 + d[:, 1].astype(np.int32) * 256 + d[:, 2]
        known = np.array([p[0] * 65536 + p[1] * 256 + p[2] for p in prefixes], dtype=np.int32)
        good = np.isin(head, known)
        sel, d = sel[good], d[good]
        if not len(sel):
            continue
        done[sel] = True
        full = np.empty((len(sel), length + 1), dtype=np.uint8)
        full[:, 0], full[:, 1] = ord("8"), ord("2")
        full[:, 2:] = d[:, 1:]
        out.forms.append(PackedForm("full", sel, full.tobytes(), length + 1))
        if partial:
            tail = np.empty((len(sel), 8), dtype=np.uint8)
            tail[:, :3], tail[:, 3], tail[:, 4:] = d[:, :3], ord("*"), d[:, -4:]
            out.forms.append(PackedForm("p3s4", sel, tail.tobytes(), 8))
            lead = np.empty((len(sel), length - 3), dtype=np.uint8)
            lead[:, :-1], lead[:, -1] = d[:, : length - 4], ord("*")
            out.forms.append(PackedForm(f"p{length - 4}", sel, lead.tobytes(), length - 3))
    return np.flatnonzero(~done)


#: A whole NUL-joined column of addresses of the recognizer's shape (no value holds a NUL, so each
#: repetition is exactly one value): one regex call checks a column instead of one per value.
_EMAIL_COLUMN = re.compile(f"(?:{_EMAIL_SHAPE.pattern})(?:\x00(?:{_EMAIL_SHAPE.pattern}))*")


def _email_fast(rec: EmailRecognizer, values: Sequence[str], partial: bool, out: PackedForms) -> Sequence[int]:
    """Forms of the plain ASCII addresses (nothing for ``strip``/``casefold`` to change beyond lower
    case); returns the positions left to the reference path."""
    n = len(values)
    joined = "\x00".join(values)
    if n == 0 or joined.count("\x00") != n - 1 or not joined.isascii():
        return range(n)
    lowered_joined = joined.lower()
    if lowered_joined[:1] != "." and "\x00." not in lowered_joined and _EMAIL_COLUMN.fullmatch(lowered_joined):
        good: list[int] | range = range(n)
        folded = lowered_joined + "\x00"
        for alias, target in rec.aliases.items():  # a value ends with "@alias" exactly where "@alias\x00" is
            folded = folded.replace(f"@{alias}\x00", f"@{target}\x00")
        canon_joined = folded[:-1]
    else:
        fullmatch = _EMAIL_SHAPE.fullmatch
        lowered = lowered_joined.split("\x00")
        good = [i for i, v in enumerate(lowered) if v[:1] != "." and fullmatch(v) is not None]
        if not good:
            return range(n)
        canon = [lowered[i] for i in good] if len(good) < n else lowered
        for alias, target in rec.aliases.items():
            suffix = "@" + alias
            canon = [f"{c[: -len(alias)]}{target}" if c.endswith(suffix) else c for c in canon]
        canon_joined = "\x00".join(canon)
    rows = np.arange(n, dtype=np.intp) if isinstance(good, range) else np.array(good, dtype=np.intp)
    packed = canon_joined.encode()
    out.forms.append(PackedForm("full", rows, packed, 0))
    if partial:
        _email_masks(packed, rows, out)
    if len(good) == n:
        return ()
    missing = np.ones(n, dtype=bool)
    missing[rows] = False
    return np.flatnonzero(missing).tolist()


def _email_masks(canon: bytes, rows: npt.NDArray[np.intp], out: PackedForms) -> None:
    """The mask forms ``p1d``-``p3d`` (``ab*@naver.com``) of NUL-joined canonical addresses, each with
    exactly one ``@`` (the recognizer's shape), cut and joined by numpy, no Python object per value:
    a masked value is three pieces of one buffer (its first k bytes, a ``*``, and its ``@`` through
    the NUL after it)."""
    n = len(rows)
    buf = np.frombuffer(canon + b"\x00*", dtype=np.uint8)  # every value ends in a NUL, a "*" at the end
    starts, lens = _split_points(buf[:-2], n)
    at = np.flatnonzero(buf == ord("@")) - starts  # the "@" of each value, from its start
    ones = np.ones(n, dtype=np.intp)
    for k in (1, 2, 3):
        keep = np.flatnonzero(at > k)
        if not len(keep):
            continue
        m = len(keep)
        piece_starts = np.column_stack((starts[keep], ones[:m] * (len(buf) - 1), starts[keep] + at[keep])).ravel()
        piece_lens = np.column_stack((ones[:m] * k, ones[:m], lens[keep] - at[keep] + 1)).ravel()
        ends = np.cumsum(piece_lens)
        index = np.arange(ends[-1], dtype=np.intp) + np.repeat(piece_starts - (ends - piece_lens), piece_lens)
        out.forms.append(PackedForm(f"p{k}d", rows[keep], buf[index[:-1]].tobytes(), 0))


__all__ = [
    "InvalidIdentifier",
    "PackedForm",
    "PackedForms",
    "ProtectedForms",
    "packed_forms",
    "protected_digests",
    "protected_forms",
]
