"""A desk fingerprint signature is verified only when a paired desk reader signed
the evidence (issue 12, item 4); otherwise it is recorded as the gestor's
declaration. A signature that does not check out is refused, never downgraded."""

from __future__ import annotations

from dataclasses import replace

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.actas.domain.errors import FieldsInvalid
from services.actas.domain.model import Method, Role
from services.actas.domain.submission import public_key_b64
from services.actas.service_layer.base import SignatureInput
from tests.desk_reader import READER, READER_KEY, sign_evidence

from .test_actas_handlers import COORDINATOR, GESTOR, World, a_draft, evidence, world


def given(fp: object = None) -> SignatureInput:
    return SignatureInput("p1", Role.PARTICIPANT, Method.FINGERPRINT, fingerprint=fp or evidence())  # type: ignore[arg-type]


def paired_reader(w: World, community: str = "com1", device_id: str = READER) -> None:
    w.handlers.register_device(device_id, public_key_b64(READER_KEY), community, "Lector del escritorio", COORDINATOR)


def test_unsigned_desk_evidence_is_recorded_as_declared_whatever_it_claims() -> None:
    w = world()
    acta_id = a_draft(w)
    claimed = evidence(score=187, template_sha256="", sensor_id="")
    w.handlers.sign(acta_id, given(claimed), GESTOR)
    [signature] = w.handlers.get(acta_id).signatures
    assert signature.fingerprint == replace(claimed, verification="declared")
    assert signature.canonical()["fingerprint"]["verification"] == "declared", "the content hash commits to it"


def test_evidence_signed_by_the_communitys_paired_reader_is_verified() -> None:
    w = world()
    acta_id = a_draft(w)
    paired_reader(w)
    signed = sign_evidence(evidence(), acta_id, "p1")
    w.handlers.sign(acta_id, given(signed), GESTOR)
    [signature] = w.handlers.get(acta_id).signatures
    assert signature.fingerprint is not None
    assert (signature.fingerprint.verification, signature.fingerprint.device_id) == ("device", READER)


def _refused(w: World, acta_id: str, fp: object, reason: str) -> None:
    before = w.repo.get(acta_id)
    with pytest.raises(FieldsInvalid) as err:
        w.handlers.sign(acta_id, given(fp), GESTOR)
    assert reason in err.value.errors["fingerprint"]
    assert w.repo.get(acta_id) == before


def test_a_signature_that_does_not_check_out_is_refused_not_downgraded() -> None:
    w = world()
    acta_id = a_draft(w)
    paired_reader(w)
    signed = sign_evidence(evidence(), acta_id, "p1")
    _refused(w, acta_id, replace(signed, score=250), "no corresponde")  # tampered after signing
    _refused(w, acta_id, sign_evidence(evidence(), "otra-acta", "p1"), "no corresponde")  # replayed
    _refused(w, acta_id, sign_evidence(evidence(), acta_id, "p1", key=Ed25519PrivateKey.generate()), "no corresponde")
    _refused(w, acta_id, sign_evidence(evidence(), acta_id, "p1", device_id="lector-fantasma"), "no está registrado")
    _refused(w, acta_id, replace(signed, device_signature=b""), "firma debe tener 64 bytes")


def test_a_reader_of_another_community_or_revoked_does_not_verify() -> None:
    w = world()
    acta_id = a_draft(w)
    paired_reader(w, community="com-otra")
    _refused(w, acta_id, sign_evidence(evidence(), acta_id, "p1"), "otra comunidad")
    paired_reader(w, device_id="lector-2")
    w.handlers.revoke_device("lector-2", COORDINATOR)
    _refused(w, acta_id, sign_evidence(evidence(), acta_id, "p1", device_id="lector-2"), "revocado")
