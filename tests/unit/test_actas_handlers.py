"""The actas use cases: the desk flow (create, sign, seal, amend), kiosk ingestion,
rejected submissions, kiosk devices, queries and tamper evidence, over in-memory
fakes of the repository, the beneficiaries directory and the relay."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image

from crm_platform.proto_gen.crm.actas.v1 import submission_pb2 as sub_pb
from edge_agent import submissions
from services.actas.domain import chain
from services.actas.domain.errors import AlreadyExists, FieldsInvalid, NotFound, PermissionDenied
from services.actas.domain.model import (
    Acta,
    Actor,
    FingerprintEvidence,
    GeoPoint,
    InvalidState,
    Method,
    Role,
    Source,
    Status,
)
from services.actas.domain.submission import RejectReason, SubmissionRejected, public_key_b64
from services.actas.entrypoints.proto_mapping import decode_kiosk_message
from services.actas.service_layer.handlers import (
    ACTAS,
    REJECTIONS,
    ActaHandlers,
    IngestResult,
    SignatureInput,
)
from services.actas.service_layer.ports import ActaFilter, DuplicateSubmission, Person
from tests.actas_support import FakeDirectory, person, visit
from tests.desk_reader import READER, READER_KEY, sign_evidence

from .actas_fakes import FakeActaRepository, OutboxRelay, SettableClock

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
CAPTURED = datetime(2026, 11, 20, 13, 30, tzinfo=UTC)
P1_RIGHT_INDEX = hashlib.sha256(b"template of p1, right index").hexdigest()
GESTOR = Actor("g1", "gestor")
OTHER_GESTOR = Actor("g2", "gestor")
COORDINATOR = Actor("c1", "coordinator")
ADMIN = Actor("admin1", "admin")
AUDITOR = Actor("a1", "auditor")
KEY = Ed25519PrivateKey.generate()
DEVICE = "kiosco-007"
SENSOR = "ZFM-20 #0001"


def png(size: tuple[int, int] = (40, 16)) -> bytes:
    out = io.BytesIO()
    Image.new("L", size, 255).save(out, "PNG")
    return out.getvalue()


PNG = png()


@dataclass
class World:
    handlers: ActaHandlers
    repo: FakeActaRepository
    relay: OutboxRelay
    clock: SettableClock


def everyone() -> list[Person]:
    return [person(1, enrolled={"right_index": P1_RIGHT_INDEX}), person(2), person(3, family_id="fam2")]


def world(people: list[Person] | None = None, directory: FakeDirectory | None = None) -> World:
    repo = FakeActaRepository()
    relay = OutboxRelay(repo)
    clock = SettableClock(NOW)
    directory = directory or FakeDirectory(everyone() if people is None else people)
    return World(ActaHandlers(repo, directory, relay, clock, min_match_score=50), repo, relay, clock)


def evidence(**changes: Any) -> FingerprintEvidence:
    found = FingerprintEvidence(87, "right_index", SENSOR, "verify_1_1", P1_RIGHT_INDEX, CAPTURED)
    return replace(found, **changes)


def by_fingerprint(signer: str = "p1", **changes: Any) -> SignatureInput:
    return SignatureInput(signer, Role.PARTICIPANT, Method.FINGERPRINT, fingerprint=evidence(**changes))


def by_refusal(signer: str, reason: str = "No está de acuerdo") -> SignatureInput:
    return SignatureInput(signer, Role.PARTICIPANT, Method.REFUSED, refusal_reason=reason)


def by_gestor(actor: Actor = GESTOR) -> SignatureInput:
    return SignatureInput(actor.subject, Role.GESTOR, Method.ELECTRONIC)


def a_draft(w: World, signers: list[str] | None = None, actor: Actor = GESTOR) -> str:
    return w.handlers.create("visita_domiciliaria@1", visit(signers or ["p1", "p2"]), "", CAPTURED, actor).id


def a_signed_acta(w: World, signers: list[str] | None = None) -> str:
    acta_id = a_draft(w, signers)
    for signer in signers or ["p1", "p2"]:
        w.handlers.sign(acta_id, by_refusal(signer), GESTOR)
    w.handlers.sign(acta_id, by_gestor(), GESTOR)
    return acta_id


def a_sealed_acta(w: World, signers: list[str] | None = None) -> str:
    acta_id = a_signed_acta(w, signers)
    w.handlers.seal(acta_id, GESTOR)
    return acta_id


# -- templates -----------------------------------------------------------------------


def test_templates_are_listed_by_key_and_an_unknown_one_is_not_found() -> None:
    h = world().handlers
    keys = [t.key for t in h.list_templates()]
    assert keys == sorted(keys) and "visita_domiciliaria@1" in keys
    assert h.template("capacitacion@1").title == "Acta de capacitación"
    with pytest.raises(NotFound):
        h.template("capacitacion@9")


# -- desk flow: create -------------------------------------------------------------------


def test_creating_an_acta_stores_a_validated_draft_with_its_participants_then_announces_it() -> None:
    w = world()

    acta = w.handlers.create("visita_domiciliaria@1", visit(["p2", "p1"], lugar="  Nuevo Roche "), "", None, GESTOR)

    stored = w.repo.get(acta.id)
    assert stored is not None and stored.status == Status.DRAFT
    assert stored.values["lugar"] == "Nuevo Roche"  # normalised by the template
    assert stored.title == "Acta de visita domiciliaria" and stored.template_key == "visita_domiciliaria@1"
    assert [(p.beneficiary_id, p.full_name, p.national_id) for p in stored.participants] == [
        ("p2", "Persona 2", "CC 1002"),
        ("p1", "Persona 1", "CC 1001"),
    ]
    assert stored.gestor_id == "g1"
    assert stored.community_id == "com1"  # every participant lives there
    assert stored.captured_at == stored.created_at == NOW
    assert w.relay.flushed == [(ACTAS, acta.id)]
    [received] = w.relay.published  # found in the outbox: written before the flush
    assert received.type == "acta_received"
    assert received.payload["acta_id"] == acta.id and received.payload["by"] == "g1"
    assert received.payload["source"] == "desk"


def test_an_explicit_community_and_capture_time_are_kept() -> None:
    w = world()
    acta = w.handlers.create("visita_domiciliaria@1", visit(["p1"]), "com9", CAPTURED, GESTOR)
    assert (acta.community_id, acta.captured_at, acta.created_at) == ("com9", CAPTURED, NOW)


def test_an_acta_whose_participants_live_in_different_communities_gets_no_community() -> None:
    elsewhere = replace(person(4), community_id="com2")
    w = world([person(1), elsewhere])
    acta = w.handlers.create("visita_domiciliaria@1", visit(["p1", "p4"]), "", None, GESTOR)
    assert acta.community_id == ""


@pytest.mark.parametrize("role", ["admin", "coordinator", "gestor", "psychosocial"])
def test_staff_can_create_actas(role: str) -> None:
    w = world()
    acta = w.handlers.create("visita_domiciliaria@1", visit(["p1"]), "", None, Actor("u1", role))
    assert w.repo.get(acta.id) is not None


def test_an_auditor_cannot_create_an_acta() -> None:
    w = world()
    with pytest.raises(PermissionDenied):
        w.handlers.create("visita_domiciliaria@1", visit(["p1"]), "", None, AUDITOR)
    assert w.repo.actas == {} and w.relay.flushed == []


def test_an_unknown_template_is_a_field_error() -> None:
    w = world()
    with pytest.raises(FieldsInvalid) as err:
        w.handlers.create("visita_domiciliaria@7", visit(["p1"]), "", None, GESTOR)
    assert set(err.value.errors) == {"template_key"}
    assert w.repo.actas == {}


def test_values_that_break_the_template_are_refused_field_by_field_and_nothing_is_stored() -> None:
    w = world()
    values = visit(["p1"], motivo="paseo", personas_presentes=0, extra="x")
    with pytest.raises(FieldsInvalid) as err:
        w.handlers.create("visita_domiciliaria@1", values, "", None, GESTOR)
    assert set(err.value.errors) == {"motivo", "personas_presentes", "extra"}
    assert w.repo.actas == {} and w.relay.flushed == []


def test_every_unknown_participant_and_household_is_named_and_nothing_is_stored() -> None:
    w = world()
    with pytest.raises(FieldsInvalid) as err:
        w.handlers.create("visita_domiciliaria@1", visit(["p1", "p8", "p9"], family_id="fam404"), "", None, GESTOR)
    assert "p8, p9" in err.value.errors["firmantes"]
    assert "fam404" in err.value.errors["hogar"]
    assert w.repo.actas == {}


def test_a_referenced_beneficiary_must_be_registered() -> None:
    w = world()
    values = {
        "fecha": "2026-11-20",
        "lugar": "Nuevo Roche",
        "estudiante": "p7",
        "etapa": "orientacion_vocacional",
        "riesgo_desercion": "bajo",
        "firmantes": ["p1"],
    }
    with pytest.raises(FieldsInvalid) as err:
        w.handlers.create("orientacion_fes@1", values, "", None, GESTOR)
    assert set(err.value.errors) == {"estudiante"}


# -- desk flow: sign -------------------------------------------------------------------


def by_reader(w: World, acta_id: str, given: SignatureInput) -> SignatureInput:
    """``given`` as the acta community's paired desk reader signs it."""
    if w.repo.get_device(READER) is None:
        community = w.handlers.get(acta_id).community_id
        w.handlers.register_device(READER, public_key_b64(READER_KEY), community, "Lector", COORDINATOR)
    assert given.fingerprint is not None
    return replace(given, fingerprint=sign_evidence(given.fingerprint, acta_id, given.signer_id))


