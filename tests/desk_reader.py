"""A paired desk reader for tests: it signs fingerprint evidence given at the desk
(``crm_platform.fingerprint_evidence``), as the reader's own software would."""

from __future__ import annotations

from dataclasses import replace

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from crm_platform.fingerprint_evidence import evidence_message
from services.actas.domain.model import FingerprintEvidence

READER = "lector-escritorio-1"
READER_KEY = Ed25519PrivateKey.generate()


def sign_evidence(
    evidence: FingerprintEvidence,
    acta_id: str,
    signer_id: str,
    device_id: str = READER,
    key: Ed25519PrivateKey = READER_KEY,
) -> FingerprintEvidence:
    message = evidence_message(
        acta_id=acta_id,
        signer_id=signer_id,
        device_id=device_id,
        finger=evidence.finger,
        score=evidence.score,
        sensor_id=evidence.sensor_id,
        mode=evidence.mode,
        template_sha256=evidence.template_sha256,
        matched_at=evidence.matched_at,
    )
    return replace(evidence, device_id=device_id, device_signature=key.sign(message))
