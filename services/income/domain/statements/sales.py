"""The sales a period's sealed follow-up actas report, offered to the adviser.

A ``seguimiento_unidad_productiva`` acta reports the sales of the month of its
visit (``ventas_mes``): a follow-up visited on 2026-11-21 evidences November's
sales. When a month has several follow-ups, the latest visit counts. A quarter's
sales are its three months' sales, offered only when every month has a follow-up
(``missing_months`` says which lack one)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from services.income.domain.statements.period import Period, PeriodInvalid, parse_period, quarter_of

_MONTH = re.compile(r"^\d{4}-\d{2}")


@dataclass(frozen=True)
class ActaSales:
    period: Period
    amount: Decimal  # of the months that have a follow-up
    acta_ids: tuple[str, ...]
    missing_months: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.missing_months

    def source(self) -> str:
        """How a page marks the figure: ``de acta <id>`` (or ``de actas <id>, <id>``)."""
        noun = "acta" if len(self.acta_ids) == 1 else "actas"
        return f"de {noun} {', '.join(self.acta_ids)}"


def _by_month(followups: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """The latest follow-up of each month (by visit date, then by arrival)."""
    found: dict[str, tuple[str, int, Mapping[str, Any]]] = {}
    for position, followup in enumerate(followups):
        visited = str(followup.get("visited_at") or "")
        if not _MONTH.match(visited):
            continue
        month = visited[:7]
        rank = (visited, position)
        if month not in found or rank >= found[month][:2]:
            found[month] = (visited, position, followup)
    return {month: entry[2] for month, entry in found.items()}


def _amount(followup: Mapping[str, Any]) -> Decimal:
    try:
        value = Decimal(str(followup.get("monthly_sales") or "0"))
    except InvalidOperation:
        return Decimal(0)
    return value if value.is_finite() and value >= 0 else Decimal(0)


def acta_sales(followups: Sequence[Mapping[str, Any]], period: Period) -> ActaSales | None:
    """What the follow-ups say of ``period``'s sales; None when none of its months has one."""
    months = _by_month(followups)
    found = [(m, months[m]) for m in period.months() if m in months]
    if not found:
        return None
    return ActaSales(
        period,
        sum((_amount(f) for _, f in found), Decimal(0)),
        tuple(str(f["acta_id"]) for _, f in found),
        tuple(m for m in period.months() if m not in months),
    )


def offers(followups: Sequence[Mapping[str, Any]]) -> list[ActaSales]:
    """Every month with a follow-up, newest first, then every quarter holding one, newest first."""
    months = sorted(_by_month(followups), reverse=True)
    periods: list[Period] = []
    for month in months:
        try:
            periods.append(parse_period(month))
        except PeriodInvalid:
            continue  # a visit date no calendar has (2026-13-01): nothing to offer
        quarter = quarter_of(month)
        if quarter not in periods:
            periods.append(quarter)
    found = [acta_sales(followups, p) for p in periods]
    return sorted((o for o in found if o is not None), key=lambda o: (o.period.span, -o.period.start.toordinal()))
