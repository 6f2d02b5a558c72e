"""Kiosk submissions: Ed25519 device signatures over the exact bytes sent, checked
against the registry of paired kiosks.

The kiosk serialises the submission body once, signs those bytes and sends them
unchanged (see protos/crm/actas/v1/submission.proto), so nothing between the
kiosk and the platform can re-serialise what was signed. The platform verifies
with the public key registered when the kiosk was paired and refuses unknown or
revoked devices. Rejections carry a machine-readable reason for the
dead-letter queue and the staff's list of rejected submissions.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from services.actas.domain.errors import ActaError

ED25519_KEY_BYTES = 32
ED25519_SIGNATURE_BYTES = 64


class RejectReason(StrEnum):
    UNKNOWN_DEVICE = "unknown_device"
    REVOKED_DEVICE = "revoked_device"
    BAD_SIGNATURE = "bad_signature"
    MALFORMED = "malformed"
    INVALID_FIELDS = "invalid_fields"
    UNKNOWN_PARTICIPANT = "unknown_participant"
    BAD_EVIDENCE = "bad_evidence"
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"


class SubmissionRejected(ActaError):
    """A kiosk submission that must not be applied; ``reason`` is machine-readable."""

    def __init__(self, reason: RejectReason, detail: str, field_errors: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.field_errors = dict(field_errors or {})


@dataclass(frozen=True)
class Device:
    device_id: str
    public_key_b64: str
    revoked: bool = False


def decode_public_key(public_key_b64: str) -> Ed25519PublicKey:
    """The key of a base64 raw Ed25519 public key; ValueError names what is wrong."""
    try:
        raw = base64.b64decode(public_key_b64, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("la clave pública no está en base64") from None
    if len(raw) != ED25519_KEY_BYTES:
        raise ValueError(f"la clave pública Ed25519 debe tener {ED25519_KEY_BYTES} bytes, tiene {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def public_key_b64(private_key: Ed25519PrivateKey) -> str:
    return base64.b64encode(private_key.public_key().public_bytes_raw()).decode()


def sign(body: bytes, private_key: Ed25519PrivateKey) -> bytes:
    return private_key.sign(body)


def verify(body: bytes, signature: bytes, device: Device | None) -> None:
    """Accept only bytes signed by a registered, non-revoked device."""
    if device is None:
        raise SubmissionRejected(RejectReason.UNKNOWN_DEVICE, "el quiosco no está registrado")
    if device.revoked:
        raise SubmissionRejected(RejectReason.REVOKED_DEVICE, f"el quiosco {device.device_id} fue revocado")
    if len(signature) != ED25519_SIGNATURE_BYTES:
        raise SubmissionRejected(
            RejectReason.MALFORMED, f"la firma debe tener {ED25519_SIGNATURE_BYTES} bytes, tiene {len(signature)}"
        )
    try:
        key = decode_public_key(device.public_key_b64)
    except ValueError as exc:
        raise SubmissionRejected(RejectReason.MALFORMED, f"clave registrada ilegible: {exc}") from None
    try:
        key.verify(signature, body)
    except InvalidSignature:
        raise SubmissionRejected(
            RejectReason.BAD_SIGNATURE, "la firma del quiosco no corresponde al contenido"
        ) from None
