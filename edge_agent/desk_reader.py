"""A desk fingerprint reader's part in a desk signature: it vouches for a match it
made by signing the evidence with its device key (paired like a kiosk, with a
coordinator's one-time code: ``crm-kiosk pair``). The platform records desk
fingerprint evidence as verified only with this signature; without it the match
is the gestor's declaration."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from crm_platform.fingerprint_evidence import evidence_message, instant


def signed_evidence(
    key: Ed25519PrivateKey,
    *,
    device_id: str,
    acta_id: str,
    signer_id: str,
    score: int,
    finger: str,
    sensor_id: str,
    mode: str,
    template_sha256: str,
    matched_at: datetime,
) -> dict[str, Any]:
    """The ``fingerprint`` object of ``POST /actas/{acta_id}/signatures``, signed."""
    match: dict[str, Any] = {
        "score": score,
        "finger": finger,
        "sensor_id": sensor_id,
        "mode": mode,
        "template_sha256": template_sha256,
    }
    message = evidence_message(
        acta_id=acta_id, signer_id=signer_id, device_id=device_id, matched_at=matched_at, **match
    )
    return {
        **match,
        "matched_at": instant(matched_at),
        "device_id": device_id,
        "signature_base64": base64.b64encode(key.sign(message)).decode(),
    }