def test_a_fingerprint_matched_against_the_enrolled_template_is_recorded_with_its_evidence() -> None:
    w = world()
    acta_id = a_draft(w)
    given = by_reader(w, acta_id, by_fingerprint("p1"))

    w.handlers.sign(acta_id, given, GESTOR)

    stored = w.repo.get(acta_id)
    assert stored is not None
    [signature] = stored.signatures
    assert (signature.signer_id, signature.method, signature.signed_at) == ("p1", Method.FINGERPRINT, NOW)
    assert given.fingerprint is not None
    assert signature.fingerprint == replace(given.fingerprint, verification="device")
    assert stored.pending_signers() == ["p2"]


def test_a_fingerprint_scoring_exactly_the_minimum_is_accepted() -> None:
    w = world()
    acta_id = a_draft(w)
    w.handlers.sign(acta_id, by_reader(w, acta_id, by_fingerprint("p1", score=50)), GESTOR)
    assert w.handlers.get(acta_id).pending_signers() == ["p2"]


@pytest.mark.parametrize(
    ("given", "field", "message"),
    [
        (by_fingerprint("p1", score=49), "fingerprint", "puntaje de coincidencia 49 menor que 50"),
        (by_fingerprint("p1", finger="left_thumb"), "fingerprint", "no tiene enrolado el dedo left_thumb"),
        (by_fingerprint("p1", template_sha256="f" * 64), "fingerprint", "no se cotejó con la plantilla enrolada"),
        (by_fingerprint("p2"), "fingerprint", "no tiene enrolado"),
        (by_fingerprint("p9"), "signer_id", "p9 no está registrado"),
        (SignatureInput("p1", Role.PARTICIPANT, Method.FINGERPRINT), "fingerprint", "Falta la evidencia"),
        (SignatureInput("p1", Role.PARTICIPANT, Method.ELECTRONIC), "method", "huella, a mano"),
        (SignatureInput("p1", Role.PARTICIPANT, Method.HANDWRITTEN), "handwritten_png", "Falta la imagen"),
        (
            SignatureInput("p1", Role.PARTICIPANT, Method.HANDWRITTEN, handwritten_png=b"GIF89a"),
            "handwritten_png",
            "PNG",
        ),
        (by_refusal("p1", "  "), "refusal_reason", "motivo"),
    ],
)
def test_a_participant_signature_without_valid_evidence_is_refused_and_nothing_changes(
    given: SignatureInput, field: str, message: str
) -> None:
    w = world()
    acta_id = a_draft(w)
    if given.fingerprint is not None:
        given = by_reader(w, acta_id, given)
    before = w.repo.get(acta_id)

    with pytest.raises(FieldsInvalid) as err:
        w.handlers.sign(acta_id, given, GESTOR)

    assert message in err.value.errors[field]
    assert w.repo.get(acta_id) == before
    assert w.repo.images(acta_id) == {}


