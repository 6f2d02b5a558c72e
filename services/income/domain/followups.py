"""A follow-up (seguimiento) of a productive unit from a sealed
``seguimiento_unidad_productiva`` acta of version 2, which names the UP, whether
it operates, the last month's sales, the jobs it gives and the problems found.
Version 1 actas do not name their UP and are not attached."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

FOLLOWUP_TEMPLATE = "seguimiento_unidad_productiva"  # the acta template's code


class _Acta(Protocol):
    @property
    def acta_id(self) -> str: ...

    @property
    def values(self) -> Any: ...

    @property
    def gestor_id(self) -> str: ...

    @property
    def sealed_at(self) -> str: ...


def read_followup(acta: _Acta) -> dict[str, Any] | None:
    """The follow-up's structured values, or None when the acta names no UP."""
    values = acta.values
    unit_id = str(values.get("unidad_productiva") or "").strip()
    if not unit_id:
        return None
    try:
        sales = Decimal(str(values.get("ventas_mes") or 0))
    except InvalidOperation:
        sales = Decimal(0)
    jobs = values.get("empleos") or 0
    return {
        "unit_id": unit_id,
        "acta_id": acta.acta_id,
        "visited_at": str(values.get("fecha") or acta.sealed_at),
        "operating": values.get("opera") == "si",
        "monthly_sales": format(sales.normalize(), "f") if sales else "0",
        "jobs": int(jobs) if isinstance(jobs, int | float) else 0,
        "problems": str(values.get("problemas") or ""),
        "gestor_id": acta.gestor_id,
    }
