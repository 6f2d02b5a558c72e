"""Domain objects <-> protobuf messages of the actas service."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from google.protobuf.struct_pb2 import Struct, Value
from google.protobuf.timestamp_pb2 import Timestamp

from crm_platform.proto_gen.crm.actas.v1 import actas_pb2 as pb
from crm_platform.proto_gen.crm.actas.v1 import submission_pb2 as sub_pb
from services.actas.domain import chain
from services.actas.domain.catalogue import option_label
from services.actas.domain.model import Acta, Actor, FingerprintEvidence, GeoPoint, Method, Role, Signature
from services.actas.domain.submission import RejectReason, SubmissionRejected
from services.actas.domain.templates import Template
from services.actas.service_layer.devices import NewPairingCode
from services.actas.service_layer.handlers import (
    KioskMessage,
    MalformedSubmission,
    SignatureInput,
    SubmissionContent,
)
from services.actas.service_layer.ports import RegisteredDevice, Rejection


def ts(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    out = Timestamp()
    out.FromDatetime(value)
    return out


def when(value: Timestamp, present: bool = True) -> datetime | None:
    if not present or (value.seconds == 0 and value.nanos == 0):
        return None
    return value.ToDatetime(tzinfo=UTC)


def struct(values: dict[str, Any]) -> Struct:
    out = Struct()
    out.update(values)
    return out


def values(message: Struct) -> dict[str, Any]:
    """The values as Python, as ``MessageToDict`` gives them, except that NaN and
    infinities are kept (``MessageToDict`` raises on them) for the template's
    validation to name the field."""
    return {key: _plain(value) for key, value in message.fields.items()}


def _plain(value: Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        return values(value.struct_value)
    if kind == "list_value":
        return [_plain(item) for item in value.list_value.values]
    if kind is None or kind == "null_value":
        return None
    return getattr(value, kind)


def template(t: Template) -> pb.Template:
    return pb.Template(
        code=t.code,
        version=t.version,
        key=t.key,
        title=t.title,
        fields=[
            pb.TemplateField(
                code=f.code,
                label=f.label,
                type=str(f.type),
                required=f.required,
                options=list(f.options),
                minimum=f.minimum,
                maximum=f.maximum,
                max_length=f.max_length,
                option_labels=[option_label(o) for o in f.options],
            )
            for f in t.fields
        ],
    )


def evidence_to_pb(e: FingerprintEvidence) -> sub_pb.FingerprintEvidence:
    return sub_pb.FingerprintEvidence(
        score=e.score,
        finger=e.finger,
        sensor_id=e.sensor_id,
        mode=e.mode,
        template_sha256=e.template_sha256,
        matched_at=ts(e.matched_at),
        device_id=e.device_id,
        device_signature=e.device_signature,
        verification=e.verification,
    )


def evidence(e: sub_pb.FingerprintEvidence) -> FingerprintEvidence:
    return FingerprintEvidence(
        score=e.score,
        finger=e.finger,
        sensor_id=e.sensor_id,
        mode=e.mode,
        template_sha256=e.template_sha256,
        matched_at=when(e.matched_at) or datetime.now(UTC),
        # What the caller claims the device did; the service decides ``verification``.
        device_id=e.device_id,
        device_signature=e.device_signature,
    )


def signature(s: Signature, images: dict[str, bytes]) -> pb.Signature:
    return pb.Signature(
        signer_id=s.signer_id,
        role=str(s.role),
        method=str(s.method),
        signed_at=ts(s.signed_at),
        fingerprint=evidence_to_pb(s.fingerprint) if s.fingerprint else None,
        handwritten_sha256=s.handwritten_sha256,
        handwritten_png=images.get(s.handwritten_sha256, b""),
        refusal_reason=s.refusal_reason,
    )


def acta(a: Acta, amended_by: list[str] | None = None, images: dict[str, bytes] | None = None) -> pb.Acta:
    return pb.Acta(
        id=a.id,
        template_key=a.template_key,
        title=a.title,
        status=str(a.status),
        values=struct(a.values),
        participants=[
            pb.Participant(
                beneficiary_id=p.beneficiary_id, family_id=p.family_id, full_name=p.full_name, national_id=p.national_id
            )
            for p in a.participants
        ],
        signatures=[signature(s, images or {}) for s in a.signatures],
        gestor_id=a.gestor_id,
        community_id=a.community_id,
        captured_at=ts(a.captured_at),
        created_at=ts(a.created_at),
        sealed_at=ts(a.sealed_at),
        content_hash=a.content_hash,
        chain_seq=a.chain_seq,
        source=str(a.source),
        device_id=a.device_id,
        submission_id=a.submission_id,
        amends=a.amends,
        amendment_reason=a.amendment_reason,
        amended_by=amended_by or [],
        location=sub_pb.GeoPoint(lat=a.location.lat, lon=a.location.lon, accuracy_m=a.location.accuracy_m)
        if a.location
        else None,
        folio=a.folio,
        names=a.names,
        gestor_name=a.gestor_name,
        gestor_document=a.gestor_document,
        gestor_title=a.gestor_title,
    )


def acta_ref(a: Acta) -> pb.ActaRef:
    return pb.ActaRef(acta_id=a.id, folio=a.folio, sealed_at=ts(a.sealed_at))


def actor(subject: str, role: str, profile: pb.StaffProfile) -> Actor:
    """The caller, with the profile the gateway passed from their account."""
    return Actor(subject, role, profile.full_name.strip(), profile.document.strip(), profile.title.strip())


def problem(p: chain.ChainProblem) -> pb.ChainProblem:
    return pb.ChainProblem(kind=p.kind, seq=p.seq, acta_id=p.acta_id, detail=p.detail)


def pairing_code(new: NewPairingCode) -> pb.PairingCode:
    return pb.PairingCode(
        code=new.code,
        community_id=new.issued.community_id,
        issued_by=new.issued.issued_by,
        issued_at=ts(new.issued.issued_at),
        expires_at=ts(new.issued.expires_at),
        description=new.issued.description,
    )


def device(d: RegisteredDevice) -> pb.Device:
    return pb.Device(
        id=d.device.device_id,
        public_key=d.device.public_key_b64,
        community_id=d.community_id,
        description=d.description,
        revoked=d.device.revoked,
        registered_by=d.registered_by,
        registered_at=ts(d.registered_at),
        revoked_at=ts(d.revoked_at),
        last_submission_at=ts(d.last_submission_at),
        submissions=d.submissions,
    )


def rejection(r: Rejection) -> pb.RejectedSubmission:
    return pb.RejectedSubmission(
        id=r.id,
        reason=r.reason,
        detail=r.detail,
        device_id=r.device_id,
        submission_id=r.submission_id,
        received_at=ts(r.received_at),
        resolved=r.resolved,
        resolved_by=r.resolved_by,
        resolution_note=r.resolution_note,
        field_errors=r.field_errors,
    )


# -- kiosk submission bytes -> domain --------------------------------------------------
_METHODS = {"fingerprint": Method.FINGERPRINT, "handwritten": Method.HANDWRITTEN, "refusal": Method.REFUSED}


def decode_kiosk_message(raw: bytes) -> KioskMessage:
    """A ``KioskSubmission`` off the queue, decoded once: the envelope and its body.

    Raises SubmissionRejected (malformed) only when the envelope itself is not one;
    a body that is not a submission is carried as ``malformed``, so the use case
    still checks the signature first and records who sent it."""
    try:
        envelope = sub_pb.KioskSubmission.FromString(raw)
    except Exception as exc:  # protobuf raises DecodeError, and others on deeply broken input
        raise SubmissionRejected(RejectReason.MALFORMED, f"el mensaje no es un KioskSubmission: {exc}") from None
    submission_id, content, malformed = "", None, ""
    try:
        body = _parse_body(envelope.body)
        submission_id = body.submission_id
        content = _content(body)
    except MalformedSubmission as exc:
        malformed = str(exc)
    return KioskMessage(envelope.device_id, envelope.body, envelope.signature, content, malformed, submission_id)


def decode_submission(body: bytes) -> SubmissionContent:
    """A SubmissionBody's bytes as a domain command; MalformedSubmission names what is wrong."""
    return _content(_parse_body(body))


