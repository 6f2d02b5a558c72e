"""Domain entities <-> protobuf messages."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as pb
from services.beneficiaries.domain.model import Beneficiary, BiometricEnrolment, Community, Family
from services.beneficiaries.domain.timeline import TimelineEntry


def ts(value: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(value)
    return out


def community(c: Community) -> pb.Community:
    return pb.Community(
        id=c.id,
        name=c.name,
        municipality=c.municipality,
        department=c.department,
        created_at=ts(c.created_at),
    )


def family(f: Family, member_count: int = 0, head_id: str = "") -> pb.Family:
    return pb.Family(
        id=f.id,
        community_id=f.community_id,
        name=f.name,
        address=f.address,
        head_beneficiary_id=head_id,
        member_count=member_count,
        created_at=ts(f.created_at),
    )


def enrolment(beneficiary_id: str, b: BiometricEnrolment) -> pb.BiometricEnrolment:
    return pb.BiometricEnrolment(
        beneficiary_id=beneficiary_id,
        finger=b.finger,
        template_sha256=b.template_sha256,
        enrolled_by=b.enrolled_by,
        enrolled_at=ts(b.enrolled_at),
    )


def beneficiary(p: Beneficiary) -> pb.Beneficiary:
    return pb.Beneficiary(
        id=p.id,
        national_id=pb.NationalId(type=p.id_type, number=p.id_number),
        first_names=p.first_names,
        last_names=p.last_names,
        birth_date=p.birth_date.isoformat(),
        sex=p.sex,
        family_id=p.family_id or "",
        relationship=p.relationship or "",
        whatsapp_phone=p.whatsapp_phone or "",
        email=p.email or "",
        contact_channels=p.contact_channels,
        education_level=p.education_level,
        can_sign=p.can_sign,
        community_id=p.community_id,
        consents=[
            pb.Consent(kind=c.kind, granted=c.granted, recorded_by=c.recorded_by, recorded_at=ts(c.recorded_at))
            for c in p.consents.values()
        ],
        biometrics=[enrolment(p.id, b) for b in p.biometrics.values()],
        created_at=ts(p.created_at),
        updated_at=ts(p.updated_at),
        version=p.version,
    )


def timeline_entry(e: TimelineEntry) -> pb.TimelineEntry:
    return pb.TimelineEntry(
        id=e.id,
        subject_type=e.subject_type,
        subject_id=e.subject_id,
        occurred_at=ts(e.occurred_at),
        kind=e.kind,
        summary=e.summary,
        source_service=e.source_service,
        source_id=e.source_id,
    )
