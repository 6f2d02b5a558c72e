"""Chart data of a Fluye plan as plain tables: the two value curves and the monthly
cash flow. Each ``ChartRows`` has the fields of the web app's ``charts.Table``
(title, columns as (key, Spanish header), rows), so the gateway builds one with
``charts.Table(**asdict(rows))`` without the domain importing the gateway.
Money is in whole pesos (int) and scores are ints: chart specs are JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.income.domain.finance_math import Analysis
from services.income.domain.fluye import ProfileCurve, ProposalCurve
from services.income.domain.money import whole_pesos

PROPOSAL = "Propuesta"


@dataclass(frozen=True)
class ChartRows:
    title: str
    columns: tuple[tuple[str, str], ...]
    rows: tuple[dict[str, Any], ...]


CURVE_COLUMNS = (("factor", "Factor"), ("curve", "Curva"), ("score", "Puntaje (0 a 10)"))


def profile_curve(curve: ProfileCurve) -> ChartRows:
    """The entrepreneur's profile today and its target, one row per factor and curve
    (long form: a line chart draws one line per ``curve``)."""
    rows: list[dict[str, Any]] = []
    for factor in curve.factors:
        rows.append({"factor": factor.name, "curve": "Actual", "score": factor.score})
        rows.append({"factor": factor.name, "curve": "Objetivo", "score": factor.target})
    return ChartRows("Curva de valor del perfil del emprendedor", CURVE_COLUMNS, tuple(rows))


def proposal_curve(curve: ProposalCurve) -> ChartRows:
    """The proposal and each competitor over the same factors (long form)."""
    rows: list[dict[str, Any]] = []
    curves = [(PROPOSAL, curve.proposal), *((c.name, c.scores) for c in curve.competitors)]
    for position, factor in enumerate(curve.factors):
        for name, scores in curves:
            rows.append({"factor": factor, "curve": name, "score": scores[position]})
    return ChartRows("Curva de valor de la propuesta frente a la competencia", CURVE_COLUMNS, tuple(rows))


def cash_flow(analysis: Analysis) -> ChartRows:
    """Month by month: the cash flow (month 0 is the investment) and its running total."""
    rows = tuple(
        {"month": month, "flow": int(whole_pesos(flow)), "cumulative": int(whole_pesos(total))}
        for month, (flow, total) in enumerate(zip(analysis.flows, analysis.cumulative, strict=True))
    )
    columns = (("month", "Mes"), ("flow", "Flujo de caja (COP)"), ("cumulative", "Flujo acumulado (COP)"))
    return ChartRows("Flujo de caja mensual", columns, rows)
