"""Reading sealed evidence back for an analyst: a post's stored text, decrypted with its evidence key.

Only ``leakmon hits show ID --text`` calls this, and the command writes the view to the audit log
(the guide: restrict and log analyst access to raw captures).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from leakmon.errors import InputError, NotFoundError
from leakmon.keyring import Keyring
from storage.evidence import EvidenceError, EvidenceSealer
from storage.models.core import HitRecord, Post


def post_record(post_id: int) -> str:
    """The associated-data record a post's text is sealed under (see the ingest sink)."""
    return f"post:{post_id}"


def hit_post_text(session: Session, keyring: Keyring, hit_id: int) -> tuple[int, str]:
    """(post id, plaintext) of the post ``hit_id`` was found in; a clear sentence when there is none."""
    hit = session.get(HitRecord, hit_id)
    if hit is None:
        raise NotFoundError(f"hit {hit_id} does not exist")
    post = session.get_one(Post, hit.post_id)
    if post.text_ciphertext is None or post.text_key_id is None:
        raise InputError(
            f"post {post.id} has no stored text ([evidence] store_post_text was off when it was crawled, "
            "or purge removed it)"
        )
    try:
        sealer = EvidenceSealer(post.text_key_id, keyring.key("evidence", post.text_key_id))
        return post.id, sealer.open(post.text_ciphertext, post_record(post.id)).decode("utf-8", "replace")
    except EvidenceError as exc:
        raise InputError(f"{exc} (tampered, or sealed for another row)") from None
