"""The acta aggregate: who may sign and when, what sealing commits to, and how a
sealed acta is corrected."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.actas.domain.canonical import digest
from services.actas.domain.errors import FieldsInvalid
from services.actas.domain.model import (
    MAX_HANDWRITTEN_BYTES,
    PNG_MAGIC,
    Acta,
    Actor,
    FingerprintEvidence,
    GeoPoint,
    InvalidState,
    Method,
    Participant,
    Role,
    Signature,
    Source,
    Status,
    handwritten_digest,
)

CAPTURED = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)
CREATED = CAPTURED + timedelta(minutes=5)
SEALED = CAPTURED + timedelta(minutes=30)
TEMPLATE_SHA = hashlib.sha256(b"enrolled template of p1").hexdigest()
GESTOR = Actor("g1", "gestor")


def participant(n: int, family_id: str = "fam1") -> Participant:
    return Participant(f"p{n}", family_id, f"Persona {n}", f"CC {1000 + n}")


def draft(*participants: Participant, **changes: object) -> Acta:
    acta = Acta(
        id="acta-1",
        template_key="visita_domiciliaria@1",
        title="Acta de visita domiciliaria",
        values={"lugar": "Nuevo Roche", "personas_presentes": 2},
        participants=list(participants or (participant(1), participant(2))),
        gestor_id="g1",
        community_id="com1",
        captured_at=CAPTURED,
        created_at=CREATED,
    )
    return replace(acta, **changes)  # type: ignore[arg-type]


def evidence(**changes: object) -> FingerprintEvidence:
    found = FingerprintEvidence(87, "right_index", "ZFM-20 #0001", "verify_1_1", TEMPLATE_SHA, CAPTURED)
    return replace(found, **changes)  # type: ignore[arg-type]


def fingerprint(signer: str = "p1", **changes: object) -> Signature:
    return Signature(signer, Role.PARTICIPANT, Method.FINGERPRINT, CAPTURED, fingerprint=evidence(**changes))


def refusal(signer: str, reason: str) -> Signature:
    return Signature(signer, Role.PARTICIPANT, Method.REFUSED, CAPTURED, refusal_reason=reason)


def gestor_signs(signer: str = "g1") -> Signature:
    return Signature(signer, Role.GESTOR, Method.ELECTRONIC, CAPTURED + timedelta(minutes=1))


def signed(acta: Acta | None = None) -> Acta:
    acta = acta or draft()
    for p in acta.participants:
        acta.add_signature(refusal(p.beneficiary_id, "No está de acuerdo"))
    acta.add_signature(gestor_signs())
    return acta


def sealed(acta: Acta | None = None) -> Acta:
    acta = signed(acta)
    acta.seal(SEALED)
    return acta


# -- signing ---------------------------------------------------------------------------


def test_participants_sign_in_any_order_and_the_acta_stays_a_draft_until_the_gestor_signs() -> None:
    acta = draft()
    acta.add_signature(refusal("p2", "No sabe firmar y no quiere dejar huella"))
    assert acta.pending_signers() == ["p1"]
    acta.add_signature(fingerprint("p1"))
    assert acta.pending_signers() == []
    assert acta.status == Status.DRAFT

    acta.add_signature(gestor_signs())

    assert acta.status == Status.SIGNED
    assert [s.signer_id for s in acta.signatures] == ["p2", "p1", "g1"]


def test_a_participant_cannot_sign_twice() -> None:
    acta = draft()
    acta.add_signature(fingerprint("p1"))
    with pytest.raises(InvalidState, match="p1 ya firmó"):
        acta.add_signature(refusal("p1", "Cambió de opinión"))
    assert len(acta.signatures) == 1


def test_only_listed_participants_can_sign() -> None:
    acta = draft()
    with pytest.raises(FieldsInvalid) as err:
        acta.add_signature(fingerprint("p9"))
    assert "p9" in err.value.errors["signer_id"]
    assert acta.signatures == []


def test_the_gestor_cannot_sign_while_participants_are_pending_and_is_told_who() -> None:
    acta = draft()
    acta.add_signature(fingerprint("p1"))
    with pytest.raises(InvalidState, match="faltan: p2"):
        acta.add_signature(gestor_signs())
    assert acta.status == Status.DRAFT and len(acta.signatures) == 1


def test_a_fingerprint_signature_needs_its_matching_evidence() -> None:
    acta = draft()
    with pytest.raises(FieldsInvalid) as err:
        acta.add_signature(Signature("p1", Role.PARTICIPANT, Method.FINGERPRINT, CAPTURED))
    assert "fingerprint" in err.value.errors
    assert acta.pending_signers() == ["p1", "p2"]


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"finger": "indice_derecho"}, "dedo desconocido"),
        ({"mode": "guess"}, "modo de cotejo desconocido"),
        ({"template_sha256": "abc"}, "hash de la plantilla"),
        ({"sensor_id": ""}, "identidad del sensor"),
    ],
)
def test_fingerprint_evidence_with_an_unknown_finger_or_mode_or_no_template_hash_or_sensor_is_refused(
    changes: dict[str, object], problem: str
) -> None:
    acta = draft()
    with pytest.raises(FieldsInvalid) as err:
        acta.add_signature(fingerprint("p1", **changes))
    assert problem in err.value.errors["fingerprint"]
    assert acta.signatures == []


def test_every_problem_of_the_fingerprint_evidence_is_named_at_once() -> None:
    problems = evidence(finger="toe", mode="", template_sha256="", sensor_id="").problems()
    assert len(problems) == 4


def test_every_finger_of_both_hands_is_accepted_as_evidence() -> None:
    fingers = [f"{side}_{f}" for side in ("left", "right") for f in ("thumb", "index", "middle", "ring", "little")]
    assert all(evidence(finger=f).problems() == [] for f in fingers)
    assert evidence(mode="identify_1_n").problems() == []


@pytest.mark.parametrize("reason", ["", "   \n"])
def test_a_refusal_to_sign_needs_a_reason(reason: str) -> None:
    acta = draft()
    with pytest.raises(FieldsInvalid) as err:
        acta.add_signature(refusal("p1", reason))
    assert "refusal_reason" in err.value.errors
    assert acta.pending_signers() == ["p1", "p2"]


def test_a_refusal_with_a_reason_counts_as_the_participants_turn() -> None:
    acta = draft()
    acta.add_signature(refusal("p1", "No está de acuerdo con los compromisos"))
    assert acta.pending_signers() == ["p2"]


def test_a_signed_acta_takes_no_more_signatures() -> None:
    acta = signed()
    with pytest.raises(InvalidState, match="ya no admite firmas"):
        acta.add_signature(gestor_signs())


def test_a_sealed_acta_takes_no_more_signatures() -> None:
    acta = sealed()
    before = acta.compute_hash()
    with pytest.raises(InvalidState):
        acta.add_signature(fingerprint("p1"))
    assert acta.compute_hash() == before == acta.content_hash


def test_a_gestor_refusal_does_not_complete_the_acta() -> None:
    """The gestor's signature is what completes the acta; a refusal is the absence of one.
    (A participant may refuse and the acta still stands; the gestor cannot.)"""
    acta = draft()
    acta.add_signature(refusal("p1", "No está de acuerdo"))
    acta.add_signature(refusal("p2", "No está de acuerdo"))
    with pytest.raises(FieldsInvalid):
        acta.add_signature(Signature("g1", Role.GESTOR, Method.REFUSED, CAPTURED, refusal_reason="No firmo"))
    assert acta.status == Status.DRAFT


# -- sealing ---------------------------------------------------------------------------


def test_a_draft_cannot_be_sealed_and_the_error_names_the_pending_participants() -> None:
    acta = draft()
    acta.add_signature(fingerprint("p1"))
    with pytest.raises(InvalidState, match="faltan las firmas de: p2"):
        acta.seal(SEALED)
    assert acta.status == Status.DRAFT and acta.content_hash == "" and acta.sealed_at is None


def test_an_acta_signed_by_every_participant_but_not_the_gestor_cannot_be_sealed() -> None:
    acta = draft()
    acta.add_signature(fingerprint("p1"))
    acta.add_signature(refusal("p2", "No está de acuerdo"))
    with pytest.raises(InvalidState, match="falta la firma del gestor"):
        acta.seal(SEALED)


def test_sealing_records_the_time_and_a_hash_over_the_canonical_form() -> None:
    acta = signed()
    acta.seal(SEALED)
    assert acta.status == Status.SEALED
    assert acta.sealed_at == SEALED
    assert acta.content_hash == digest(acta.canonical()) == acta.compute_hash()
    assert len(acta.content_hash) == 64


def test_an_acta_is_sealed_only_once() -> None:
    acta = sealed()
    first = acta.content_hash
    with pytest.raises(InvalidState, match="ya está sellada"):
        acta.seal(SEALED + timedelta(hours=1))
    assert acta.sealed_at == SEALED and acta.content_hash == first


def test_the_sealed_event_announces_the_hash_and_each_household_once() -> None:
    acta = sealed(draft(participant(1, "fam2"), participant(2, "fam1"), participant(3, "fam2"), participant(4, "")))
    event = acta.sealed_event()
    assert event.type == "acta_sealed"
    assert event.payload["acta_id"] == "acta-1"
    assert event.payload["content_hash"] == acta.content_hash
    assert event.payload["sealed_at"] == "2026-11-20T15:00:00.000+00:00"
    assert event.payload["family_ids"] == ["fam1", "fam2"]
    assert [p["beneficiary_id"] for p in event.payload["participants"]] == ["p1", "p2", "p3", "p4"]
    assert event.payload["source"] == "desk" and event.payload["amends"] == ""


def test_seal_returns_the_event_it_announces() -> None:
    acta = signed()
    event = acta.seal(SEALED)
    assert event.type == "acta_sealed" and event.payload["content_hash"] == acta.content_hash


Change = Callable[[Acta], None]


def _set(name: str, value: object) -> Change:
    return lambda acta: setattr(acta, name, value)


def _swap_signature(index: int, **changes: object) -> Change:
    def change(acta: Acta) -> None:
        acta.signatures[index] = replace(acta.signatures[index], **changes)  # type: ignore[arg-type]

    return change


def _swap_evidence(**changes: object) -> Change:
    def change(acta: Acta) -> None:
        first = acta.signatures[0]
        assert first.fingerprint is not None
        acta.signatures[0] = replace(first, fingerprint=replace(first.fingerprint, **changes))  # type: ignore[arg-type]

    return change


@pytest.mark.parametrize(
    "change",
    [
        _set("values", {"lugar": "Nuevo Roche", "personas_presentes": 3}),
        _set("participants", [participant(1), replace(participant(2), national_id="CC 9999")]),
        _set("gestor_id", "g2"),
        _set("community_id", "com2"),
        _set("captured_at", CAPTURED + timedelta(days=1)),
        _set("sealed_at", SEALED + timedelta(seconds=1)),
        _set("source", Source.KIOSK),
        _set("device_id", "kiosco-007"),
        _set("submission_id", "k-2"),
        _set("amends", "acta-0"),
        _set("amendment_reason", "Error de digitación"),
        _set("location", GeoPoint(11.2, -72.9, 5.0)),
        _swap_signature(1, refusal_reason="Otro motivo"),
        _swap_signature(2, signed_at=CAPTURED + timedelta(hours=3)),
        _swap_signature(1, signer_id="p3"),
        _swap_evidence(score=40),
        _swap_evidence(template_sha256="0" * 64),
        _swap_evidence(sensor_id="otro sensor"),
        lambda acta: acta.signatures.pop(1),
    ],
)
def test_altering_anything_a_reader_relies_on_changes_the_content_hash(change: Change) -> None:
    acta = draft()
    acta.add_signature(fingerprint("p1"))
    acta.add_signature(refusal("p2", "No está de acuerdo"))
    acta.add_signature(gestor_signs())
    acta.seal(SEALED)
    sealed_hash = acta.content_hash

    change(acta)

    assert acta.compute_hash() != sealed_hash


def test_storage_bookkeeping_does_not_change_the_content_hash() -> None:
    acta = sealed()
    acta.version, acta.chain_seq, acta.created_at = 7, 42, CREATED + timedelta(days=3)
    assert acta.compute_hash() == acta.content_hash


def test_the_hash_is_the_same_for_the_same_instant_in_any_time_zone_and_at_millisecond_precision() -> None:
    """A stored acta re-hashes equal: MongoDB returns UTC and keeps milliseconds."""
    acta = sealed(draft(captured_at=datetime(2026, 11, 20, 9, 30, 0, 123456, tzinfo=timezone(timedelta(hours=-5)))))
    as_read_back = replace(
        acta,
        captured_at=datetime(2026, 11, 20, 14, 30, 0, 123000, tzinfo=UTC),
        sealed_at=SEALED.replace(tzinfo=None),  # a naive datetime is taken as UTC
    )
    assert as_read_back.compute_hash() == acta.content_hash


def test_a_location_is_committed_with_its_accuracy() -> None:
    acta = sealed(draft(location=GeoPoint(11.2, -72.9, 5.0)))
    assert acta.canonical()["location"] == {"lat": 11.2, "lon": -72.9, "acc": 5.0}
    acta.location = GeoPoint(11.2, -72.9, 50.0)
    assert acta.compute_hash() != acta.content_hash


# -- handwritten signatures --------------------------------------------------------------


def test_a_handwritten_signature_is_identified_by_the_sha256_of_its_png() -> None:
    png = PNG_MAGIC + b"rest of the image"
    assert handwritten_digest(png) == hashlib.sha256(png).hexdigest()


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (b"\xff\xd8\xff\xe0 a JPEG", "PNG"),
        (b"", "PNG"),
        (PNG_MAGIC + b"\0" * MAX_HANDWRITTEN_BYTES, "KB"),
    ],
)
def test_a_handwritten_signature_that_is_not_a_png_or_too_large_is_refused(image: bytes, message: str) -> None:
    with pytest.raises(FieldsInvalid) as err:
        handwritten_digest(image)
    assert message in err.value.errors["handwritten_png"]


def test_a_png_of_exactly_the_size_limit_is_accepted() -> None:
    png = PNG_MAGIC + b"\0" * (MAX_HANDWRITTEN_BYTES - len(PNG_MAGIC))
    assert len(handwritten_digest(png)) == 64


# -- corrections -----------------------------------------------------------------------


def test_an_amendment_is_a_new_draft_that_references_the_sealed_acta() -> None:
    original = sealed(
        draft(source=Source.KIOSK, device_id="kiosco-007", submission_id="k-1", location=GeoPoint(11.2, -72.9))
    )
    later = SEALED + timedelta(days=2)
    coordinator = Actor("c1", "coordinator")

    correction = original.amendment("acta-2", {"lugar": "Roche"}, "  Lugar mal escrito ", coordinator, later)

    assert correction.id == "acta-2"
    assert correction.status == Status.DRAFT
    assert correction.amends == "acta-1"
    assert correction.amendment_reason == "Lugar mal escrito"
    assert correction.title == "Corrección: Acta de visita domiciliaria"
    assert correction.values == {"lugar": "Roche"}
    assert correction.gestor_id == "c1" and correction.created_at == later
    assert correction.signatures == []
    assert (correction.source, correction.device_id, correction.submission_id) == (Source.DESK, "", "")
    assert (correction.sealed_at, correction.content_hash, correction.chain_seq) == (None, "", 0)
    # What the correction keeps: when and where the activity happened; its only
    # participant is who signs it, not the people who signed the original.
    assert correction.captured_at == original.captured_at and correction.location == original.location
    assert correction.participants == [] and original.participants != []


def test_amending_leaves_the_original_sealed_and_untouched() -> None:
    original = sealed()
    before = (original.status, original.content_hash, list(original.signatures), dict(original.values))
    original.amendment("acta-2", {"lugar": "Roche"}, "Lugar mal escrito", GESTOR, SEALED)
    assert (original.status, original.content_hash, original.signatures, original.values) == before
    assert original.compute_hash() == original.content_hash


@pytest.mark.parametrize("state", ["draft", "signed"])
def test_only_a_sealed_acta_can_be_amended(state: str) -> None:
    acta = draft() if state == "draft" else signed()
    with pytest.raises(InvalidState, match="Solo se corrige un acta sellada"):
        acta.amendment("acta-2", {}, "Error", GESTOR, SEALED)


@pytest.mark.parametrize("reason", ["", "  "])
def test_an_amendment_needs_a_reason(reason: str) -> None:
    with pytest.raises(FieldsInvalid) as err:
        sealed().amendment("acta-2", {}, reason, GESTOR, SEALED)
    assert "reason" in err.value.errors


def test_an_amendment_waits_for_no_participant_and_only_the_gestor_signs_it() -> None:
    correction = sealed().amendment("acta-2", {"lugar": "Roche"}, "Lugar mal escrito", GESTOR, SEALED)
    assert correction.pending_signers() == []
    with pytest.raises(FieldsInvalid):  # who signed the original does not sign the correction
        correction.add_signature(fingerprint("p1"))

    correction.add_signature(gestor_signs())
    correction.seal(SEALED + timedelta(hours=1))

    assert correction.status == Status.SEALED
    assert correction.canonical()["amends"] == "acta-1"
    assert correction.sealed_event().payload["amends"] == "acta-1"


def test_the_template_code_is_the_key_without_its_version() -> None:
    assert draft().template_code == "visita_domiciliaria"
    assert draft(template_key="capacitacion@12").template_code == "capacitacion"
