"""Valid Fluye plan parts and financial models for the income unit tests; each
builder takes overrides so a test changes only what it is about."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from services.income.domain.finance import FinancialModel
from services.income.domain.fluye import (
    BusinessModelCanvas,
    CompetitionExploration,
    Competitor,
    CustomerArchetype,
    Path,
    ProfileCurve,
    ProfileFactor,
    ProposalCurve,
)
from services.income.domain.plan import PlanContent

AT = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def month(units: Any = 100, price: Any = 12000, variable_cost: Any = 7000, fixed_costs: Any = 250000) -> dict[str, Any]:
    return {"units": units, "price": price, "variable_cost": variable_cost, "fixed_costs": fixed_costs}


def model_data(**overrides: Any) -> dict[str, Any]:
    """A bakery: 3.000.000 invested (1.000.000 own, 2.000.000 seed), 24 months of
    100 units a month at 12.000 with a variable cost of 7.000 and 250.000 fixed."""
    data: dict[str, Any] = {
        "investment": "3000000",
        "funding": {"own_funds": "1000000", "seed_capital": "2000000", "microcredit": "0"},
        "months": [month() for _ in range(24)],
        "annual_discount_rate": "0.12",
    }
    data.update(overrides)
    return data


def model(**overrides: Any) -> FinancialModel:
    return FinancialModel.parse(model_data(**overrides))


def profile() -> ProfileCurve:
    return ProfileCurve(
        (
            ProfileFactor("Conocimiento del oficio", 8, 9),
            ProfileFactor("Manejo de cuentas", 3, 7),
            ProfileFactor("Red de clientes", 4, 8),
        )
    )


def canvas(**overrides: Any) -> BusinessModelCanvas:
    blocks: dict[str, Any] = {
        "customer_segments": ("Familias del barrio",),
        "value_propositions": ("Pan fresco a las 6 a. m.",),
        "channels": ("Venta en la puerta", "Pedidos por WhatsApp"),
        "customer_relationships": ("Trato personal",),
        "revenue_streams": ("Venta de pan",),
        "key_resources": ("Horno",),
        "key_activities": ("Hornear", "Repartir"),
        "key_partnerships": ("Proveedor de harina",),
        "cost_structure": ("Harina", "Gas"),
    }
    blocks.update(overrides)
    return BusinessModelCanvas(**blocks)


def archetype() -> CustomerArchetype:
    return CustomerArchetype(
        "Madre cabeza de hogar que trabaja temprano",
        functional_jobs=("Desayuno rápido para sus hijos",),
        emotional_jobs=("Sentir que alimenta bien a su familia",),
        pains=("La panadería del centro queda lejos",),
        gains=("Pan caliente sin salir del barrio",),
    )


def exploration(**overrides: Any) -> CompetitionExploration:
    values: dict[str, Any] = {
        "paths": {path: f"Hallazgo sobre {path.value}" for path in Path},
        "eliminate": ("Empaques costosos",),
        "reduce": (),
        "raise_": ("Frescura",),
        "create": ("Domicilio al amanecer",),
    }
    values.update(overrides)
    return CompetitionExploration(**values)


def proposal() -> ProposalCurve:
    return ProposalCurve(
        factors=("Precio", "Frescura", "Cercanía"),
        proposal=(6, 9, 10),
        competitors=(Competitor("Panadería del centro", (7, 6, 3)), Competitor("Tienda de barrio", (8, 4, 9))),
    )


def content(**overrides: Any) -> PlanContent:
    parts: dict[str, Any] = {
        "profile": profile(),
        "canvas": canvas(),
        "archetype": archetype(),
        "exploration": exploration(),
        "proposal": proposal(),
        "finance": model(),
    }
    parts.update(overrides)
    return PlanContent(**parts)


def as_decimal(value: Any) -> Decimal:
    return Decimal(str(value))