def test_a_handwritten_signature_keeps_its_image_under_its_sha256() -> None:
    w = world()
    acta_id = a_draft(w)

    w.handlers.sign(acta_id, SignatureInput("p2", Role.PARTICIPANT, Method.HANDWRITTEN, handwritten_png=PNG), GESTOR)

    digest = hashlib.sha256(PNG).hexdigest()
    [signature] = w.handlers.get(acta_id).signatures
    assert signature.handwritten_sha256 == digest
    assert w.handlers.images(acta_id) == {digest: PNG}


def test_a_refusal_reason_is_stored_trimmed() -> None:
    w = world()
    acta_id = a_draft(w)
    w.handlers.sign(acta_id, by_refusal("p1", "  No está de acuerdo  "), GESTOR)
    assert w.handlers.get(acta_id).signatures[0].refusal_reason == "No está de acuerdo"


def test_a_signature_keeps_the_time_it_was_captured_when_given() -> None:
    w = world()
    acta_id = a_draft(w)
    w.handlers.sign(acta_id, replace(by_refusal("p1"), signed_at=CAPTURED), GESTOR)
    assert w.handlers.get(acta_id).signatures[0].signed_at == CAPTURED


def test_the_gestor_signs_last_with_their_own_session_which_completes_the_acta() -> None:
    w = world()
    acta_id = a_draft(w)
    w.handlers.sign(acta_id, by_refusal("p1"), GESTOR)
    w.handlers.sign(acta_id, by_refusal("p2"), GESTOR)

    with pytest.raises(PermissionDenied):
        w.handlers.sign(acta_id, by_gestor(OTHER_GESTOR), GESTOR)
    assert w.handlers.get(acta_id).status == Status.DRAFT

    acta = w.handlers.sign(acta_id, by_gestor(), GESTOR)

    assert acta.status == Status.SIGNED
    assert w.handlers.get(acta_id).status == Status.SIGNED


def test_the_gestor_cannot_sign_before_the_participants() -> None:
    w = world()
    acta_id = a_draft(w)
    with pytest.raises(InvalidState, match="p1, p2"):
        w.handlers.sign(acta_id, by_gestor(), GESTOR)
    assert w.handlers.get(acta_id).signatures == []


def test_a_gestor_cannot_complete_an_acta_another_gestor_captured() -> None:
    """The kiosk refuses "firma del gestor en un acta de otro gestor"; the desk must too,
    or the sealed acta names g1 as its gestor while g2's signature completed it."""
    w = world()
    acta_id = a_draft(w, actor=GESTOR)
    w.handlers.sign(acta_id, by_refusal("p1"), GESTOR)
    w.handlers.sign(acta_id, by_refusal("p2"), GESTOR)

    with pytest.raises((PermissionDenied, FieldsInvalid)):
        w.handlers.sign(acta_id, by_gestor(OTHER_GESTOR), OTHER_GESTOR)
    assert w.handlers.get(acta_id).status == Status.DRAFT


def test_an_auditor_cannot_sign() -> None:
    w = world()
    acta_id = a_draft(w)
    with pytest.raises(PermissionDenied):
        w.handlers.sign(acta_id, by_refusal("p1"), AUDITOR)
    assert w.handlers.get(acta_id).signatures == []


@pytest.mark.parametrize("acta_id", ["", "no-such-acta"])
def test_signing_or_reading_an_unknown_acta_is_not_found(acta_id: str) -> None:
    w = world()
    with pytest.raises(NotFound):
        w.handlers.sign(acta_id, by_refusal("p1"), GESTOR)
    with pytest.raises(NotFound):
        w.handlers.get(acta_id)


# -- desk flow: seal -------------------------------------------------------------------


def test_sealing_stores_the_hash_appends_it_to_the_chain_and_then_announces_it() -> None:
    w = world()
    acta_id = a_signed_acta(w)
    w.clock.current = NOW + timedelta(minutes=5)

    acta = w.handlers.seal(acta_id, GESTOR)

    stored = w.repo.get(acta_id)
    assert stored is not None and stored.status == Status.SEALED
    assert stored.sealed_at == NOW + timedelta(minutes=5)
    assert stored.content_hash == stored.compute_hash()
    [entry] = w.repo.entries
    assert (entry.seq, entry.acta_id, entry.acta_hash, entry.prev_hash) == (
        1,
        acta_id,
        stored.content_hash,
        chain.GENESIS,
    )
    assert acta.chain_seq == stored.chain_seq == 1
    assert w.relay.flushed[-1] == (ACTAS, acta_id)
    sealed_event = w.relay.published[-1]
    assert sealed_event.type == "acta_sealed" and sealed_event.payload["content_hash"] == stored.content_hash


def test_each_sealed_acta_links_to_the_one_sealed_before() -> None:
    w = world()
    first, second = a_sealed_acta(w), a_sealed_acta(w, ["p3"])
    assert [e.acta_id for e in w.repo.entries] == [first, second]
    assert w.repo.entries[1].prev_hash == w.repo.entries[0].entry_hash
    assert w.handlers.get(second).chain_seq == 2


def test_an_acta_with_pending_signatures_cannot_be_sealed_and_is_not_chained() -> None:
    w = world()
    acta_id = a_draft(w)
    w.handlers.sign(acta_id, by_refusal("p1"), GESTOR)
    with pytest.raises(InvalidState, match="p2"):
        w.handlers.seal(acta_id, GESTOR)
    assert w.repo.entries == [] and w.handlers.get(acta_id).status == Status.DRAFT


def test_an_acta_is_sealed_and_chained_only_once() -> None:
    w = world()
    acta_id = a_sealed_acta(w)
    with pytest.raises(InvalidState):
        w.handlers.seal(acta_id, GESTOR)
    assert len(w.repo.entries) == 1


