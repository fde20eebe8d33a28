"""Share an incident with partners as a MISP event (PyMISP) or a STIX 2.1 bundle (stix2).

Categories and counts only: no identifier value, no keyed digest (a digest means nothing to a partner
yet tells a key holder who is in the set), no subject reference. What is shared: the post URLs, the
seller handle, first/last seen, SHA-256 and names of captured files (MISP ``leaked-document``),
identifier categories with counts, the PIPA report flag.
MISP distribution defaults to "your organisation only" (0); both carry TLP:AMBER.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import stix2
from pymisp import MISPEvent, MISPObject
from sqlalchemy import select
from sqlalchemy.orm import Session

from leakmon.errors import InputError
from storage.models.cases import EXCLUDING_LABELS, Incident
from storage.models.core import AttachmentRecord, Post
from storage.repositories.cases import incident_posts
from storage.repositories.incident_views import type_counts

FORMATS = ("misp", "stix")
MISP_ORG_ONLY = 0
SENSOR = "leakmon"


@dataclass(frozen=True, slots=True)
class IncidentFacts:
    """The shareable summary of an incident."""

    incident: Incident
    posts: list[Post]
    type_counts: dict[str, int]
    subject_counts: dict[str, int]
    subjects: int
    files: list[tuple[str, str, datetime]]  # (name, sha256, first seen of its post)

    def summary(self) -> str:
        parts = ", ".join(
            f"{t}: {self.type_counts[t]} items / {self.subject_counts[t]} people" for t in sorted(self.type_counts)
        )
        report = "yes" if self.incident.report_required else "no"
        return (
            f"Personal data of {self.subjects} customers offered across {len(self.posts)} posts. "
            f"Categories: {parts or 'none'}. PIPA report required: {report}."
        )


def incident_facts(session: Session, incident: Incident) -> IncidentFacts:
    """The incident's posts and files, and its effective hits counted by type in SQL (a dump's
    millions of hits are never loaded)."""
    posts = incident_posts(session, incident.id)
    hits, people, subjects = type_counts(session, incident.id, EXCLUDING_LABELS)
    return IncidentFacts(
        incident=incident,
        posts=posts,
        type_counts=hits,
        subject_counts=people,
        subjects=subjects,
        files=_files(session, posts),
    )


def _files(session: Session, posts: list[Post]) -> list[tuple[str, str, datetime]]:
    seen = {p.id: p.first_seen for p in posts}
    rows = session.execute(
        select(AttachmentRecord.name, AttachmentRecord.sha256, AttachmentRecord.post_id)
        .where(AttachmentRecord.post_id.in_(list(seen)))
        .order_by(AttachmentRecord.id)
    )
    unique: dict[str, tuple[str, str, datetime]] = {}
    for name, sha256, post_id in rows:
        unique.setdefault(sha256, (name, sha256, seen[post_id]))
    return list(unique.values())


def render(session: Session, incident: Incident, fmt: str) -> str:
    if fmt not in FORMATS:
        raise InputError(f"unknown sharing format {fmt!r}; use one of {', '.join(FORMATS)}")
    facts = incident_facts(session, incident)
    return misp_event(facts) if fmt == "misp" else stix_bundle(facts)


def misp_event(facts: IncidentFacts) -> str:
    """A MISPEvent with one ail-leak object per post; JSON text."""
    incident = facts.incident
    event = MISPEvent()
    event.info = f"leakmon incident {incident.id}: customer personal data offered for sale"
    event.distribution = MISP_ORG_ONLY
    event.threat_level_id = 2
    event.analysis = 1
    event.set_date(incident.first_seen.date())
    event.add_tag("tlp:amber")
    event.add_attribute("comment", facts.summary(), to_ids=False)
    for post in facts.posts:
        leak = MISPObject("ail-leak")
        leak.add_attribute("sensor", SENSOR)
        if post.url:
            leak.add_attribute("origin", post.url, to_ids=False)
        leak.add_attribute("first-seen", post.first_seen.isoformat())
        leak.add_attribute("last-seen", post.last_seen.isoformat())
        terms = ", ".join(post.trade_terms or [])
        leak.add_attribute("text", f"venue {post.venue}; trade wording: {terms or 'none'}")
        if post.author:
            leak.comment = f"seller handle: {post.author}"
        event.add_object(leak)
    for name, sha256, first_seen in facts.files:
        document = MISPObject("leaked-document")
        document.add_attribute("document-name", name)
        document.add_attribute("first-seen", first_seen.isoformat())
        document.comment = f"sha256 {sha256}"
        event.add_object(document)
        event.add_attribute("sha256", sha256, comment=f"captured file {name}", to_ids=False)
    return str(event.to_json(indent=2))


def stix_bundle(facts: IncidentFacts) -> str:
    """Identity (us), Incident, ObservedData + URL (and the seller's user-account), Sighting, Note."""
    incident = facts.incident
    marking = [stix2.TLP_AMBER]
    us = stix2.Identity(name="leakmon monitor", identity_class="system")
    stix_incident = stix2.Incident(
        name=f"leakmon incident {incident.id}",
        description=facts.summary(),
        created_by_ref=us.id,
        object_marking_refs=marking,
    )
    objects: list[object] = [us, stix_incident]
    observed_ids = []
    for post in facts.posts:
        refs = []
        if post.url:
            url = stix2.URL(value=post.url)
            objects.append(url)
            refs.append(url.id)
        if post.author:
            account = stix2.UserAccount(account_login=post.author, account_type=post.venue or "other")
            objects.append(account)
            refs.append(account.id)
        if not refs:
            continue
        observed = stix2.ObservedData(
            first_observed=post.first_seen,
            last_observed=max(post.last_seen, post.first_seen),
            number_observed=1,
            object_refs=refs,
            created_by_ref=us.id,
            object_marking_refs=marking,
        )
        objects.append(observed)
        observed_ids.append(observed.id)
    sighting_args: dict[str, object] = {}
    if observed_ids:
        sighting_args["observed_data_refs"] = observed_ids
    objects.append(
        stix2.Sighting(
            sighting_of_ref=stix_incident.id,
            count=max(len(facts.posts), 1),
            first_seen=incident.first_seen,
            last_seen=max(incident.last_seen, incident.first_seen),
            where_sighted_refs=[us.id],
            created_by_ref=us.id,
            object_marking_refs=marking,
            **sighting_args,
        )
    )
    objects.append(
        stix2.Note(
            content=facts.summary(),
            object_refs=[stix_incident.id],
            created_by_ref=us.id,
            object_marking_refs=marking,
        )
    )
    bundle = stix2.Bundle(objects=objects)
    text = str(bundle.serialize(pretty=True))
    stix2.parse(json.loads(text), allow_custom=False)  # round-trip through the library's validation
    return text


def generated_at() -> str:
    return datetime.now(UTC).isoformat()
