"""MISP and STIX exports carry categories and counts, never values, digests or subject references."""

from __future__ import annotations

import json

import pytest
import stix2
from pymisp import MISPEvent

from leakmon.errors import InputError
from leakmon.workflows import sharing
from leakmon.workflows.incidents import get_incident
from storage.models.core import HitRecord
from storage.repositories.cases import incident_of_post
from tests.leakmon.workflows.world import SECRET_VALUES, Db, World


def _incident(w: World) -> int:
    post = w.post("kr_market", "11", author="@seller_kr", files=[("s.csv", "5" * 64)])
    hits = [w.hit(post, "cust-001", "phone", attachment_sha256="5" * 64, label=SECRET_VALUES[0])]
    hits += [w.hit(post, "cust-001", "rrn", attachment_sha256="5" * 64, label=SECRET_VALUES[1])]
    hits += [w.hit(post, f"cust-{i:03d}", "phone", attachment_sha256="5" * 64) for i in range(2, 6)]
    w.ingest(post, hits)
    incident_id = incident_of_post(w.session, post.id)
    assert incident_id is not None
    return incident_id


def _forbidden(w: World) -> list[str]:
    hits = list(w.session.query(HitRecord))
    return [*SECRET_VALUES, *(h.digest.hex() for h in hits), *(h.masked for h in hits), "cust-00"]


def test_misp_event(db: Db) -> None:
    with db.world() as w:
        incident = get_incident(w.session, _incident(w))
        text = sharing.render(w.session, incident, "misp")
        forbidden = _forbidden(w)
    event = MISPEvent()
    event.from_json(text)
    assert int(event.distribution) == sharing.MISP_ORG_ONLY
    assert [o.name for o in event.objects] == ["ail-leak", "leaked-document"]
    assert [a.value for a in event.attributes if a.type == "sha256"] == ["5" * 64]
    assert any(t.name == "tlp:amber" for t in event.tags)
    assert "phone: 5 items / 5 people" in text
    assert "rrn: 1 items / 1 people" in text
    assert "https://t.me/kr_market/11" in text
    for value in forbidden:
        assert value not in text


def test_stix_bundle(db: Db) -> None:
    with db.world() as w:
        incident = get_incident(w.session, _incident(w))
        text = sharing.render(w.session, incident, "stix")
        forbidden = _forbidden(w)
    bundle = stix2.parse(json.loads(text), allow_custom=False)
    types = sorted({o.type for o in bundle.objects})
    assert types == ["identity", "incident", "note", "observed-data", "sighting", "url", "user-account"]
    sighting = next(o for o in bundle.objects if o.type == "sighting")
    assert sighting.sighting_of_ref.startswith("incident--")
    assert sighting.count == 1
    for value in forbidden:
        assert value not in text


def test_unknown_format(db: Db) -> None:
    with db.world() as w:
        incident = get_incident(w.session, _incident(w))
        with pytest.raises(InputError, match="misp, stix"):
            sharing.render(w.session, incident, "thehive")
