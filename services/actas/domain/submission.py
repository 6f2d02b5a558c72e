"""Kiosk submissions: Ed25519 device signatures over the canonical bytes of the
submission, checked against the registry of paired kiosks.

The kiosk signs ``canonical_bytes(body)``; the platform verifies with the public
key it registered when the kiosk was paired, and refuses unknown or revoked
devices. Rejections carry a machine-readable reason for the dead-letter queue.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from services.actas.domain.canonical import NotCanonicalisable, canonical_bytes
from services.actas.domain.errors import ActaError


class RejectReason(StrEnum):
    UNKNOWN_DEVICE = "unknown_device"
    REVOKED_DEVICE = "revoked_device"
    BAD_SIGNATURE = "bad_signature"
    MALFORMED = "malformed"


class SubmissionRejected(ActaError):
    """A kiosk submission that must not be applied; ``reason`` is machine-readable."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Device:
    device_id: str
    public_key_b64: str
    revoked: bool = False


def public_key_b64(private_key: Ed25519PrivateKey) -> str:
    raw = private_key.public_key().public_bytes_raw()
    return base64.b64encode(raw).decode()


def sign(body: dict[str, Any], private_key: Ed25519PrivateKey) -> str:
    return base64.b64encode(private_key.sign(canonical_bytes(body))).decode()


def verify(body: dict[str, Any], signature_b64: str, device: Device | None) -> None:
    """Accept only a body signed by a registered, non-revoked device."""
    if device is None:
        raise SubmissionRejected(RejectReason.UNKNOWN_DEVICE, "el quiosco no está registrado")
    if device.revoked:
        raise SubmissionRejected(RejectReason.REVOKED_DEVICE, f"el quiosco {device.device_id} fue revocado")
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(device.public_key_b64, validate=True))
        signature = base64.b64decode(signature_b64, validate=True)
        message = canonical_bytes(body)
    except (binascii.Error, ValueError, NotCanonicalisable) as exc:
        raise SubmissionRejected(RejectReason.MALFORMED, f"firma o contenido ilegible: {exc}") from None
    try:
        key.verify(signature, message)
    except InvalidSignature:
        raise SubmissionRejected(
            RejectReason.BAD_SIGNATURE, "la firma del quiosco no corresponde al contenido"
        ) from None
