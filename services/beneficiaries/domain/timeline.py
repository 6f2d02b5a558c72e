"""Timeline entries: the historical narrative of a family or a person.

Entries are derived from events (this service's and other services'); each entry
is keyed by the event that produced it, so a redelivered event adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
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


def entries_for_beneficiary_event(event_type: str, event_id: str, payload: dict[str, Any]) -> list[TimelineEntry]:
    """Timeline entries for this service's own events."""
    at = _when(payload, "occurred_at")
    person = payload.get("beneficiary_id")
    name = " ".join(filter(None, [payload.get("first_names"), payload.get("last_names")]))

    def entry(subject_type: str, subject_id: str, kind: str, summary: str) -> TimelineEntry:
        source_id = person or subject_id
        return TimelineEntry(subject_type, subject_id, at, kind, summary, "beneficiaries", source_id, event_id)

    def joined(family_id: str) -> TimelineEntry:
        return entry("family", family_id, "member_joined", f"{name} se integra al hogar")

    if event_type == "family_registered":
        return [entry("family", payload["family_id"], event_type, f"Registro del hogar {payload['name']}")]
    if not person:
        return []
    if event_type == "beneficiary_registered":
        entries = [entry("beneficiary", person, event_type, f"Registro de {name} en el programa")]
        if payload.get("family_id"):
            entries.append(joined(payload["family_id"]))
        return entries
    if event_type == "beneficiary_updated" and payload.get("change") == "family":
        entries = []
        if payload.get("previous_family_id"):
            entries.append(entry("family", payload["previous_family_id"], "member_left", f"{name} sale del hogar"))
        entries.append(joined(payload["family_id"]))
        entries.append(entry("beneficiary", person, "family_changed", "Cambio de hogar"))
        return entries
    if event_type == "consent_changed":
        verb = "Otorga" if payload["granted"] else "Retira"
        label = CONSENT_LABELS.get(payload["kind"], payload["kind"])
        return [entry("beneficiary", person, event_type, f"{verb} consentimiento: {label}")]
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


INCOME_EVENTS = ("productive_unit_registered", "stage_changed", "action_plan_approved", "followup_recorded")
# Microcredit events that belong in a family's record: money given, paid and
# written off (not the daily ageing: overdue and bucket changes stay with the loan).
LOAN_EVENTS = ("loan_disbursed", "loan_repayment_recorded", "loan_written_off")


def _pesos(text: Any) -> str:
    """Whole pesos as a person reads them: ``$ 1.234.567`` (the text as given if not a number)."""
    try:
        value = int(Decimal(str(text)).to_integral_value(rounding=ROUND_HALF_EVEN))
    except (InvalidOperation, ValueError):
        return str(text)
    return ("-" if value < 0 else "") + f"$ {abs(value):,}".replace(",", ".")


def _loan_summary(event_type: str, payload: dict[str, Any]) -> str:
    if event_type == "loan_disbursed":
        return f"Desembolso de un crédito: {_pesos(payload['amount'])}"
    if event_type == "loan_repayment_recorded":
        return f"Pago de un crédito: {_pesos(payload['amount'])}"
    return f"Crédito castigado: {payload.get('reason') or 'sin motivo'}"


def entries_for_income_event(event_type: str, event_id: str, payload: dict[str, Any]) -> list[TimelineEntry]:
    """Entries for the income service's events about a productive unit: one for its
    household and one per owner. Contract (owned by the income service):
    ``unit_id``, ``family_id``, ``owner_ids``, ``occurred_at`` and the event's own fields."""
    name = payload.get("unit_name") or payload.get("name") or "unidad productiva"
    if event_type == "productive_unit_registered":
        summary = f"Registro de la unidad productiva {name}"
    elif event_type == "stage_changed":
        summary = f"La unidad productiva {name} pasa a la etapa {payload.get('to_stage_label') or payload['to_stage']}"
    elif event_type == "action_plan_approved":
        verdict = "viable" if payload.get("viable") else "no viable"
        summary = f"Plan de acción de {name} aprobado (versión {payload['plan_version']}, {verdict})"
    elif event_type == "followup_recorded":
        state = "opera" if payload.get("operating") else "no opera"
        summary = f"Seguimiento a la unidad productiva {name}: {state}"
    elif event_type in LOAN_EVENTS:
        summary = _loan_summary(event_type, payload)
    else:
        return []
    at = _when(payload, "occurred_at")
    subjects = [("family", payload["family_id"])] + [("beneficiary", o) for o in sorted(set(payload["owner_ids"]))]
    return [
        TimelineEntry(kind, subject, at, event_type, summary, "income", payload["unit_id"], event_id)
        for kind, subject in subjects
        if subject
    ]
