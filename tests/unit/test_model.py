"""Commands and household rules of the beneficiaries domain."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from services.beneficiaries.domain import model
from services.beneficiaries.domain.errors import Conflict, ValidationFailed
from services.beneficiaries.domain.model import (
    Actor,
    Beneficiary,
    Family,
    RegisterBeneficiary,
    RegisterCommunity,
    RegisterFamily,
)

NOW = datetime(2024, 5, 6, 15, 30, tzinfo=UTC)
TODAY = NOW.date()
LATER = NOW + timedelta(hours=1)
GESTORA = Actor("gestora.ana", "gestor")


def registration(**overrides: Any) -> RegisterBeneficiary:
    fields: dict[str, Any] = {
        "id_type": "cc",
        "id_number": "1.023.456.789",
        "first_names": "  José  ",
        "last_names": "Peña Gómez",
        "birth_date": "1985-03-14",
        "sex": "Male",
        "community_id": "c1",
    }
    fields.update(overrides)
    return RegisterBeneficiary(**fields)


def person(**overrides: Any) -> Beneficiary:
    return dataclasses.replace(registration().build(NOW, TODAY), **overrides)


def family(family_id: str = "f1", community_id: str = "c2") -> Family:
    return Family(family_id, community_id, "Hogar Peña", "", NOW)


def errors_of(exc: pytest.ExceptionInfo[ValidationFailed]) -> set[str]:
    return set(exc.value.errors)


# -- registering a beneficiary --------------------------------------------------
def test_registration_normalises_every_field() -> None:
    built = registration(
        whatsapp_phone="300 123 4567",
        email=" Jose@Example.ORG ",
        education_level=" Primary",
    ).build(NOW, TODAY)

    assert (built.id_type, built.id_number) == ("CC", "1023456789")
    assert built.national_id_key == "CC:1023456789"
    assert (built.first_names, built.last_names) == ("José", "Peña Gómez")
    assert built.birth_date == date(1985, 3, 14)
    assert built.sex == "male"
    assert built.whatsapp_phone == "+573001234567"
    assert built.email == "jose@example.org"
    assert built.education_level == "primary"
    assert built.search_tokens == ["jose", "pena", "gomez"]
    assert built.created_at == built.updated_at == NOW
    assert built.version == 1


def test_registration_defaults_optional_fields() -> None:
    built = registration().build(NOW, TODAY)

    assert built.family_id is None
    assert built.relationship is None
    assert built.whatsapp_phone is None
    assert built.email is None
    assert built.education_level == "none"
    assert built.can_sign is True
    assert built.consents == {}
    assert built.biometrics == {}


def test_each_registration_gets_a_new_id() -> None:
    assert registration().build(NOW, TODAY).id != registration().build(NOW, TODAY).id


def test_registration_reports_every_invalid_field_at_once() -> None:
    cmd = registration(
        id_number="12",
        first_names="",
        last_names="Peña3",
        birth_date="2030-01-01",
        sex="x",
        whatsapp_phone="123",
        email="not-an-email",
        education_level="phd",
    )

    with pytest.raises(ValidationFailed) as exc:
        cmd.build(NOW, TODAY)

    assert errors_of(exc) == {
        "national_id.number",
        "first_names",
        "last_names",
        "birth_date",
        "sex",
        "whatsapp_phone",
        "email",
        "education_level",
    }
    assert "futuro" in exc.value.errors["birth_date"]
    assert "first_names" in exc.value.message


def test_unknown_id_type_is_reported_on_the_type_field() -> None:
    with pytest.raises(ValidationFailed) as exc:
        registration(id_type="NIT", first_names="").build(NOW, TODAY)

    assert errors_of(exc) == {"national_id.type", "first_names"}


def test_relationship_without_a_family_is_rejected() -> None:
    with pytest.raises(ValidationFailed) as exc:
        registration(relationship="child").build(NOW, TODAY)

    assert errors_of(exc) == {"family_id"}


def test_joining_a_family_requires_a_relationship() -> None:
    with pytest.raises(ValidationFailed) as exc:
        registration(community_id="", family_id="f1").build(NOW, TODAY)

    assert errors_of(exc) == {"relationship"}


def test_unknown_relationship_is_rejected() -> None:
    with pytest.raises(ValidationFailed) as exc:
        registration(family_id="f1", relationship="cousin").build(NOW, TODAY)

    assert errors_of(exc) == {"relationship"}


def test_registration_needs_a_community_or_a_family() -> None:
    with pytest.raises(ValidationFailed) as exc:
        registration(community_id=" ", family_id="").build(NOW, TODAY)

    assert errors_of(exc) == {"community_id"}


def test_a_family_alone_places_the_beneficiary() -> None:
    built = registration(community_id="", family_id=" f1 ", relationship="Head").build(NOW, TODAY)

    assert built.family_id == "f1"
    assert built.relationship == "head"


# -- communities and families ---------------------------------------------------
def test_community_registration_reports_every_missing_field() -> None:
    with pytest.raises(ValidationFailed) as exc:
        RegisterCommunity(" ", "", "").build(NOW)

    assert errors_of(exc) == {"name", "municipality", "department"}


def test_community_registration_collapses_whitespace() -> None:
    community = RegisterCommunity(" Villa  Nueva ", "Tumaco", "Nariño").build(NOW)

    assert community.name == "Villa Nueva"
    assert community.created_at == NOW


def test_family_registration_reports_missing_community_and_long_address() -> None:
    with pytest.raises(ValidationFailed) as exc:
        RegisterFamily("", "Hogar Peña", "x" * 201).build(NOW)

    assert errors_of(exc) == {"community_id", "address"}


# -- household rules ------------------------------------------------------------
def test_a_family_without_head_accepts_one() -> None:
    model.ensure_single_head("head", None, "b1")


def test_a_second_head_is_refused_naming_the_current_one() -> None:
    head = person(id="b1", family_id="f1", relationship="head")

    with pytest.raises(Conflict) as exc:
        model.ensure_single_head("head", head, "b2")

    assert exc.value.field == "relationship"
    assert "José Peña Gómez" in exc.value.message


def test_the_current_head_may_be_saved_as_head_again() -> None:
    head = person(id="b1", family_id="f1", relationship="head")

    model.ensure_single_head("head", head, "b1")


def test_other_relationships_ignore_the_head() -> None:
    head = person(id="b1", family_id="f1", relationship="head")

    model.ensure_single_head("child", head, "b2")


def test_joining_a_family_takes_its_community_and_relationship() -> None:
    joining = person(community_id="c1")

    model.join_family(joining, family("f1", "c2"), "spouse", LATER)

    assert (joining.family_id, joining.community_id) == ("f1", "c2")
    assert joining.relationship == "spouse"
    assert joining.updated_at == LATER


def test_joining_the_same_family_twice_is_a_conflict() -> None:
    member = person(family_id="f1", relationship="child")

    with pytest.raises(Conflict) as exc:
        model.join_family(member, family("f1"), "child", LATER)

    assert exc.value.field == "beneficiary_id"
    assert member.updated_at == NOW


@pytest.mark.parametrize("raw", ["", "cousin"])
def test_relationship_check_rejects_missing_or_unknown(raw: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        model.check_relationship(raw)

    assert errors_of(exc) == {"relationship"}


# -- contact --------------------------------------------------------------------
def test_contact_update_normalises_and_reports_changed_fields() -> None:
    someone = person()

    changed = model.update_contact(someone, "300 123 4567", " Ana@Example.org", LATER)

    assert changed == ["whatsapp_phone", "email"]
    assert someone.whatsapp_phone == "+573001234567"
    assert someone.email == "ana@example.org"
    assert someone.updated_at == LATER


def test_contact_update_with_none_keeps_and_empty_clears() -> None:
    someone = person(whatsapp_phone="+573001234567", email="ana@example.org")

    changed = model.update_contact(someone, None, "", LATER)

    assert changed == ["email"]
    assert someone.whatsapp_phone == "+573001234567"
    assert someone.email is None


def test_the_same_number_written_differently_is_no_change() -> None:
    someone = person(whatsapp_phone="+573001234567")

    assert model.update_contact(someone, "(300) 123-4567", None, LATER) == []
    assert someone.updated_at == NOW


def test_an_invalid_contact_value_changes_nothing() -> None:
    someone = person()

    with pytest.raises(ValidationFailed) as exc:
        model.update_contact(someone, "123", "ana@example.org", LATER)

    assert errors_of(exc) == {"whatsapp_phone"}
    assert someone.email is None
    assert someone.updated_at == NOW


def test_a_contact_update_needs_a_phone_or_an_email() -> None:
    with pytest.raises(ValidationFailed) as exc:
        model.update_contact(person(), None, None, LATER)

    assert errors_of(exc) == {"contact"}


def test_the_preferred_channels_are_kept_in_the_persons_order() -> None:
    built = registration(contact_channels=[" SMS", "email"]).build(NOW, TODAY)

    assert built.contact_channels == ["sms", "email"]
    assert registration().build(NOW, TODAY).contact_channels == []  # the platform's order


@pytest.mark.parametrize("channels", [["sms", "fax"], ["sms", "sms"]])
def test_an_unknown_or_repeated_channel_is_refused(channels: list[str]) -> None:
    with pytest.raises(ValidationFailed) as exc:
        registration(contact_channels=channels).build(NOW, TODAY)

    assert errors_of(exc) == {"contact_channels"}


def test_a_contact_update_changes_or_clears_the_preferred_channels() -> None:
    someone = person(contact_channels=["whatsapp"])

    assert model.update_contact(someone, None, None, LATER, ["sms", "whatsapp"]) == ["contact_channels"]
    assert someone.contact_channels == ["sms", "whatsapp"]
    assert model.update_contact(someone, None, None, LATER, []) == ["contact_channels"]
    assert someone.contact_channels == []


# -- consents -------------------------------------------------------------------
def test_granting_a_consent_records_who_and_when() -> None:
    someone = person()

    assert model.set_consent(someone, "biometrics", True, GESTORA, LATER) is True

    consent = someone.consents["biometrics"]
    assert (consent.granted, consent.recorded_by, consent.recorded_at) == (
        True,
        "gestora.ana",
        LATER,
    )
    assert someone.has_consent("biometrics")
    assert someone.updated_at == LATER


def test_repeating_a_consent_is_a_no_op() -> None:
    someone = person()
    model.set_consent(someone, "biometrics", True, GESTORA, LATER)

    again = model.set_consent(someone, "biometrics", True, Actor("otro", "gestor"), LATER + timedelta(minutes=5))

    assert again is False
    assert someone.consents["biometrics"].recorded_by == "gestora.ana"
    assert someone.updated_at == LATER


def test_withdrawing_a_consent_revokes_it() -> None:
    someone = person()
    model.set_consent(someone, "biometrics", True, GESTORA, NOW)

    assert model.set_consent(someone, "biometrics", False, GESTORA, LATER) is True
    assert not someone.has_consent("biometrics")
    assert someone.consents["biometrics"].recorded_at == LATER


def test_consent_kind_is_normalised_and_checked() -> None:
    assert model.check_consent_kind(" Biometrics ") == "biometrics"
    with pytest.raises(ValidationFailed) as exc:
        model.check_consent_kind("marketing")
    assert errors_of(exc) == {"kind"}


def test_biometrics_need_a_granted_consent() -> None:
    someone = person()
    with pytest.raises(Conflict) as exc:
        model.require_biometric_consent(someone)
    assert exc.value.field == "consent"

    model.set_consent(someone, "biometrics", True, GESTORA, NOW)
    model.require_biometric_consent(someone)

    model.set_consent(someone, "biometrics", False, GESTORA, LATER)
    with pytest.raises(Conflict):
        model.require_biometric_consent(someone)


def test_another_consent_does_not_allow_biometrics() -> None:
    someone = person()
    model.set_consent(someone, "data_processing", True, GESTORA, NOW)

    with pytest.raises(Conflict):
        model.require_biometric_consent(someone)


# -- biometric templates --------------------------------------------------------
@pytest.mark.parametrize("size", [model.MIN_TEMPLATE_BYTES, 512, model.MAX_TEMPLATE_BYTES])
def test_template_sizes_within_range_are_accepted(size: int) -> None:
    assert model.check_template(" Right_Thumb ", b"\x01" * size) == "right_thumb"


@pytest.mark.parametrize("size", [0, model.MIN_TEMPLATE_BYTES - 1, model.MAX_TEMPLATE_BYTES + 1])
def test_template_sizes_out_of_range_are_rejected(size: int) -> None:
    with pytest.raises(ValidationFailed) as exc:
        model.check_template("right_thumb", b"\x01" * size)

    assert errors_of(exc) == {"template"}


def test_unknown_finger_and_bad_template_are_reported_together() -> None:
    with pytest.raises(ValidationFailed) as exc:
        model.check_template("right_toe", b"")

    assert errors_of(exc) == {"finger", "template"}


def test_template_digest_is_its_sha256() -> None:
    assert model.template_digest(b"abc") == hashlib.sha256(b"abc").hexdigest()


# -- ids and summaries ----------------------------------------------------------
def test_blank_id_is_a_field_error() -> None:
    assert model.validate_id(" b1 ") == "b1"
    with pytest.raises(ValidationFailed) as exc:
        model.validate_id("  ", "beneficiary_id")
    assert errors_of(exc) == {"beneficiary_id"}


def test_summary_carries_no_consent_or_biometric_data() -> None:
    someone = person()
    model.set_consent(someone, "biometrics", True, GESTORA, NOW)

    summary = someone.summary()

    assert summary["beneficiary_id"] == someone.id
    assert summary["national_id"] == {"type": "CC", "number": "1023456789"}
    assert "consents" not in summary
    assert "biometrics" not in summary
    assert "birth_date" not in summary
