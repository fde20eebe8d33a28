"""Errors raised by the matchers. Messages never contain the identifier value."""

from __future__ import annotations


class InvalidIdentifier(ValueError):
    """A protected-set value that cannot be canonicalized. Carries the type and a reason, never the value."""

    def __init__(self, id_type: str, reason: str) -> None:
        self.id_type = id_type
        self.reason = reason
        super().__init__(f"invalid {id_type}: {reason}")


class UnknownIdentifierType(KeyError):
    """An identifier type name that the registry does not know."""

    def __init__(self, id_type: str) -> None:
        self.id_type = id_type
        super().__init__(f"unknown identifier type: {id_type}")

    def __str__(self) -> str:
        return f"unknown identifier type: {self.id_type}"


class KernelMissing(ImportError):
    """The native scan kernel (``matchers._kernel``) is not built; there is no pure-Python fallback."""

    def __init__(self) -> None:
        super().__init__(
            "the native scan kernel matchers._kernel is not built: run `make setup` "
            "(it needs gcc and the Python and OpenSSL headers)"
        )