def test_an_auditor_cannot_seal() -> None:
    w = world()
    acta_id = a_signed_acta(w)
    with pytest.raises(PermissionDenied):
        w.handlers.seal(acta_id, AUDITOR)
    assert w.repo.entries == []


# -- desk flow: amend ------------------------------------------------------------------


def test_an_amendment_is_a_new_sealed_acta_with_the_changed_values_that_names_what_it_corrects() -> None:
    w = world()
    original_id = a_sealed_acta(w)
    original = w.handlers.get(original_id)
    w.clock.current = NOW + timedelta(days=1)

    correction = w.handlers.amend(original_id, {"lugar": "Roche"}, "Lugar mal escrito", COORDINATOR)

    assert correction.id != original_id and correction.status == Status.SEALED
    assert correction.amends == original_id and correction.amendment_reason == "Lugar mal escrito"
    assert correction.values == {**original.values, "lugar": "Roche"}
    assert correction.participants == []  # those who signed the original did not sign the correction
    assert [(s.signer_id, s.role) for s in correction.signatures] == [("c1", Role.GESTOR)]
    assert correction.gestor_id == "c1" and correction.sealed_at == NOW + timedelta(days=1)
    assert correction.content_hash == correction.compute_hash()
    assert [e.acta_id for e in w.repo.entries] == [original_id, correction.id]
    assert w.handlers.amended_by(original_id) == [correction.id]
    assert w.handlers.get(original_id) == original  # the sealed original is untouched
    events = [e for e in w.relay.published if e.payload.get("acta_id") == correction.id]
    assert [e.type for e in events] == ["acta_received", "acta_amended", "acta_sealed"]
    assert events[1].payload == {
        "acta_id": correction.id,
        "amends": original_id,
        "reason": "Lugar mal escrito",
        "by": "c1",
    }


def test_an_amendment_whose_changes_break_the_template_stores_nothing() -> None:
    w = world()
    original_id = a_sealed_acta(w)
    with pytest.raises(FieldsInvalid) as err:
        w.handlers.amend(original_id, {"personas_presentes": 99}, "Conteo", GESTOR)
    assert set(err.value.errors) == {"personas_presentes"}
    assert list(w.repo.actas) == [original_id] and len(w.repo.entries) == 1


def test_an_amendment_cannot_change_who_signed_and_stores_nothing() -> None:
    """Participants signed the original; a correction by the gestor cannot add or drop signers."""
    w = world()
    original_id = a_sealed_acta(w)
    with pytest.raises(FieldsInvalid) as err:
        w.handlers.amend(original_id, {"firmantes": ["p1", "p9"]}, "Faltaba alguien", GESTOR)
    assert "acta nueva" in err.value.errors["firmantes"]
    assert list(w.repo.actas) == [original_id]


def test_a_draft_cannot_be_amended_and_an_amendment_needs_a_reason() -> None:
    w = world()
    draft_id = a_draft(w)
    with pytest.raises(InvalidState):
        w.handlers.amend(draft_id, {"lugar": "Roche"}, "Lugar mal escrito", GESTOR)
    sealed_id = a_sealed_acta(w)
    with pytest.raises(FieldsInvalid) as err:
        w.handlers.amend(sealed_id, {"lugar": "Roche"}, " ", GESTOR)
    assert set(err.value.errors) == {"reason"}
    assert len(w.repo.actas) == 2 and len(w.repo.entries) == 1


def test_an_auditor_cannot_amend() -> None:
    w = world()
    sealed_id = a_sealed_acta(w)
    with pytest.raises(PermissionDenied):
        w.handlers.amend(sealed_id, {"lugar": "Roche"}, "Lugar mal escrito", AUDITOR)
    assert len(w.repo.actas) == 1


# -- kiosk flow --------------------------------------------------------------------------


def registered(w: World, device_id: str = DEVICE, key: Ed25519PrivateKey = KEY) -> None:
    w.handlers.register_device(device_id, public_key_b64(key), "com1", "Quiosco del salón comunal", ADMIN)


def kiosk_body(**changes: Any) -> sub_pb.SubmissionBody:
    fields: dict[str, Any] = {
        "submission_id": "k-1",
        "device_id": DEVICE,
        "template_key": "visita_domiciliaria@1",
        "values": visit(["p1", "p2"]),
        "signatures": [
            submissions.fingerprint_signature(
                "p1", score=87, finger="right_index", sensor_id=SENSOR, template_sha256=P1_RIGHT_INDEX
            ),
            submissions.handwritten_signature("p2", PNG),
            submissions.handwritten_signature("g1", png((60, 20)), role="gestor"),
        ],
        "gestor_id": "g1",
        "captured_at": CAPTURED,
        "location": (11.23, -72.88, 4.5),
    }
    fields.update(changes)
    return submissions.body(**fields)


def sent(content: sub_pb.SubmissionBody, key: Ed25519PrivateKey = KEY) -> tuple[str, bytes, bytes]:
    """(device id, body bytes, signature) as the ingest consumer takes them off the envelope."""
    envelope = sub_pb.KioskSubmission.FromString(submissions.envelope(content, key))
    return envelope.device_id, envelope.body, envelope.signature


def ingest(w: World, message: tuple[str, bytes, bytes]) -> IngestResult:
    device_id, body, signature = message
    envelope = sub_pb.KioskSubmission(device_id=device_id, body=body, signature=signature)
    return w.handlers.ingest(decode_kiosk_message(envelope.SerializeToString()))


def rejected(w: World, message: tuple[str, bytes, bytes]) -> SubmissionRejected:
    before = (dict(w.repo.actas), list(w.repo.entries), dict(w.repo.submissions))
    with pytest.raises(SubmissionRejected) as err:
        ingest(w, message)
    assert (w.repo.actas, w.repo.entries, w.repo.submissions) == before, "a rejected submission stores nothing"
    return err.value


