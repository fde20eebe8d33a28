"""A real protected set for end-to-end tests: digests in the database, the index and matcher over them."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from sqlalchemy.orm import Session, sessionmaker

from matchers.engine import Matcher
from matchers.index import ProtectedIndex
from matchers.keyed_hash import KeyedHasher
from matchers.protect import protected_digests
from matchers.registry import IdentifierRegistry
from storage.repositories.protected import ProtectedLoader, confirm_digests, index_arrays


def load_protected_matcher(sessions: sessionmaker[Session], people: Mapping[str, tuple[str, str]]) -> Matcher:
    """Import ``people`` (subject_ref -> (phone, email)) under a fresh key; a matcher that confirms in the DB."""
    hasher = KeyedHasher(os.urandom(32))
    registry = IdentifierRegistry.default()
    with sessions.begin() as session:
        loader = ProtectedLoader(session)
        rows = [
            (ref, hasher.key_id, id_type, form, digest)
            for ref, (phone, email) in people.items()
            for id_type, value in (("phone", phone), ("email", email))
            for form, digest in protected_digests(hasher, id_type, value, registry)
        ]
        loader.stage(rows)
        loader.finish(replace=False)
        prefixes, subjects = index_arrays(session, hasher.key_id)

    def confirm(digests: Sequence[bytes]) -> Mapping[bytes, Sequence[int]]:
        with sessions() as session:
            return confirm_digests(session, digests)

    return Matcher(hasher, ProtectedIndex(prefixes, subjects), registry, confirm=confirm)
