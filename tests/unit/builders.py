"""Commands and actors that the use-case tests share; each helper goes through the
handlers, so the state it builds is the state the service itself would store."""

from __future__ import annotations

from typing import Any

from services.beneficiaries.domain.model import (
    Actor,
    Beneficiary,
    Community,
    Family,
    RegisterBeneficiary,
    RegisterCommunity,
    RegisterFamily,
)

from .fakes import Harness

GESTORA = Actor("gestora.ana", "gestor")
KIOSK = Actor("kiosk-07", "kiosk")
TEMPLATE = bytes(range(256)) * 2  # one ZhianTec template: two 256-byte buffers


def registration(**overrides: Any) -> RegisterBeneficiary:
    fields: dict[str, Any] = {
        "id_type": "CC",
        "id_number": "1023456789",
        "first_names": "José",
        "last_names": "Peña",
        "birth_date": "1985-03-14",
        "sex": "male",
    }
    fields.update(overrides)
    return RegisterBeneficiary(**fields)


def a_community(h: Harness, name: str = "Villa Nueva") -> Community:
    return h.handlers.register_community(RegisterCommunity(name, "Tumaco", "Nariño"), GESTORA)


def a_family(h: Harness, community: Community, name: str = "Hogar Peña") -> Family:
    return h.handlers.register_family(RegisterFamily(community.id, name), GESTORA)


def a_person(h: Harness, id_number: str, **overrides: Any) -> Beneficiary:
    return h.handlers.register_beneficiary(registration(id_number=id_number, **overrides), GESTORA)