def test_a_valid_kiosk_submission_is_stored_sealed_and_chained_then_announced() -> None:
    w = world()
    registered(w)

    result = ingest(w, sent(kiosk_body()))

    assert result.duplicate is False and result.chain_seq == 1
    acta = w.handlers.get(result.acta_id)
    assert acta.status == Status.SEALED and acta.sealed_at == NOW and acta.created_at == NOW
    assert (acta.source, acta.device_id, acta.submission_id) == (Source.KIOSK, DEVICE, "k-1")
    assert acta.captured_at == CAPTURED and acta.location == GeoPoint(11.23, -72.88, 4.5)
    assert acta.gestor_id == "g1" and acta.community_id == "com1"
    assert [(s.signer_id, s.method) for s in acta.signatures] == [
        ("p1", Method.FINGERPRINT),
        ("p2", Method.HANDWRITTEN),
        ("g1", Method.HANDWRITTEN),
    ]
    assert acta.signatures[0].fingerprint is not None and acta.signatures[0].fingerprint.score == 87
    assert hashlib.sha256(PNG).hexdigest() in w.handlers.images(acta.id)
    assert acta.content_hash == acta.compute_hash()
    assert [(e.seq, e.acta_id, e.acta_hash) for e in w.repo.entries] == [(1, acta.id, acta.content_hash)]
    assert w.relay.flushed[-1] == (ACTAS, acta.id)
    assert w.relay.published_types() == ["acta_received", "acta_sealed"]
    assert w.handlers.verify_acta(acta.id)[1] == []


def test_the_same_submission_delivered_again_is_acknowledged_as_a_duplicate_and_stored_once() -> None:
    w = world()
    registered(w)
    message = sent(kiosk_body())
    first = ingest(w, message)
    flushes = len(w.relay.flushed)

    again = ingest(w, message)

    assert again == IngestResult(first.acta_id, duplicate=True)
    assert len(w.repo.actas) == 1 and len(w.repo.entries) == 1
    assert len(w.relay.flushed) == flushes


def test_a_reused_submission_id_with_different_content_is_an_idempotency_conflict() -> None:
    w = world()
    registered(w)
    first = ingest(w, sent(kiosk_body()))

    error = rejected(w, sent(kiosk_body(values=visit(["p1", "p2"], lugar="Otro lugar"))))

    assert error.reason is RejectReason.IDEMPOTENCY_CONFLICT
    assert first.acta_id in error.detail


class StaleReadRepository(FakeActaRepository):
    """Another worker stores the same submission between our look-up and our insert."""

    def find_submission(self, submission_id: str) -> DuplicateSubmission | None:
        return None


def test_a_submission_stored_meanwhile_by_another_worker_is_acknowledged_as_a_duplicate() -> None:
    w = world()
    w.handlers.repo = w.repo = StaleReadRepository()
    registered(w)
    message = sent(kiosk_body())
    sha = hashlib.sha256(message[1]).hexdigest()
    w.repo.submissions["k-1"] = DuplicateSubmission("acta-by-other-worker", sha)

    assert ingest(w, message) == IngestResult("acta-by-other-worker", duplicate=True)
    assert w.repo.actas == {} and w.repo.entries == []


def test_a_race_lost_with_different_content_is_still_an_idempotency_conflict() -> None:
    w = world()
    w.handlers.repo = w.repo = StaleReadRepository()
    registered(w)
    w.repo.submissions["k-1"] = DuplicateSubmission("acta-by-other-worker", "0" * 64)

    assert rejected(w, sent(kiosk_body())).reason is RejectReason.IDEMPOTENCY_CONFLICT


def test_a_redelivery_of_stored_bytes_from_a_since_revoked_kiosk_is_acknowledged_as_a_duplicate() -> None:
    w = world()
    registered(w)
    message = sent(kiosk_body())
    first = ingest(w, message)
    w.handlers.revoke_device(DEVICE, ADMIN)

    assert ingest(w, message) == IngestResult(first.acta_id, duplicate=True)
    assert len(w.repo.actas) == 1 and len(w.repo.entries) == 1


def test_new_content_from_a_revoked_kiosk_is_refused_even_under_a_stored_submission_id() -> None:
    w = world()
    registered(w)
    ingest(w, sent(kiosk_body()))
    w.handlers.revoke_device(DEVICE, ADMIN)

    error = rejected(w, sent(kiosk_body(values=visit(["p1", "p2"], lugar="Otro lugar"))))

    assert error.reason is RejectReason.REVOKED_DEVICE


def test_a_redelivery_is_acknowledged_even_if_a_participant_left_the_directory_since() -> None:
    directory = FakeDirectory(everyone())
    w = world(directory=directory)
    registered(w)
    message = sent(kiosk_body())
    first = ingest(w, message)
    del directory.people_by_id["p2"]

    assert ingest(w, message) == IngestResult(first.acta_id, duplicate=True)


def test_a_submission_from_an_unregistered_device_is_rejected() -> None:
    w = world()
    assert rejected(w, sent(kiosk_body())).reason is RejectReason.UNKNOWN_DEVICE
    assert rejected(w, ("", *sent(kiosk_body())[1:])).reason is RejectReason.UNKNOWN_DEVICE


def test_a_submission_from_a_revoked_device_is_rejected() -> None:
    w = world()
    registered(w)
    w.handlers.revoke_device(DEVICE, ADMIN)
    assert rejected(w, sent(kiosk_body())).reason is RejectReason.REVOKED_DEVICE


def test_a_submission_signed_with_another_key_is_rejected() -> None:
    w = world()
    registered(w)
    assert rejected(w, sent(kiosk_body(), Ed25519PrivateKey.generate())).reason is RejectReason.BAD_SIGNATURE


def test_bytes_altered_after_the_kiosk_signed_them_are_rejected() -> None:
    w = world()
    registered(w)
    device_id, body, signature = sent(kiosk_body())
    altered = body.replace(b"Nuevo Roche", b"Nuevo Rocha")
    assert altered != body
    assert rejected(w, (device_id, altered, signature)).reason is RejectReason.BAD_SIGNATURE


def test_signed_bytes_that_are_not_a_submission_are_malformed() -> None:
    w = world()
    registered(w)
    garbage = b"\xff\xff\xff not protobuf"
    error = rejected(w, (DEVICE, garbage, KEY.sign(garbage)))
    assert error.reason is RejectReason.MALFORMED


