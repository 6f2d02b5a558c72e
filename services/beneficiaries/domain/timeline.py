"""Timeline entries: the historical narrative of a family or a person.

Entries are derived from events (this service's and other services'); each entry
is keyed by the event that produced it, so a redelivered event adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

SUBJECT_TYPES = {"family", "beneficiary"}


@dataclass(frozen=True)
class TimelineEntry:
    subject_type: str
    subject_id: str
    occurred_at: datetime
    kind: str
    summary: str
    source_service: str
    source_id: str
    source_event_id: str

    @property
    def id(self) -> str:
        return f"{self.subject_type}:{self.subject_id}:{self.source_event_id}"


def _when(payload: dict[str, Any], key: str) -> datetime:
    return datetime.fromisoformat(payload[key])


def entries_for_beneficiary_event(
    event_type: str, event_id: str, payload: dict[str, Any]
) -> list[TimelineEntry]:
    """Timeline entries for this service's own events."""
    person = payload.get("beneficiary_id")
    at = _when(payload, "occurred_at")
    name = " ".join(filter(None, [payload.get("first_names"), payload.get("last_names")]))
    if event_type == "family_registered":
        return [
            TimelineEntry(
                "family",
                payload["family_id"],
                at,
                event_type,
                f"Registro del hogar {payload['name']}",
                "beneficiaries",
                payload["family_id"],
                event_id,
            )
        ]
    if event_type == "beneficiary_registered" and person:
        entries = [
            TimelineEntry(
                "beneficiary",
                person,
                at,
                event_type,
                f"Registro de {name} en el programa",
                "beneficiaries",
                person,
                event_id,
            )
        ]
        if payload.get("family_id"):
            entries.append(
                TimelineEntry(
                    "family",
                    payload["family_id"],
                    at,
                    "member_joined",
                    f"{name} se integra al hogar",
                    "beneficiaries",
                    person,
                    event_id,
                )
            )
        return entries
    if event_type == "beneficiary_updated" and person and payload.get("change") == "family":
        entries = []
        if payload.get("previous_family_id"):
            entries.append(
                TimelineEntry(
                    "family",
                    payload["previous_family_id"],
                    at,
                    "member_left",
                    f"{name} sale del hogar",
                    "beneficiaries",
                    person,
                    event_id,
                )
            )
        entries.append(
            TimelineEntry(
                "family",
                payload["family_id"],
                at,
                "member_joined",
                f"{name} se integra al hogar",
                "beneficiaries",
                person,
                event_id,
            )
        )
        entries.append(
            TimelineEntry(
                "beneficiary",
                person,
                at,
                "family_changed",
                "Cambio de hogar",
                "beneficiaries",
                person,
                event_id,
            )
        )
        return entries
    if event_type == "consent_changed" and person:
        verb = "otorga" if payload["granted"] else "retira"
        return [
            TimelineEntry(
                "beneficiary",
                person,
                at,
                event_type,
                f"{verb.capitalize()} consentimiento: {CONSENT_LABELS.get(payload['kind'], payload['kind'])}",
                "beneficiaries",
                person,
                event_id,
            )
        ]
    return []


CONSENT_LABELS = {
    "data_processing": "tratamiento de datos",
    "biometrics": "datos biométricos",
    "notifications": "notificaciones",
}


def entries_for_acta_sealed(event_id: str, payload: dict[str, Any]) -> list[TimelineEntry]:
    """Entries for ``actas.acta_sealed``: one per participant and per family.

    Contract (owned by the actas service): ``acta_id``, ``title``, ``sealed_at``
    (ISO 8601), ``participants`` (list of ``{"beneficiary_id", "family_id"}``) and
    optionally ``family_ids``.
    """
    at = _when(payload, "sealed_at")
    title = payload.get("title") or "Acta"
    acta_id = payload["acta_id"]
    people = {p["beneficiary_id"] for p in payload.get("participants") or [] if p.get("beneficiary_id")}
    families = {p["family_id"] for p in payload.get("participants") or [] if p.get("family_id")}
    families.update(payload.get("family_ids") or [])
    return [
        TimelineEntry(kind, subject, at, "acta_sealed", f"Acta firmada: {title}", "actas", acta_id, event_id)
        for kind, subjects in (("beneficiary", sorted(people)), ("family", sorted(families)))
        for subject in subjects
    ]
