"""Plain, JSON-serialisable shapes of the entities for AMQP RPC replies and events.
Biometric templates never appear here, sealed or not."""

from __future__ import annotations

from typing import Any

from services.beneficiaries.domain.model import Beneficiary, BiometricEnrolment, Community, Family
from services.beneficiaries.domain.timeline import TimelineEntry


def community(c: Community) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "municipality": c.municipality,
        "department": c.department,
        "created_at": c.created_at.isoformat(),
    }


def family(f: Family, member_count: int | None = None, head_id: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": f.id,
        "community_id": f.community_id,
        "name": f.name,
        "address": f.address,
        "created_at": f.created_at.isoformat(),
    }
    if member_count is not None:
        data["member_count"] = member_count
    if head_id is not None:
        data["head_beneficiary_id"] = head_id
    return data


def enrolment(beneficiary_id: str, b: BiometricEnrolment) -> dict[str, Any]:
    return {
        "beneficiary_id": beneficiary_id,
        "finger": b.finger,
        "template_sha256": b.template_sha256,
        "enrolled_by": b.enrolled_by,
        "enrolled_at": b.enrolled_at.isoformat(),
    }


def beneficiary(p: Beneficiary) -> dict[str, Any]:
    return {
        "id": p.id,
        "national_id": {"type": p.id_type, "number": p.id_number},
        "first_names": p.first_names,
        "last_names": p.last_names,
        "birth_date": p.birth_date.isoformat(),
        "sex": p.sex,
        "community_id": p.community_id,
        "family_id": p.family_id,
        "relationship": p.relationship,
        "whatsapp_phone": p.whatsapp_phone,
        "email": p.email,
        "contact_channels": list(p.contact_channels),
        "education_level": p.education_level,
        "can_sign": p.can_sign,
        "consents": [
            {
                "kind": c.kind,
                "granted": c.granted,
                "recorded_by": c.recorded_by,
                "recorded_at": c.recorded_at.isoformat(),
            }
            for c in p.consents.values()
        ],
        "biometrics": [enrolment(p.id, b) for b in p.biometrics.values()],
        "created_at": p.created_at.isoformat(),
        "updated_at": p.updated_at.isoformat(),
        "version": p.version,
    }


def timeline_entry(e: TimelineEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "subject_type": e.subject_type,
        "subject_id": e.subject_id,
        "occurred_at": e.occurred_at.isoformat(),
        "kind": e.kind,
        "summary": e.summary,
        "source_service": e.source_service,
        "source_id": e.source_id,
    }
