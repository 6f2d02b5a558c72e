"""The actas service (gRPC server and ingest worker) against the real RabbitMQ,
SecantusDB and the beneficiaries service started by devstack."""

from __future__ import annotations

import functools
import hashlib
import io
import uuid
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf.struct_pb2 import Struct
from kombu import Connection, Producer
from PIL import Image

from crm_platform import submission_bus as bus
from crm_platform.grpc_support import caller_metadata, field_errors
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2 as apb
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2_grpc as apb_grpc
from crm_platform.proto_gen.crm.actas.v1 import submission_pb2 as sub_pb
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as pb
from devstack.infra import Stack
from edge_agent import submissions as kiosk
from services.actas.domain.submission import public_key_b64
from tests.helpers import GESTOR, Caller, eventually, person_request

COORDINATOR = Caller("coordinadora.test", "coordinator")
TEMPLATE = bytes(range(256)) * 2
TEMPLATE_SHA = hashlib.sha256(TEMPLATE).hexdigest()


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("L", (120, 40), 255).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def actas(stack: Stack) -> Iterator[apb_grpc.ActasServiceStub]:
    channel = grpc.insecure_channel(stack.env["ACTAS_GRPC"])
    yield apb_grpc.ActasServiceStub(channel)
    channel.close()


@pytest.fixture
def people(beneficiaries, family) -> list[pb.Beneficiary]:
    """Two members of a household; the first enrolled a fingerprint."""
    head = beneficiaries.RegisterBeneficiary(person_request(family_id=family.id, relationship="head"), metadata=GESTOR)
    spouse = beneficiaries.RegisterBeneficiary(
        person_request(family_id=family.id, relationship="spouse", first_names="Luis", sex="male"), metadata=GESTOR
    )
    beneficiaries.RecordConsent(pb.RecordConsentRequest(beneficiary_id=head.id, kind="biometrics"), metadata=GESTOR)
    beneficiaries.StoreBiometricTemplate(
        pb.StoreBiometricTemplateRequest(beneficiary_id=head.id, finger="right_index", template=TEMPLATE),
        metadata=GESTOR,
    )
    return [head, spouse]


def visit_values(family: pb.Family, signers: list[str]) -> dict[str, Any]:
    return {
        "fecha": "2026-11-20",
        "lugar": "Nuevo Roche, lote 12",
        "hogar": family.id,
        "motivo": "seguimiento",
        "situacion_encontrada": "Familia en proceso de adaptación; la huerta produce.",
        "personas_presentes": 2,
        "firmantes": signers,
    }


def struct(values: dict[str, Any]) -> Struct:
    out = Struct()
    out.update(values)
    return out


# -- desk flow ---------------------------------------------------------------------------
def test_desk_acta_is_signed_by_each_participant_then_the_gestor_and_sealed_into_the_chain(
    actas, beneficiaries, family, people
) -> None:
    head, spouse = people
    draft = actas.CreateActa(
        apb.CreateActaRequest(
            template_key="visita_domiciliaria@1", values=struct(visit_values(family, [head.id, spouse.id]))
        ),
        metadata=GESTOR,
    )
    assert draft.status == "draft" and [p.beneficiary_id for p in draft.participants] == [head.id, spouse.id]
    assert draft.participants[0].full_name == "María José Peña Epiayú"
    with pytest.raises(grpc.RpcError) as early:
        actas.SignActa(apb.SignActaRequest(acta_id=draft.id), metadata=GESTOR)
    assert early.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "firma al final" in early.value.details()

    actas.SignActa(
        apb.SignActaRequest(acta_id=draft.id, signer_id=head.id, handwritten_png=png_bytes()), metadata=GESTOR
    )
    actas.SignActa(
        apb.SignActaRequest(acta_id=draft.id, signer_id=spouse.id, refusal_reason="No desea firmar hoy"),
        metadata=GESTOR,
    )
    signed = actas.SignActa(apb.SignActaRequest(acta_id=draft.id), metadata=GESTOR)
    assert signed.status == "signed"
    sealed = actas.SealActa(apb.SealActaRequest(acta_id=draft.id), metadata=GESTOR)
    assert sealed.status == "sealed" and sealed.chain_seq > 0 and len(sealed.content_hash) == 64

    verdict = actas.VerifyActa(apb.VerifyActaRequest(acta_id=draft.id), metadata=GESTOR)
    assert verdict.valid and verdict.content_hash == sealed.content_hash and not verdict.problems

    with pytest.raises(grpc.RpcError) as late:
        actas.SignActa(apb.SignActaRequest(acta_id=draft.id, signer_id=head.id, refusal_reason="x"), metadata=GESTOR)
    assert late.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    full = actas.GetActa(apb.GetActaRequest(id=draft.id, include_images=True), metadata=GESTOR)
    assert full.signatures[0].handwritten_png == png_bytes()
    assert full.signatures[0].handwritten_sha256 == hashlib.sha256(png_bytes()).hexdigest()

    # The beneficiaries service appends the sealed acta to each participant's and the family's timeline.
    def on_timeline(subject_type: str, subject_id: str) -> bool:
        request = pb.GetTimelineRequest(subject_type=subject_type, subject_id=subject_id)
        entries = beneficiaries.GetTimeline(request, metadata=GESTOR).entries
        return any(e.kind == "acta_sealed" and e.source_id == draft.id for e in entries)

    for subject_type, subject_id in (("beneficiary", head.id), ("beneficiary", spouse.id), ("family", family.id)):
        eventually(functools.partial(on_timeline, subject_type, subject_id))


