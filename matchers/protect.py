"""Protected-set normalization: one raw value -> the (form, canonical) pairs to hash and index."""

from __future__ import annotations

from matchers.errors import InvalidIdentifier
from matchers.keyed_hash import KeyedHasher
from matchers.registry import IdentifierRegistry

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


__all__ = ["InvalidIdentifier", "protected_digests", "protected_forms"]
