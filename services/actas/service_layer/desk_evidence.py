"""Fingerprint evidence given at the desk: verified only when a paired desk reader
signed it, otherwise recorded as the gestor's declaration.

The score, sensor, time and template hash in a desk request are what the caller
says. They become a verified fingerprint only when they carry an Ed25519
signature, over ``crm_platform.fingerprint_evidence.evidence_message`` (which binds
the acta and the signer), by a registered, non-revoked device paired with the
acta's community: the same scheme and registry as kiosk submissions. Evidence
without a signature is kept as ``declared`` (the PDF says so, and shows no score);
a signature that does not verify is refused, never downgraded.
"""

from __future__ import annotations

from dataclasses import replace

from crm_platform.fingerprint_evidence import evidence_message
from services.actas.domain import submission
from services.actas.domain.errors import FieldsInvalid
from services.actas.domain.model import DECLARED, VERIFIED_BY_DEVICE, Acta, Method
from services.actas.service_layer.base import SignatureInput
from services.actas.service_layer.ports import ActaRepository


def classify(repo: ActaRepository, acta: Acta, given: SignatureInput) -> SignatureInput:
    """``given`` with its fingerprint marked verified (by which device) or declared."""
    evidence = given.fingerprint
    if given.method != Method.FINGERPRINT or evidence is None:
        return given
    if not evidence.device_id and not evidence.device_signature:
        return replace(given, fingerprint=replace(evidence, verification=DECLARED))
    registered = repo.get_device(evidence.device_id) if evidence.device_id else None
    message = evidence_message(
        acta_id=acta.id,
        signer_id=given.signer_id,
        device_id=evidence.device_id,
        finger=evidence.finger,
        score=evidence.score,
        sensor_id=evidence.sensor_id,
        mode=evidence.mode,
        template_sha256=evidence.template_sha256,
        matched_at=evidence.matched_at,
    )
    try:
        submission.verify(message, evidence.device_signature, registered.device if registered else None)
    except submission.SubmissionRejected as exc:
        raise FieldsInvalid(
            {"fingerprint": f"La huella no está firmada por un lector emparejado: {exc.detail}"}
        ) from None
    assert registered is not None  # verify() refuses an unknown device
    if not registered.community_id or registered.community_id != acta.community_id:
        raise FieldsInvalid({"fingerprint": "El lector que firmó la huella está emparejado con otra comunidad"})
    return replace(given, fingerprint=replace(evidence, verification=VERIFIED_BY_DEVICE))
