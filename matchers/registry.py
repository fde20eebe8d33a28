"""The identifier registry: which types exist, which are weak or unique ids, and their recognizers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from matchers.errors import UnknownIdentifierType
from matchers.types.address import AddressRecognizer
from matchers.types.base import Recognizer
from matchers.types.birthdate import BirthdateRecognizer
from matchers.types.card import CardRecognizer
from matchers.types.custom import CustomRecognizer, CustomType
from matchers.types.email import EmailRecognizer
from matchers.types.name import NameRecognizer
from matchers.types.phone import PhoneRecognizer
from matchers.types.rrn import FrnRecognizer, RrnRecognizer

#: Built-in recognizers in scan order (adding a type: one module, one entry here, one test table).
BUILTIN_RECOGNIZERS: tuple[type[Recognizer], ...] = (
    PhoneRecognizer,
    EmailRecognizer,
    RrnRecognizer,
    FrnRecognizer,
    CardRecognizer,
    AddressRecognizer,
    NameRecognizer,
    BirthdateRecognizer,
)


class IdentifierRegistry:
    """Recognizers by type name. Build with :meth:`default`."""

    def __init__(self, recognizers: Iterable[Recognizer]) -> None:
        self._by_type: dict[str, Recognizer] = {}
        for rec in recognizers:
            if rec.id_type in self._by_type:
                raise ValueError(f"duplicate identifier type: {rec.id_type}")
            self._by_type[rec.id_type] = rec

    @classmethod
    def default(
        cls,
        custom: Iterable[CustomType] | Mapping[str, CustomType] = (),
        email_aliases: Mapping[str, str] | None = None,
    ) -> IdentifierRegistry:
        """Built-in types plus the custom types from config (``email_aliases``: None for the default)."""
        customs = custom.values() if isinstance(custom, Mapping) else custom
        recs: list[Recognizer] = [
            EmailRecognizer(email_aliases) if r is EmailRecognizer else r() for r in BUILTIN_RECOGNIZERS
        ]
        recs += [CustomRecognizer(c) for c in customs]
        return cls(recs)

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(self._by_type)

    def __contains__(self, id_type: object) -> bool:
        return id_type in self._by_type

    def get(self, id_type: str) -> Recognizer:
        try:
            return self._by_type[id_type]
        except KeyError:
            raise UnknownIdentifierType(id_type) from None

    def is_weak(self, id_type: str) -> bool:
        return self.get(id_type).weak

    def is_unique_id(self, id_type: str) -> bool:
        return self.get(id_type).unique_id

    def recognizers(self) -> tuple[Recognizer, ...]:
        return tuple(self._by_type.values())

    def strong(self) -> tuple[Recognizer, ...]:
        return tuple(r for r in self._by_type.values() if not r.weak)

    def weak(self) -> tuple[Recognizer, ...]:
        return tuple(r for r in self._by_type.values() if r.weak)
