"""How a fingerprint signature is labelled on the PDF: the one place that says
whether a reader verified it or the gestor only declared it.

A match counts as verified only when a paired device vouched for it (a kiosk's
signed submission, or a desk reader's signature): the label names the device and
the score may be shown. Anything else is the gestor's declaration, printed as such
and without a score, so paper never claims more than the platform checked.
"""

from __future__ import annotations

from services.documents.domain.view import FingerprintEvidence

VERIFIED = "device"
DECLARED_LABEL = "Huella declarada por el gestor (no verificada por un lector)"


def verified(evidence: FingerprintEvidence) -> bool:
    return evidence.verification == VERIFIED and bool(evidence.device_id)


def fingerprint_label(evidence: FingerprintEvidence) -> str:
    if verified(evidence):
        return f"Firma con huella dactilar verificada por el lector {evidence.device_id}"
    return DECLARED_LABEL
