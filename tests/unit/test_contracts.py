"""Event contracts: what a consumer may rely on, checked where events are made,
published and consumed (crm_platform.contracts)."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

from crm_platform import contracts
from crm_platform.contracts import ActaSealed, ContractViolation, parse
from services.actas.domain.model import Event


def sealed(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "acta_id": "a1",
        "title": "Visita",
        "template_key": "visita_domiciliaria@1",
        "sealed_at": "2026-12-06T10:00:00+00:00",
        "captured_at": "2026-12-06T09:00:00+00:00",
        "gestor_id": "gestor1",
        "community_id": "c1",
        "content_hash": "ab" * 32,
        "amends": "",
        "source": "desk",
        "participants": [{"beneficiary_id": "p1", "family_id": "f1"}],
        "family_ids": ["f1"],
    }
    payload.update(overrides)
    return payload


def test_a_payload_that_satisfies_the_contract_becomes_the_typed_event() -> None:
    event = parse(ActaSealed, sealed(extra_field_of_a_later_minor="ignored"))
    assert event.acta_id == "a1"
    assert event.participants[0].beneficiary_id == "p1"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"acta_id": None}, "acta_sealed.acta_id: expected str, got NoneType"),
        ({"participants": [{"beneficiary_id": "p1"}]}, "acta_sealed.participants[0]: missing field 'family_id'"),
        ({"participants": "p1"}, "acta_sealed.participants: expected a list"),
        ({"family_ids": [1]}, "acta_sealed.family_ids[0]: expected str, got int"),
    ],
)
def test_a_mistyped_field_is_named(change: dict[str, Any], named: str) -> None:
    with pytest.raises(ContractViolation, match=named.replace("[", r"\[").replace("]", r"\]")):
        parse(ActaSealed, sealed(**change))


def test_a_missing_field_is_named() -> None:
    payload = sealed()
    del payload["content_hash"]
    with pytest.raises(ContractViolation, match="missing field 'content_hash'"):
        parse(ActaSealed, payload)


def test_booleans_are_not_integers_and_integers_are_not_booleans() -> None:
    person = {
        "beneficiary_id": "p1",
        "national_id": {"type": "CC", "number": "1"},
        "first_names": "Ana",
        "last_names": "Uriana",
        "community_id": "c1",
        "family_id": "f1",
        "relationship": "head",
        "can_sign": True,
        "version": 1,
        "occurred_at": "2026-12-06T10:00:00+00:00",
        "by": "gestor1",
    }
    parse(contracts.BeneficiaryRegistered, person)
    with pytest.raises(ContractViolation, match="version: expected an integer, got bool"):
        parse(contracts.BeneficiaryRegistered, {**person, "version": True})
    with pytest.raises(ContractViolation, match="can_sign: expected bool, got int"):
        parse(contracts.BeneficiaryRegistered, {**person, "can_sign": 1})


def test_an_unknown_major_version_is_refused_and_a_newer_minor_is_read() -> None:
    with pytest.raises(ContractViolation, match=re.escape("version 2.0 is not readable by a consumer of version 1.0")):
        parse(ActaSealed, sealed(schema_version="2.0"))
    assert parse(ActaSealed, sealed(schema_version="1.7")).acta_id == "a1"
    assert parse(ActaSealed, sealed()).acta_id == "a1"  # published before contracts: 1.0


def test_publishing_stamps_the_version_and_refuses_a_malformed_event() -> None:
    assert contracts.stamped("actas", "acta_sealed", sealed())[contracts.VERSION_FIELD] == ActaSealed.VERSION
    with pytest.raises(ContractViolation, match=re.escape("no contract for event actas.acta_lost")):
        contracts.stamped("actas", "acta_lost", {})
    with pytest.raises(ContractViolation, match="missing field"):
        contracts.stamped("actas", "acta_sealed", {"acta_id": "a1"})


def test_an_actas_event_that_breaks_its_contract_cannot_be_made() -> None:
    Event("acta_sealed", sealed())
    with pytest.raises(ContractViolation, match=re.escape("acta_sealed.title")):
        Event("acta_sealed", sealed(title=3))


def test_every_contract_is_frozen_and_registered_once_under_its_source_and_type() -> None:
    for (source, event_type), contract in contracts.CONTRACTS.items():
        assert (source, event_type) == (contract.SOURCE, contract.TYPE)
        assert dataclasses.is_dataclass(contract)
        assert contract.__dataclass_params__.frozen  # type: ignore[attr-defined]
        assert contract.VERSION.count(".") == 1
