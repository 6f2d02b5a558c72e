"""Kiosk submissions are accepted only when signed by a registered, active device."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.actas.domain.submission import (
    Device,
    RejectReason,
    SubmissionRejected,
    decode_public_key,
    public_key_b64,
    sign,
    verify,
)

KEY = Ed25519PrivateKey.generate()
DEVICE = Device("kiosco-007", public_key_b64(KEY))
BODY = b'{"submission_id":"k-1","template":"visita_domiciliaria@1"}'


def test_bytes_signed_by_the_registered_device_verify() -> None:
    verify(BODY, sign(BODY, KEY), DEVICE)


def _flip_last_byte(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 1])


@pytest.mark.parametrize(
    ("body", "signature", "device", "reason"),
    [
        (BODY.replace(b"k-1", b"k-2"), sign(BODY, KEY), DEVICE, RejectReason.BAD_SIGNATURE),
        (BODY, _flip_last_byte(sign(BODY, KEY)), DEVICE, RejectReason.BAD_SIGNATURE),
        (BODY, sign(BODY, Ed25519PrivateKey.generate()), DEVICE, RejectReason.BAD_SIGNATURE),
        (BODY, sign(BODY, KEY), None, RejectReason.UNKNOWN_DEVICE),
        (BODY, sign(BODY, KEY), Device("kiosco-007", DEVICE.public_key_b64, revoked=True), RejectReason.REVOKED_DEVICE),
        (BODY, b"short", DEVICE, RejectReason.MALFORMED),
        (BODY, sign(BODY, KEY), Device("kiosco-007", "c2hvcnQ="), RejectReason.MALFORMED),
    ],
)
def test_tampered_foreign_unknown_revoked_or_malformed_submissions_are_rejected_with_a_reason(
    body: bytes, signature: bytes, device: Device | None, reason: RejectReason
) -> None:
    with pytest.raises(SubmissionRejected) as err:
        verify(body, signature, device)
    assert err.value.reason is reason


@pytest.mark.parametrize(
    ("key", "message"),
    [("%%%", "base64"), (base64.b64encode(b"x" * 31).decode(), "32 bytes")],
)
def test_a_public_key_that_is_not_a_raw_ed25519_key_is_refused_with_the_reason(key: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode_public_key(key)
