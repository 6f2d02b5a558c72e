"""Kiosk submissions are accepted only when signed by a registered, active device."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.actas.domain.submission import (
    Device,
    RejectReason,
    SubmissionRejected,
    public_key_b64,
    sign,
    verify,
)

KEY = Ed25519PrivateKey.generate()
DEVICE = Device("kiosco-007", public_key_b64(KEY))
BODY = {"idempotency_key": "k-1", "template": "visita_domiciliaria@1", "values": {"lugar": "Lote 12", "n": 4}}


def test_a_signed_submission_verifies_whatever_its_key_order() -> None:
    signature = sign(BODY, KEY)
    reordered = {"values": {"n": 4, "lugar": "Lote 12"}, "template": "visita_domiciliaria@1", "idempotency_key": "k-1"}
    verify(reordered, signature, DEVICE)


@pytest.mark.parametrize(
    ("body", "signature", "device", "reason"),
    [
        ({**BODY, "values": {"lugar": "Lote 13", "n": 4}}, sign(BODY, KEY), DEVICE, RejectReason.BAD_SIGNATURE),
        (BODY, sign(BODY, Ed25519PrivateKey.generate()), DEVICE, RejectReason.BAD_SIGNATURE),
        (BODY, sign(BODY, KEY), None, RejectReason.UNKNOWN_DEVICE),
        (BODY, sign(BODY, KEY), Device("kiosco-007", DEVICE.public_key_b64, revoked=True), RejectReason.REVOKED_DEVICE),
        (BODY, "%%%not-base64", DEVICE, RejectReason.MALFORMED),
        (BODY, sign(BODY, KEY), Device("kiosco-007", "c2hvcnQ="), RejectReason.MALFORMED),
        ({**BODY, "values": {"x": float("nan")}}, sign(BODY, KEY), DEVICE, RejectReason.MALFORMED),
    ],
)
def test_tampered_foreign_unknown_revoked_or_malformed_submissions_are_rejected_with_a_reason(
    body: dict, signature: str, device: Device | None, reason: RejectReason
) -> None:
    with pytest.raises(SubmissionRejected) as err:
        verify(body, signature, device)
    assert err.value.reason is reason
