"""Consents and sealed biometric templates through the use cases."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from services.beneficiaries.adapters.crypto import TemplateDecryptionError
from services.beneficiaries.domain.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from services.beneficiaries.domain.model import Actor, Beneficiary

from .builders import GESTORA, KIOSK, TEMPLATE, a_community, a_person
from .fakes import TEST_KEY_ID, Harness, make_handlers


def registered(id_number: str = "1023456789") -> tuple[Harness, Beneficiary]:
    h = make_handlers()
    return h, a_person(h, id_number, community_id=a_community(h).id)


def consenting(id_number: str = "1023456789") -> tuple[Harness, Beneficiary]:
    h, person = registered(id_number)
    h.handlers.set_consent(person.id, "biometrics", True, GESTORA)
    return h, person


# -- consents -------------------------------------------------------------------
def test_granting_a_consent_records_the_actor_and_publishes_it() -> None:
    h, person = registered()

    h.handlers.set_consent(person.id, " Biometrics", True, Actor("gestor.luis", "gestor"))

    stored = h.repo.beneficiaries[person.id]
    consent = stored.consents["biometrics"]
    assert (consent.granted, consent.recorded_by) == (True, "gestor.luis")
    assert consent.recorded_at == h.clock.now()
    assert stored.version == 2
    [event] = h.relay.flushes[-1].published
    assert event.type == "consent_changed"
    assert event.payload == {
        "beneficiary_id": person.id,
        "kind": "biometrics",
        "granted": True,
        "recorded_by": "gestor.luis",
        "occurred_at": h.clock.now().isoformat(),
        "version": 2,
    }


def test_withdrawing_a_consent_is_recorded_and_published() -> None:
    h, person = consenting()

    h.handlers.set_consent(person.id, "biometrics", False, Actor("gestor.luis", "gestor"))

    stored = h.repo.beneficiaries[person.id]
    assert not stored.has_consent("biometrics")
    assert stored.consents["biometrics"].recorded_by == "gestor.luis"
    [event] = h.relay.flushes[-1].published
    assert event.payload["granted"] is False
    assert event.payload["version"] == 3


def test_repeating_a_consent_writes_and_publishes_nothing() -> None:
    h, person = consenting()
    flushes = len(h.relay.flushes)

    h.handlers.set_consent(person.id, "biometrics", True, GESTORA)

    assert h.repo.beneficiaries[person.id].version == 2
    assert len(h.relay.flushes) == flushes


def test_an_unknown_consent_kind_is_a_field_error() -> None:
    h, person = registered()

    with pytest.raises(ValidationFailed) as exc:
        h.handlers.set_consent(person.id, "marketing", True, GESTORA)

    assert set(exc.value.errors) == {"kind"}


def test_consent_for_an_unknown_beneficiary_is_not_found() -> None:
    h, _ = registered()

    with pytest.raises(NotFound):
        h.handlers.set_consent("nobody", "biometrics", True, GESTORA)


# -- storing templates ----------------------------------------------------------
def test_a_template_needs_the_biometrics_consent() -> None:
    h, person = registered()
    h.handlers.set_consent(person.id, "data_processing", True, GESTORA)

    with pytest.raises(Conflict) as exc:
        h.handlers.store_biometric_template(person.id, "right_index", TEMPLATE, GESTORA)

    assert exc.value.field == "consent"
    assert h.repo.beneficiaries[person.id].biometrics == {}


def test_a_template_is_stored_sealed_with_its_digest() -> None:
    h, person = consenting()

    enrolment = h.handlers.store_biometric_template(person.id, "Right_Index", TEMPLATE, GESTORA)

    stored = h.repo.beneficiaries[person.id].biometrics["right_index"]
    assert stored == enrolment
    assert stored.sealed_template != TEMPLATE
    assert TEMPLATE not in stored.sealed_template
    assert stored.template_sha256 == hashlib.sha256(TEMPLATE).hexdigest()
    assert stored.key_id == TEST_KEY_ID
    assert (stored.enrolled_by, stored.enrolled_at) == ("gestora.ana", h.clock.now())


def test_storing_a_template_publishes_its_digest_but_not_the_template() -> None:
    h, person = consenting()

    h.handlers.store_biometric_template(person.id, "right_index", TEMPLATE, GESTORA)

    [event] = h.relay.flushes[-1].published
    assert event.type == "beneficiary_updated"
    assert event.payload["change"] == "biometric_enrolment"
    assert event.payload["finger"] == "right_index"
    assert event.payload["template_sha256"] == hashlib.sha256(TEMPLATE).hexdigest()
    assert not any(isinstance(v, bytes) for v in event.payload.values())


@pytest.mark.parametrize(
    ("finger", "template", "fields"),
    [
        ("right_toe", TEMPLATE, {"finger"}),
        ("right_index", b"\x01" * 10, {"template"}),
        ("", b"", {"finger", "template"}),
    ],
)
def test_a_bad_finger_or_template_is_a_field_error(finger: str, template: bytes, fields: set[str]) -> None:
    h, person = consenting()

    with pytest.raises(ValidationFailed) as exc:
        h.handlers.store_biometric_template(person.id, finger, template, GESTORA)

    assert set(exc.value.errors) == fields


# -- reading templates ----------------------------------------------------------
def test_a_kiosk_reads_the_template_back() -> None:
    h, person = consenting()
    h.handlers.store_biometric_template(person.id, "right_index", TEMPLATE, GESTORA)

    enrolment, template = h.handlers.get_biometric_template(person.id, " RIGHT_INDEX ", KIOSK)

    assert template == TEMPLATE
    assert enrolment.finger == "right_index"


@pytest.mark.parametrize("role", ["gestor", "admin", "auditor", ""])
def test_only_a_kiosk_may_read_a_template(role: str) -> None:
    h, person = consenting()
    h.handlers.store_biometric_template(person.id, "right_index", TEMPLATE, GESTORA)

    with pytest.raises(PermissionDenied):
        h.handlers.get_biometric_template(person.id, "right_index", Actor("someone", role))


def test_reading_a_finger_never_enrolled_is_not_found() -> None:
    h, person = consenting()

    with pytest.raises(NotFound):
        h.handlers.get_biometric_template(person.id, "left_thumb", KIOSK)


def test_a_template_copied_onto_another_record_fails_to_decrypt() -> None:
    h, owner = consenting("1023456789")
    other = a_person(h, "1098765432", community_id=owner.community_id)
    enrolment = h.handlers.store_biometric_template(owner.id, "right_index", TEMPLATE, GESTORA)
    # Someone with database access moves the owner's template onto another record.
    h.repo.beneficiaries[other.id].biometrics["right_index"] = enrolment

    with pytest.raises(TemplateDecryptionError):
        h.handlers.get_biometric_template(other.id, "right_index", KIOSK)


def test_a_template_moved_to_another_finger_fails_to_decrypt() -> None:
    h, person = consenting()
    enrolment = h.handlers.store_biometric_template(person.id, "right_index", TEMPLATE, GESTORA)
    h.repo.beneficiaries[person.id].biometrics["left_index"] = dataclasses.replace(enrolment, finger="left_index")

    with pytest.raises(TemplateDecryptionError):
        h.handlers.get_biometric_template(person.id, "left_index", KIOSK)
