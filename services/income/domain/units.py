"""Rules of a productive unit (UP) that need no store: what a registration must
say, the sector catalogue (a data file), the kinds, and a closing reason."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path

from crm_platform import errors as vocabulary

KINDS = {"emprendimiento": "Emprendimiento", "fortalecimiento": "Fortalecimiento"}
MAX_NAME = 120
MAX_OWNERS = 10
MAX_REASON = 1000
SECTORS_FILE = Path(__file__).resolve().parent.parent / "data" / "sectors.json"


class UnitInvalid(vocabulary.InvalidArgument):
    """A registration or change that breaks a rule; ``fields`` names each bad field."""


@cache
def sectors(path: Path = SECTORS_FILE) -> Mapping[str, str]:
    """The sector catalogue: code -> Spanish label."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in data.items()}


@dataclass(frozen=True)
class Registration:
    name: str
    family_id: str
    owner_ids: tuple[str, ...]
    community_id: str
    sector: str
    kind: str


def registration(
    name: str, family_id: str, owner_ids: Sequence[str], community_id: str, sector: str, kind: str
) -> Registration:
    """The checked registration; every problem at once, by field."""
    problems: dict[str, str] = {}
    name = name.strip()
    if not name:
        problems["name"] = "Escriba el nombre de la unidad productiva"
    elif len(name) > MAX_NAME:
        problems["name"] = f"El nombre admite hasta {MAX_NAME} caracteres"
    if not family_id.strip():
        problems["family_id"] = "Indique el hogar de la unidad productiva"
    if not community_id.strip():
        problems["community_id"] = "Indique la comunidad"
    owners = tuple(dict.fromkeys(o.strip() for o in owner_ids if o.strip()))
    if not owners:
        problems["owner_ids"] = "Indique al menos un titular"
    elif len(owners) > MAX_OWNERS:
        problems["owner_ids"] = f"Una unidad productiva admite hasta {MAX_OWNERS} titulares"
    if sector not in sectors():
        problems["sector"] = "Sector desconocido: elija uno del catálogo"
    if kind not in KINDS:
        problems["kind"] = "El tipo debe ser «emprendimiento» o «fortalecimiento»"
    if problems:
        raise UnitInvalid(problems)
    return Registration(name, family_id.strip(), owners, community_id.strip(), sector, kind)


def check_owners(reg: Registration, families: Mapping[str, str | None]) -> None:
    """Every owner exists (``families``: owner id -> their household, absent when
    unknown) and belongs to the UP's household."""
    unknown = [o for o in reg.owner_ids if o not in families]
    if unknown:
        raise UnitInvalid({"owner_ids": f"Persona no registrada: {', '.join(unknown)}"})
    elsewhere = [o for o in reg.owner_ids if families[o] != reg.family_id]
    if elsewhere:
        raise UnitInvalid({"owner_ids": f"No pertenece al hogar de la unidad productiva: {', '.join(elsewhere)}"})


def closing_reason(reason: str) -> str:
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        raise UnitInvalid({"reason": f"El motivo admite hasta {MAX_REASON} caracteres"})
    return reason


MAX_NOTES = 4000
MAX_CAPITALIZATION = Decimal("10000000000")  # COP; far above any seed-capital grant


def diagnosis_notes(notes: str) -> str:
    notes = notes.strip()
    if len(notes) > MAX_NOTES:
        raise UnitInvalid({"notes": f"Las observaciones admiten hasta {MAX_NOTES} caracteres"})
    return notes


def capitalization_amount(text: str) -> Decimal:
    """A capitalisation amount in whole COP (``"2500000"``), positive."""
    try:
        value = Decimal(str(text).strip().replace(" ", ""))
    except InvalidOperation:
        raise UnitInvalid({"amount": "Escriba el monto en pesos, solo con dígitos (por ejemplo 2500000)"}) from None
    if not value.is_finite() or value != value.to_integral_value() or not 0 < value <= MAX_CAPITALIZATION:
        raise UnitInvalid({"amount": "El monto debe ser un número entero de pesos mayor que cero"})
    return value