def _parse_body(body: bytes) -> sub_pb.SubmissionBody:
    try:
        return sub_pb.SubmissionBody.FromString(body)
    except Exception as exc:  # protobuf raises DecodeError, and others on deeply broken input
        raise MalformedSubmission(f"el cuerpo del envío no es un SubmissionBody: {exc}") from None


def _content(message: sub_pb.SubmissionBody) -> SubmissionContent:
    missing = [
        name for name in ("submission_id", "device_id", "template_key", "gestor_id") if not getattr(message, name)
    ]
    if not message.HasField("captured_at"):
        missing.append("captured_at")
    if missing:
        raise MalformedSubmission(f"faltan campos obligatorios: {', '.join(missing)}")
    signatures = []
    for index, given in enumerate(message.signatures):
        kind = given.WhichOneof("method")
        if kind is None:
            raise MalformedSubmission(f"la firma {index + 1} no indica cómo se firmó")
        try:
            role = Role(given.role)
        except ValueError:
            raise MalformedSubmission(f"la firma {index + 1} tiene un rol desconocido {given.role!r}") from None
        signatures.append(
            SignatureInput(
                signer_id=given.signer_id,
                role=role,
                method=_METHODS[kind],
                signed_at=when(given.signed_at, given.HasField("signed_at")),
                fingerprint=evidence(given.fingerprint) if kind == "fingerprint" else None,
                handwritten_png=given.handwritten.png if kind == "handwritten" else None,
                refusal_reason=given.refusal.reason if kind == "refusal" else "",
            )
        )
    location = message.location if message.HasField("location") else None
    return SubmissionContent(
        submission_id=message.submission_id,
        device_id=message.device_id,
        template_key=message.template_key,
        values=values(message.values),
        signatures=tuple(signatures),
        captured_at=message.captured_at.ToDatetime(tzinfo=UTC),
        gestor_id=message.gestor_id,
        community_id=message.community_id,
        location=GeoPoint(location.lat, location.lon, location.accuracy_m) if location else None,
    )