def test_fields_violating_the_template_are_each_named(actas, family, people) -> None:
    values = visit_values(family, [people[0].id])
    values.update(motivo="paseo", personas_presentes="dos", extra="?")
    del values["lugar"]
    with pytest.raises(grpc.RpcError) as err:
        actas.CreateActa(
            apb.CreateActaRequest(template_key="visita_domiciliaria@1", values=struct(values)), metadata=GESTOR
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_errors(err.value)) == {"motivo", "personas_presentes", "extra", "lugar"}


def test_unknown_participants_are_rejected_with_their_ids_not_dropped(actas, family, people) -> None:
    ghost = uuid.uuid4().hex
    with pytest.raises(grpc.RpcError) as err:
        actas.CreateActa(
            apb.CreateActaRequest(
                template_key="visita_domiciliaria@1", values=struct(visit_values(family, [people[0].id, ghost]))
            ),
            metadata=GESTOR,
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert ghost in field_errors(err.value)["firmantes"]


def test_a_correction_is_a_new_sealed_acta_that_references_the_original(actas, family, people) -> None:
    head = people[0]
    draft = actas.CreateActa(
        apb.CreateActaRequest(template_key="visita_domiciliaria@1", values=struct(visit_values(family, [head.id]))),
        metadata=GESTOR,
    )
    actas.SignActa(
        apb.SignActaRequest(acta_id=draft.id, signer_id=head.id, refusal_reason="Prefiere no firmar"), metadata=GESTOR
    )
    actas.SignActa(apb.SignActaRequest(acta_id=draft.id), metadata=GESTOR)
    original = actas.SealActa(apb.SealActaRequest(acta_id=draft.id), metadata=GESTOR)

    fix = actas.AmendActa(
        apb.AmendActaRequest(acta_id=original.id, changes=struct({"personas_presentes": 3}), reason="Se contó mal"),
        metadata=GESTOR,
    )
    assert fix.status == "sealed" and fix.amends == original.id and fix.values["personas_presentes"] == 3
    assert fix.chain_seq > original.chain_seq
    again = actas.GetActa(apb.GetActaRequest(id=original.id), metadata=GESTOR)
    assert again.values["personas_presentes"] == 2 and list(again.amended_by) == [fix.id]
    assert again.content_hash == original.content_hash
    # Its only signer is who corrected it; it says why.
    assert [s.signer_id for s in fix.signatures] == ["gestor.test"] and list(fix.participants) == []
    assert fix.amendment_reason == "Se contó mal"
    # Verification names the correction from the original, and the original from the correction.
    seen = actas.VerifyActa(apb.VerifyActaRequest(acta_id=original.id), metadata=GESTOR)
    assert [(r.acta_id, r.folio) for r in seen.corrected_by] == [(fix.id, fix.folio)]
    back = actas.VerifyActa(apb.VerifyActaRequest(acta_id=fix.id), metadata=GESTOR)
    assert (back.corrects.acta_id, back.corrects.folio, back.folio) == (original.id, original.folio, fix.folio)


def test_queries_by_person_family_gestor_template_and_counts(actas, family, people) -> None:
    head = people[0]
    draft = actas.CreateActa(
        apb.CreateActaRequest(template_key="visita_domiciliaria@1", values=struct(visit_values(family, [head.id]))),
        metadata=GESTOR,
    )
    by_person = actas.ListActas(apb.ListActasRequest(beneficiary_id=head.id), metadata=GESTOR).actas
    by_family = actas.ListActas(apb.ListActasRequest(family_id=family.id), metadata=GESTOR).actas
    by_gestor = actas.ListActas(
        apb.ListActasRequest(gestor_id="gestor.test", template_code="visita_domiciliaria"), metadata=GESTOR
    ).actas
    assert draft.id in {a.id for a in by_person} and draft.id in {a.id for a in by_family}
    assert draft.id in {a.id for a in by_gestor}
    every_status = apb.CountActasRequest(group_by="template", status="todos")
    counts = {c.key: c.count for c in actas.CountActas(every_status, metadata=GESTOR).counts}
    assert counts["visita_domiciliaria@1"] >= 1
    weeks = actas.CountActas(apb.CountActasRequest(group_by="week"), metadata=GESTOR).counts
    assert all(c.key.count("-W") == 1 for c in weeks)
    with pytest.raises(grpc.RpcError) as err:
        actas.CountActas(apb.CountActasRequest(group_by="color"), metadata=GESTOR)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


# -- kiosk flow ------------------------------------------------------------------------------
@pytest.fixture
def device(actas) -> tuple[str, Ed25519PrivateKey]:
    key = Ed25519PrivateKey.generate()
    device_id = f"kiosco-{uuid.uuid4().hex[:8]}"
    actas.RegisterDevice(
        apb.RegisterDeviceRequest(
            id=device_id, public_key=public_key_b64(key), community_id="com-pruebas", description="Quiosco de prueba"
        ),
        metadata=COORDINATOR,
    )
    return device_id, key


def publish(stack: Stack, *messages: bytes) -> None:
    with Connection(stack.env["AMQP_URI"], transport_options={"confirm_publish": True}) as conn:
        producer = Producer(conn.default_channel)
        for raw in messages:
            bus.publish(producer, raw)


def kiosk_body(
    device_id: str, family: pb.Family, people: list[pb.Beneficiary], **overrides: object
) -> sub_pb.SubmissionBody:
    head, spouse = people
    fields: dict[str, object] = {
        "submission_id": uuid.uuid4().hex,
        "device_id": device_id,
        "template_key": "visita_domiciliaria@1",
        "values": visit_values(family, [head.id, spouse.id]),
        "signatures": [
            kiosk.fingerprint_signature(
                head.id, score=142, finger="right_index", sensor_id="ZFM-20 #0001", template_sha256=TEMPLATE_SHA
            ),
            kiosk.handwritten_signature(spouse.id, png_bytes()),
            kiosk.handwritten_signature("gestor.test", png_bytes(), role="gestor"),
        ],
        "gestor_id": "gestor.test",
        "location": (11.0, -72.9, 8.0),
    }
    fields.update(overrides)
    return kiosk.body(**fields)  # type: ignore[arg-type]


def actas_of(actas, person_id: str) -> list[apb.Acta]:
    return list(actas.ListActas(apb.ListActasRequest(beneficiary_id=person_id), metadata=GESTOR).actas)


def rejections(actas) -> list[apb.RejectedSubmission]:
    return list(
        actas.ListRejectedSubmissions(apb.ListRejectedSubmissionsRequest(limit=500), metadata=COORDINATOR).rejected
    )


def test_a_kiosk_submission_is_verified_sealed_once_and_a_redelivery_changes_nothing(
    stack, actas, device, family, people
) -> None:
    device_id, key = device
    content = kiosk_body(device_id, family, people)
    raw = kiosk.envelope(content, key)
    publish(stack, raw, raw)
    found = eventually(lambda: actas_of(actas, people[1].id))
    acta = found[0]
    assert acta.status == "sealed" and acta.source == "kiosk" and acta.submission_id == content.submission_id
    assert acta.signatures[0].fingerprint.score == 142 and acta.signatures[-1].role == "gestor"
    assert acta.location.lat == 11.0
    publish(stack, raw)
    marker = kiosk.envelope(kiosk_body(device_id, family, people), key)  # processed after the replay
    publish(stack, marker)
    eventually(lambda: len(actas_of(actas, people[1].id)) == 2)
    ids = [a.submission_id for a in actas_of(actas, people[1].id)]
    assert ids.count(content.submission_id) == 1
    assert actas.VerifyActa(apb.VerifyActaRequest(acta_id=acta.id), metadata=GESTOR).valid


def test_tampered_unknown_revoked_malformed_and_conflicting_submissions_are_rejected_with_reasons(
    stack, actas, device, family, people
) -> None:
    device_id, key = device
    good = kiosk_body(device_id, family, people)
    envelope = sub_pb.KioskSubmission.FromString(kiosk.envelope(good, key))
    tampered = sub_pb.KioskSubmission(
        device_id=device_id, body=envelope.body.replace(b"lote 12", b"lote 13"), signature=envelope.signature
    )
    stranger = kiosk.envelope(kiosk_body("kiosco-desconocido", family, people), Ed25519PrivateKey.generate())
    wrong_finger = kiosk_body(
        device_id,
        family,
        people,
        signatures=[
            kiosk.fingerprint_signature(
                people[0].id, score=142, finger="left_thumb", sensor_id="ZFM-20 #0001", template_sha256=TEMPLATE_SHA
            ),
            kiosk.refusal(people[1].id, "No sabe firmar"),
            kiosk.handwritten_signature("gestor.test", png_bytes(), role="gestor"),
        ],
    )
    bad_fields = kiosk_body(device_id, family, people, values={**visit_values(family, [people[0].id]), "motivo": "x"})
    conflict = kiosk_body(device_id, family, people, submission_id=good.submission_id, gestor_id="gestor.test")
    conflict.values.update({"lugar": "Otro lugar"})
    publish(
        stack,
        kiosk.envelope(good, key),
        tampered.SerializeToString(),
        stranger,
        b"\xff\x00 not protobuf",
        kiosk.envelope(wrong_finger, key),
        kiosk.envelope(bad_fields, key),
        kiosk.envelope(conflict, key),
    )
    expected = {
        ("bad_signature", device_id),
        ("unknown_device", "kiosco-desconocido"),
        ("malformed", ""),
        ("bad_evidence", device_id),
        ("invalid_fields", device_id),
        ("idempotency_conflict", device_id),
    }

    def seen() -> set[tuple[str, str]]:
        return {(r.reason, r.device_id) for r in rejections(actas)} & expected

    eventually(lambda: seen() == expected, timeout=30)
    invalid = next(r for r in rejections(actas) if r.reason == "invalid_fields" and r.device_id == device_id)
    assert "motivo" in invalid.field_errors
    # Only the good one was stored; the worker kept consuming after every refusal.
    stored = [a for a in actas_of(actas, people[0].id) if a.source == "kiosk"]
    assert [a.submission_id for a in stored] == [good.submission_id]

    # Staff resolve a rejection with a note; a resolved one leaves the open list.
    target = next(r for r in rejections(actas) if r.reason == "bad_signature" and r.device_id == device_id)
    resolved = actas.ResolveRejectedSubmission(
        apb.ResolveRejectedSubmissionRequest(id=target.id, note="Quiosco revisado"), metadata=COORDINATOR
    )
    assert resolved.resolved and resolved.resolved_by == "coordinadora.test"
    assert target.id not in {r.id for r in rejections(actas)}


def test_a_revoked_kiosk_is_refused(stack, actas, device, family, people) -> None:
    device_id, key = device
    revoked = actas.RevokeDevice(apb.RevokeDeviceRequest(id=device_id), metadata=COORDINATOR)
    assert revoked.revoked
    content = kiosk_body(device_id, family, people)
    publish(stack, kiosk.envelope(content, key))
    eventually(
        lambda: any(
            r.submission_id == content.submission_id and r.reason == "revoked_device" for r in rejections(actas)
        )
    )
    assert not [a for a in actas_of(actas, people[0].id) if a.submission_id == content.submission_id]


def test_only_coordinators_revoke_devices_and_bad_keys_are_refused(actas, device) -> None:
    with pytest.raises(grpc.RpcError) as denied:
        actas.RevokeDevice(apb.RevokeDeviceRequest(id=device[0]), metadata=GESTOR)
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as bad:
        actas.RegisterDevice(
            apb.RegisterDeviceRequest(id="kiosco-x", public_key="c2hvcnQ=", community_id="c"), metadata=COORDINATOR
        )
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "public_key" in field_errors(bad.value)
    with pytest.raises(grpc.RpcError) as twice:
        actas.RegisterDevice(
            apb.RegisterDeviceRequest(id=device[0], public_key=public_key_b64(device[1]), community_id="c"),
            metadata=COORDINATOR,
        )
    assert twice.value.code() == grpc.StatusCode.ALREADY_EXISTS


def test_the_whole_chain_verifies(actas) -> None:
    # Recomputing the whole chain is for admins, coordinators and auditors (services/actas/access.py).
    report = actas.VerifyChain(apb.VerifyChainRequest(), metadata=caller_metadata("auditora.test", "auditor"))
    assert report.entries > 0 and not report.problems