def test_a_body_that_names_another_kiosk_than_its_envelope_is_malformed() -> None:
    w = world()
    registered(w)
    registered(w, "kiosco-008", Ed25519PrivateKey.generate())
    _, body, signature = sent(kiosk_body(device_id="kiosco-008"))  # signed with kiosco-007's key
    error = rejected(w, (DEVICE, body, signature))
    assert error.reason is RejectReason.MALFORMED and "otro quiosco" in error.detail


def test_a_submission_for_an_unknown_template_is_rejected_as_invalid_fields() -> None:
    w = world()
    registered(w)
    error = rejected(w, sent(kiosk_body(template_key="visita_domiciliaria@9")))
    assert error.reason is RejectReason.INVALID_FIELDS and set(error.field_errors) == {"template_key"}


def test_a_submission_whose_values_break_the_template_is_rejected_naming_each_field() -> None:
    w = world()
    registered(w)
    error = rejected(w, sent(kiosk_body(values=visit(["p1", "p2"], motivo="paseo", fecha="2026-02-30"))))
    assert error.reason is RejectReason.INVALID_FIELDS and set(error.field_errors) == {"motivo", "fecha"}


def test_a_submission_naming_an_unregistered_participant_is_rejected() -> None:
    w = world()
    registered(w)
    error = rejected(w, sent(kiosk_body(values=visit(["p1", "p2", "p9"]))))
    assert error.reason is RejectReason.UNKNOWN_PARTICIPANT
    assert "p9" in error.field_errors["firmantes"]


def _fingerprint(**changes: Any) -> sub_pb.SubmittedSignature:
    given: dict[str, Any] = {"score": 87, "finger": "right_index", "sensor_id": SENSOR}
    given["template_sha256"] = P1_RIGHT_INDEX
    given.update(changes)
    return submissions.fingerprint_signature("p1", **given)


P2_HANDWRITTEN = submissions.handwritten_signature("p2", PNG)
GESTOR_HANDWRITTEN = submissions.handwritten_signature("g1", PNG, role="gestor")


@pytest.mark.parametrize(
    ("signatures", "mentions"),
    [
        ([_fingerprint(score=49), P2_HANDWRITTEN, GESTOR_HANDWRITTEN], "puntaje de coincidencia 49 menor que 50"),
        ([_fingerprint(finger="left_thumb"), P2_HANDWRITTEN, GESTOR_HANDWRITTEN], "no tiene enrolado el dedo"),
        ([_fingerprint(template_sha256="e" * 64), P2_HANDWRITTEN, GESTOR_HANDWRITTEN], "plantilla enrolada"),
        ([_fingerprint(mode="guess"), P2_HANDWRITTEN, GESTOR_HANDWRITTEN], "modo de cotejo"),
        ([_fingerprint(), GESTOR_HANDWRITTEN], "faltan: p2"),
        ([_fingerprint(), P2_HANDWRITTEN], "faltan firmas: g1"),
        ([_fingerprint(), _fingerprint(), P2_HANDWRITTEN, GESTOR_HANDWRITTEN], "p1 ya firmó"),
        (
            [_fingerprint(), P2_HANDWRITTEN, submissions.handwritten_signature("g2", PNG, role="gestor")],
            "otro gestor",
        ),
        (
            [_fingerprint(), submissions.handwritten_signature("p2", b"not a png"), GESTOR_HANDWRITTEN],
            "PNG",
        ),
        ([_fingerprint(), submissions.refusal("p2", " "), GESTOR_HANDWRITTEN], "motivo"),
        ([_fingerprint(), P2_HANDWRITTEN, submissions.handwritten_signature("p3", PNG), GESTOR_HANDWRITTEN], "p3"),
    ],
    ids=[
        "score-below-minimum",
        "finger-not-enrolled",
        "template-hash-mismatch",
        "unknown-match-mode",
        "participant-missing",
        "gestor-missing",
        "participant-twice",
        "another-gestor",
        "handwritten-not-png",
        "refusal-without-reason",
        "signer-not-a-participant",
    ],
)
def test_a_submission_with_missing_or_unconvincing_signatures_is_rejected_as_bad_evidence(
    signatures: list[sub_pb.SubmittedSignature], mentions: str
) -> None:
    w = world()
    registered(w)
    error = rejected(w, sent(kiosk_body(signatures=signatures)))
    assert error.reason is RejectReason.BAD_EVIDENCE
    assert mentions in str(error)


def test_a_kiosk_submission_may_record_a_participants_refusal() -> None:
    w = world()
    registered(w)
    result = ingest(
        w, sent(kiosk_body(signatures=[_fingerprint(), submissions.refusal("p2", " No firma "), GESTOR_HANDWRITTEN]))
    )
    acta = w.handlers.get(result.acta_id)
    assert acta.signatures[1].method == Method.REFUSED and acta.signatures[1].refusal_reason == "No firma"


class CachedDirectory(FakeDirectory):
    """The directory behind a short-lived cache: ``fresh=False`` answers from a snapshot
    taken before the latest registrations and enrolments."""

    def __init__(self, cached: list[Person], current: list[Person]) -> None:
        super().__init__(current)
        self.cached = {p.beneficiary_id: p for p in cached}
        self.asked_fresh: list[bool] = []

    def people(self, beneficiary_ids: Sequence[str], fresh: bool = True) -> dict[str, Person]:
        self.asked_fresh.append(fresh)
        if fresh:
            return super().people(beneficiary_ids, fresh)
        return {i: self.cached[i] for i in beneficiary_ids if i in self.cached}


def test_a_kiosk_fingerprint_refused_on_a_stale_cached_enrolment_is_accepted_on_fresh_data() -> None:
    stale = [person(1, enrolled={"right_index": "a" * 64}), person(2)]
    directory = CachedDirectory(stale, everyone())
    w = world(directory=directory)
    registered(w)

    result = ingest(w, sent(kiosk_body()))

    assert w.handlers.get(result.acta_id).status == Status.SEALED
    assert directory.asked_fresh == [False, True]


def test_a_participant_registered_after_the_cache_was_filled_is_found_on_fresh_data() -> None:
    directory = CachedDirectory([person(1, enrolled={"right_index": P1_RIGHT_INDEX})], everyone())
    w = world(directory=directory)
    registered(w)
    assert ingest(w, sent(kiosk_body())).duplicate is False


