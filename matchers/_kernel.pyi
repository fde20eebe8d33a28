"""Type stub of the native scan kernel (matchers/kernel/module.c)."""

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

HIT_SIZE: int
PHONE: int
EMAIL: int
RRN: int
CARD: int
SPACED: int
WEAK_SIZE: int
READ_NAMES: int
READ_MASKED: int
READ_BIRTH: int
ADDR_SPACED: int
ADDR_PARSE: int

class Keyed:
    def __init__(self, key: bytes, headers: tuple[bytes, ...]) -> None: ...
    def digest_many(self, header: bytes, values: Sequence[bytes | str]) -> bytes: ...
    def digest_packed(self, header: bytes, buf: bytes, width: int = ..., /) -> bytes: ...
    def scan(
        self,
        block: bytes,
        flat_keys: npt.NDArray[np.uint8],
        flat_buckets: npt.NDArray[np.uint32],
        group_keys: npt.NDArray[np.uint8],
        group_buckets: npt.NDArray[np.uint32],
        aliases: tuple[tuple[bytes, bytes], ...] = ...,
        everything: bool = ...,
        /,
    ) -> bytes: ...
    def weak(
        self,
        block: bytes,
        lines: npt.NDArray[np.int64] | None,
        headers: tuple[bytes, ...],
        flat_keys: npt.NDArray[np.uint8],
        flat_buckets: npt.NDArray[np.uint32],
        group_keys: npt.NDArray[np.uint8],
        group_buckets: npt.NDArray[np.uint32],
        what: int,
        everything: bool = ...,
        /,
    ) -> tuple[bytes, bytes]: ...
    def addresses(
        self,
        block: bytes,
        header: bytes,
        flat_keys: npt.NDArray[np.uint8],
        flat_buckets: npt.NDArray[np.uint32],
        group_keys: npt.NDArray[np.uint8],
        group_buckets: npt.NDArray[np.uint32],
        everything: bool = ...,
        /,
    ) -> bytes: ...
