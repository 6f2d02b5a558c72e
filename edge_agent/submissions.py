"""Building a kiosk submission: serialise the body once, sign those bytes with the
device key, wrap both in the envelope (protos/crm/actas/v1/submission.proto)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf.struct_pb2 import Struct
from google.protobuf.timestamp_pb2 import Timestamp

from crm_platform.proto_gen.crm.actas.v1 import submission_pb2 as sub_pb


def timestamp(moment: datetime | None = None) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(moment or datetime.now(UTC))
    return out


def body(
    *,
    submission_id: str,
    device_id: str,
    template_key: str,
    values: Mapping[str, Any],
    signatures: Sequence[sub_pb.SubmittedSignature],
    gestor_id: str,
    community_id: str = "",
    captured_at: datetime | None = None,
    location: tuple[float, float, float] | None = None,
) -> sub_pb.SubmissionBody:
    struct = Struct()
    struct.update(dict(values))
    message = sub_pb.SubmissionBody(
        submission_id=submission_id,
        device_id=device_id,
        template_key=template_key,
        values=struct,
        signatures=list(signatures),
        captured_at=timestamp(captured_at),
        gestor_id=gestor_id,
        community_id=community_id,
    )
    if location is not None:
        message.location.CopyFrom(sub_pb.GeoPoint(lat=location[0], lon=location[1], accuracy_m=location[2]))
    return message


def fingerprint_signature(
    signer_id: str, *, score: int, finger: str, sensor_id: str, template_sha256: str, mode: str = "verify_1_1"
) -> sub_pb.SubmittedSignature:
    now = timestamp()
    return sub_pb.SubmittedSignature(
        signer_id=signer_id,
        role="participante",
        signed_at=now,
        fingerprint=sub_pb.FingerprintEvidence(
            score=score, finger=finger, sensor_id=sensor_id, mode=mode, template_sha256=template_sha256, matched_at=now
        ),
    )


def handwritten_signature(signer_id: str, png: bytes, role: str = "participante") -> sub_pb.SubmittedSignature:
    return sub_pb.SubmittedSignature(
        signer_id=signer_id, role=role, signed_at=timestamp(), handwritten=sub_pb.Handwritten(png=png)
    )


def refusal(signer_id: str, reason: str) -> sub_pb.SubmittedSignature:
    return sub_pb.SubmittedSignature(
        signer_id=signer_id, role="participante", signed_at=timestamp(), refusal=sub_pb.Refusal(reason=reason)
    )


def envelope(content: sub_pb.SubmissionBody, key: Ed25519PrivateKey) -> bytes:
    """The bytes a kiosk publishes: the body as serialised once, and its signature."""
    raw = content.SerializeToString(deterministic=True)
    return sub_pb.KioskSubmission(device_id=content.device_id, body=raw, signature=key.sign(raw)).SerializeToString()