def test_a_kiosk_refusal_that_holds_on_fresh_data_is_final() -> None:
    directory = CachedDirectory(everyone(), everyone())
    w = world(directory=directory)
    registered(w)

    error = rejected(w, sent(kiosk_body(signatures=[_fingerprint(score=10), P2_HANDWRITTEN, GESTOR_HANDWRITTEN])))

    assert error.reason is RejectReason.BAD_EVIDENCE
    assert directory.asked_fresh == [False, True]


def test_invalid_fields_are_refused_without_asking_the_directory_again() -> None:
    directory = CachedDirectory(everyone(), everyone())
    w = world(directory=directory)
    registered(w)
    error = rejected(w, sent(kiosk_body(values=visit(["p1", "p2"], motivo="paseo"))))
    assert error.reason is RejectReason.INVALID_FIELDS
    assert True not in directory.asked_fresh


def test_a_desk_fingerprint_is_checked_against_the_current_enrolment_not_a_cached_one() -> None:
    directory = CachedDirectory([person(1, enrolled={"right_index": "a" * 64}), person(2)], everyone())
    w = world(directory=directory)
    acta_id = a_draft(w)

    w.handlers.sign(acta_id, by_fingerprint("p1"), GESTOR)

    assert w.handlers.get(acta_id).pending_signers() == ["p2"]


# -- rejected submissions ------------------------------------------------------------------


def test_a_rejection_is_recorded_for_review_then_announced() -> None:
    w = world()
    error = SubmissionRejected(RejectReason.INVALID_FIELDS, "motivo inválido", {"motivo": "opción no permitida"})

    rejection = w.handlers.reject(error, DEVICE, "k-1", "rej-1")

    assert w.repo.rejections["rej-1"] == rejection
    assert (rejection.reason, rejection.detail, rejection.device_id, rejection.submission_id) == (
        "invalid_fields",
        "motivo inválido",
        DEVICE,
        "k-1",
    )
    assert rejection.field_errors == {"motivo": "opción no permitida"} and rejection.received_at == NOW
    assert w.relay.flushed == [(REJECTIONS, "rej-1")]
    [event] = w.relay.published
    assert event.type == "acta_rejected"
    assert event.payload["reason"] == "invalid_fields" and event.payload["submission_id"] == "k-1"


def test_a_rejection_without_an_id_gets_a_fresh_one() -> None:
    w = world()
    error = SubmissionRejected(RejectReason.MALFORMED, "x")
    first, second = w.handlers.reject(error, DEVICE, "k-1"), w.handlers.reject(error, DEVICE, "k-1")
    assert first.id and second.id and first.id != second.id


def test_resolved_rejections_leave_the_review_list_unless_asked_for() -> None:
    w = world()
    error = SubmissionRejected(RejectReason.MALFORMED, "x")
    w.handlers.reject(error, DEVICE, "k-1", "rej-1")
    w.clock.current = NOW + timedelta(minutes=1)
    w.handlers.reject(error, DEVICE, "k-2", "rej-2")

    resolved = w.handlers.resolve_rejection("rej-1", "  Quiosco reconfigurado ", COORDINATOR)

    assert (resolved.resolved, resolved.resolved_by, resolved.resolution_note) == (True, "c1", "Quiosco reconfigurado")
    assert [r.id for r in w.handlers.list_rejections(False, 50, AUDITOR)] == ["rej-2"]
    assert [r.id for r in w.handlers.list_rejections(True, 50, AUDITOR)] == ["rej-2", "rej-1"]


def test_resolving_a_rejection_needs_a_note_an_admin_and_an_existing_rejection() -> None:
    w = world()
    w.handlers.reject(SubmissionRejected(RejectReason.MALFORMED, "x"), DEVICE, "k-1", "rej-1")
    with pytest.raises(FieldsInvalid):
        w.handlers.resolve_rejection("rej-1", "  ", COORDINATOR)
    with pytest.raises(PermissionDenied):
        w.handlers.resolve_rejection("rej-1", "Revisado", GESTOR)
    with pytest.raises(NotFound):
        w.handlers.resolve_rejection("rej-404", "Revisado", COORDINATOR)
    assert w.repo.rejections["rej-1"].resolved is False


def test_only_staff_and_auditors_read_rejections() -> None:
    w = world()
    with pytest.raises(PermissionDenied):
        w.handlers.list_rejections(True, 50, Actor("k1", "kiosk"))


# -- devices -------------------------------------------------------------------------------


@pytest.mark.parametrize("actor", [ADMIN, COORDINATOR])
def test_admins_and_coordinators_can_register_a_kiosk(actor: Actor) -> None:
    w = world()
    device = w.handlers.register_device(DEVICE, public_key_b64(KEY), "com1", "  Salón comunal ", actor)
    assert w.repo.get_device(DEVICE) == device
    assert (device.description, device.registered_by, device.registered_at) == ("Salón comunal", actor.subject, NOW)
    assert device.device.public_key_b64 == public_key_b64(KEY) and not device.device.revoked


@pytest.mark.parametrize("actor", [Actor("u1", "psychosocial"), AUDITOR, GESTOR])
def test_other_roles_cannot_register_a_kiosk(actor: Actor) -> None:
    w = world()
    with pytest.raises(PermissionDenied):
        w.handlers.register_device(DEVICE, public_key_b64(KEY), "com1", "", actor)
    assert w.repo.devices == {}


@pytest.mark.parametrize(
    ("device_id", "public_key", "fields"),
    [
        ("", public_key_b64(KEY), {"id"}),
        ("kiosco 7", public_key_b64(KEY), {"id"}),
        ("k" * 65, public_key_b64(KEY), {"id"}),
        ("kiosco/7", public_key_b64(KEY), {"id"}),
        (DEVICE, "not base64!", {"public_key"}),
        (DEVICE, "c2hvcnQ=", {"public_key"}),
        ("", "", {"id", "public_key"}),
    ],
)
def test_a_kiosk_with_a_bad_id_or_key_is_refused_naming_each_field(
    device_id: str, public_key: str, fields: set[str]
) -> None:
    w = world()
    with pytest.raises(FieldsInvalid) as err:
        w.handlers.register_device(device_id, public_key, "com1", "", ADMIN)
    assert set(err.value.errors) == fields
    assert w.repo.devices == {}


