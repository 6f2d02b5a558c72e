"""The bytes a paired desk reader signs with its Ed25519 device key to vouch for a
fingerprint match at the desk, written once for both ends: the reader signs them,
the actas service rebuilds and verifies them (``SignActa``).

They bind the match to one acta and one signer, so a signed match cannot be
replayed onto another acta or person. The same key pairs the reader like a kiosk
(a one-time code for one community).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime


def instant(moment: datetime) -> str:
    """A time as signed: UTC, milliseconds (what every store keeps)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def evidence_message(
    *,
    acta_id: str,
    signer_id: str,
    device_id: str,
    finger: str,
    score: int,
    sensor_id: str,
    mode: str,
    template_sha256: str,
    matched_at: datetime,
) -> bytes:
    body = {
        "acta_id": acta_id,
        "signer_id": signer_id,
        "device_id": device_id,
        "finger": finger,
        "score": score,
        "sensor_id": sensor_id,
        "mode": mode,
        "template_sha256": template_sha256,
        "matched_at": instant(matched_at),
    }
    return b"crm-desk-fingerprint\n" + json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