def test_a_kiosk_id_of_64_letters_digits_dashes_and_underscores_is_accepted() -> None:
    w = world()
    device_id = "Kiosco_salon-01" + "x" * 49
    w.handlers.register_device(device_id, public_key_b64(KEY), "com1", "", ADMIN)
    assert w.repo.get_device(device_id) is not None


def test_a_kiosk_is_paired_only_once() -> None:
    w = world()
    registered(w)
    with pytest.raises(AlreadyExists):
        w.handlers.register_device(DEVICE, public_key_b64(Ed25519PrivateKey.generate()), "com1", "", ADMIN)
    assert w.repo.devices[DEVICE].device.public_key_b64 == public_key_b64(KEY)


def test_revoking_a_kiosk_records_when_and_needs_an_admin_or_coordinator() -> None:
    w = world()
    registered(w)
    with pytest.raises(PermissionDenied):
        w.handlers.revoke_device(DEVICE, GESTOR)
    assert not w.repo.devices[DEVICE].device.revoked

    w.clock.current = NOW + timedelta(hours=2)
    revoked = w.handlers.revoke_device(DEVICE, COORDINATOR)

    assert revoked.device.revoked and revoked.revoked_at == NOW + timedelta(hours=2)
    assert [d.device.device_id for d in w.handlers.list_devices(AUDITOR)] == [DEVICE]


def test_revoking_an_unknown_kiosk_is_not_found() -> None:
    with pytest.raises(NotFound):
        world().handlers.revoke_device("kiosco-404", ADMIN)


def test_only_staff_and_auditors_list_kiosks() -> None:
    with pytest.raises(PermissionDenied):
        world().handlers.list_devices(Actor("k1", "kiosk"))


# -- queries ---------------------------------------------------------------------------------


class RecordingQueries(FakeActaRepository):
    def __init__(self) -> None:
        super().__init__()
        self.queries: list[ActaFilter] = []

    def query(self, query: ActaFilter) -> list[Acta]:
        self.queries.append(query)
        return super().query(query)


@pytest.mark.parametrize(("asked", "used"), [(0, 50), (-5, 1), (20, 20), (10_000, 500)])
def test_a_query_asks_the_store_for_a_bounded_number_of_actas(asked: int, used: int) -> None:
    w = world()
    repo = RecordingQueries()
    w.handlers.repo = repo
    w.handlers.query(ActaFilter(gestor_id="g1", limit=asked))
    assert [(q.limit, q.gestor_id) for q in repo.queries] == [(used, "g1")]


def test_a_query_whose_range_ends_before_it_starts_is_a_field_error() -> None:
    w = world()
    with pytest.raises(FieldsInvalid) as err:
        w.handlers.query(ActaFilter(captured_from=NOW, captured_to=NOW - timedelta(days=1)))
    assert set(err.value.errors) == {"captured_from"}


def test_a_query_returns_what_the_store_finds() -> None:
    w = world()
    first = a_draft(w)
    a_draft(w, ["p3"], actor=OTHER_GESTOR)
    assert [a.id for a in w.handlers.query(ActaFilter(gestor_id="g1"))] == [first]


# -- tamper evidence -------------------------------------------------------------------------


def test_an_untouched_record_verifies_and_reports_the_chain_head() -> None:
    w = world()
    a_sealed_acta(w)
    a_sealed_acta(w, ["p3"])
    a_draft(w)  # drafts are not chained and not a problem

    report = w.handlers.verify_chain()

    assert report.entries == 2 and report.problems == []
    assert report.head_hash == w.repo.entries[-1].entry_hash


def test_an_empty_chain_verifies_with_the_genesis_head() -> None:
    report = world().handlers.verify_chain()
    assert (report.entries, report.head_hash, report.problems) == (0, chain.GENESIS, [])


def test_an_acta_altered_after_sealing_is_named_by_the_chain_check_and_the_acta_check() -> None:
    w = world()
    a_sealed_acta(w)
    altered = a_sealed_acta(w, ["p3"])
    w.repo.tamper(altered, values={**w.repo.actas[altered].values, "personas_presentes": 5})

    problems = w.handlers.verify_chain().problems

    assert [(p.kind, p.seq, p.acta_id) for p in problems] == [("altered_acta", 2, altered)]
    _, acta_problems = w.handlers.verify_acta(altered)
    assert {p.kind for p in acta_problems} == {"altered_acta"} and len(acta_problems) == 2


def test_a_sealed_acta_missing_from_the_chain_is_named() -> None:
    w = world()
    kept = a_sealed_acta(w)
    dropped = a_sealed_acta(w, ["p3"])
    w.repo.entries = [e for e in w.repo.entries if e.acta_id != dropped]

    problems = w.handlers.verify_chain().problems

    assert [(p.kind, p.acta_id) for p in problems] == [("unchained_acta", dropped)]
    assert w.handlers.verify_acta(kept)[1] == []
    assert [p.kind for p in w.handlers.verify_acta(dropped)[1]] == ["unchained_acta"]


def test_a_chain_entry_rewritten_to_match_an_altered_acta_is_named() -> None:
    w = world()
    acta_id = a_sealed_acta(w)
    forged_hash = hashlib.sha256(b"forged").hexdigest()
    w.repo.tamper(acta_id, content_hash=forged_hash)
    w.repo.entries[0] = replace(w.repo.entries[0], acta_hash=forged_hash)

    _, problems = w.handlers.verify_acta(acta_id)

    assert {p.kind for p in problems} == {"altered_acta", "altered_entry"}
    assert "altered_entry" in {p.kind for p in w.handlers.verify_chain().problems}


def test_only_a_sealed_acta_can_be_verified() -> None:
    w = world()
    acta_id = a_signed_acta(w)
    with pytest.raises(InvalidState):
        w.handlers.verify_acta(acta_id)
