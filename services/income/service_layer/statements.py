"""The financial statements of a UP: recorded by the adviser one period at a time
(optimistic: a new period with ``expected_revision`` 0, a correction with the
revision it read), read back with their ratios, the ratios' trends and the sales
the UP's follow-up actas offer.

A statement is one document per UP and period, written whole in one conditional
write: nothing is half-written. The loans' balance is read when the statement is
recorded (at the period's end, or today for a period still running) and kept
with it, so a statement reads the same later and its equity stays checked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from crm_platform.clock import Clock
from services.income.domain.money import format_cop
from services.income.domain.statements.period import Period, parse_period
from services.income.domain.statements.sales import ActaSales, acta_sales, offers
from services.income.domain.statements.statement import (
    AMOUNTS,
    Figures,
    Statement,
    StatementInvalid,
    build_statement,
    figures_from,
)
from services.income.domain.statements.trends import RatioTrend, trends
from services.income.service_layer.handlers import StaleVersion, UnitNotFound
from services.income.service_layer.ports import LoanBalances, StatementStore, UnitStore

WHAT = "versión del estado financiero"


@dataclass(frozen=True)
class Recorded:
    statement: Statement
    unit_id: str
    revision: int
    recorded_by: str
    recorded_at: datetime


@dataclass(frozen=True)
class Overview:
    statements: list[Recorded]
    trends: list[RatioTrend]
    offers: list[ActaSales]
    loans_today: Decimal


def _text(value: Decimal) -> str:
    return format(value, "f")


def to_doc(unit_id: str, statement: Statement, rev: int, by: str, at: datetime) -> dict[str, Any]:
    f = statement.figures
    return {
        "_id": f"{unit_id}/{statement.period.key}",
        "unit_id": unit_id,
        "period": statement.period.key,
        "start": datetime(statement.period.start.year, statement.period.start.month, 1, tzinfo=at.tzinfo),
        "span": statement.period.span,
        "figures": {name: _text(getattr(f, name)) for name in AMOUNTS},
        "equity_typed": "" if f.equity is None else _text(f.equity),
        "loan_liabilities": _text(statement.loan_liabilities),
        "loans_as_of": statement.loans_as_of.isoformat() if statement.loans_as_of else "",
        "sales_acta_ids": list(statement.sales_acta_ids),
        "notes": statement.notes,
        "rev": rev,
        "recorded_by": by,
        "recorded_at": at,
    }


def from_doc(doc: Mapping[str, Any]) -> Recorded:
    """A stored statement as it was recorded (its equity was checked then)."""
    typed = doc.get("equity_typed") or ""
    figures = Figures(
        **{name: Decimal(doc["figures"][name]) for name in AMOUNTS}, equity=Decimal(typed) if typed else None
    )
    as_of = doc.get("loans_as_of") or ""
    statement = Statement(
        parse_period(doc["period"]),
        figures,
        Decimal(doc.get("loan_liabilities") or "0"),
        date.fromisoformat(as_of) if as_of else None,
        tuple(doc.get("sales_acta_ids") or ()),
        doc.get("notes") or "",
    )
    return Recorded(statement, doc["unit_id"], int(doc["rev"]), doc.get("recorded_by", ""), doc["recorded_at"])


class StatementHandlers:
    def __init__(self, store: StatementStore, units: UnitStore, loans: LoanBalances, clock: Clock) -> None:
        self.store, self.units, self.loans, self.clock = store, units, loans, clock

    def _unit(self, unit_id: str) -> dict[str, Any]:
        doc = self.units.get(unit_id)
        if doc is None:
            raise UnitNotFound(unit_id)
        return doc

    def loan_balance(self, unit_id: str, on: date) -> Decimal:
        owed = Decimal(self.loans.outstanding(unit_id, on))
        return max(owed, Decimal(0)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)

    def record(
        self,
        unit_id: str,
        period_text: str,
        values: Mapping[str, Any],
        expected_revision: int,
        by: str,
        sales_from_actas: bool = False,
        notes: str = "",
    ) -> Recorded:
        """Records (``expected_revision`` 0) or corrects one period's statement.

        Bad input is ``StatementInvalid`` naming every field at fault (the period,
        each amount, the equity that does not add up, the sales that the actas
        do not support); a period already recorded, when asked to start it, is an
        error naming ``period``; a stale revision is ``Aborted``."""
        period = parse_period(period_text)
        today = self.clock.now().date()
        if period.start > today:
            raise StatementInvalid({"period": f"El periodo {period.key} aún no empieza: no se puede registrar"})
        unit = self._unit(unit_id)
        typed = dict(values)
        problems: dict[str, str] = {}
        acta_ids: tuple[str, ...] = ()
        if sales_from_actas:
            found = acta_sales(unit.get("followups") or [], period)
            problems.update(_acta_problems(period, found, typed.get("sales")))
            if found is not None and not problems:
                typed["sales"], acta_ids = _text(found.amount), found.acta_ids
        try:
            figures = figures_from(typed)
        except StatementInvalid as exc:
            problems = {**exc.fields, **problems}
        if problems:
            raise StatementInvalid(problems)
        as_of = min(period.end, today)
        statement = build_statement(period, figures, self.loan_balance(unit_id, as_of), as_of, acta_ids, notes)
        return self._write(unit_id, statement, expected_revision, by)

    def _write(self, unit_id: str, statement: Statement, expected_revision: int, by: str) -> Recorded:
        now = self.clock.now()
        current = self.store.get(unit_id, statement.period.key)
        if expected_revision == 0:
            if current is not None or not self.store.insert(to_doc(unit_id, statement, 1, by, now)):
                raise _already_recorded(statement.period, current)
            return Recorded(statement, unit_id, 1, by, now)
        current_rev = int(current["rev"]) if current else 0
        if current_rev != expected_revision:
            raise StaleVersion(WHAT, expected_revision, current_rev)
        doc = to_doc(unit_id, statement, expected_revision + 1, by, now)
        if not self.store.replace(doc, expected_revision):
            again = self.store.get(unit_id, statement.period.key)
            raise StaleVersion(WHAT, expected_revision, int(again["rev"]) if again else 0)
        return Recorded(statement, unit_id, expected_revision + 1, by, now)

    def overview(self, unit_id: str) -> Overview:
        """Every recorded period (oldest first), the ratios' trends, the sales the
        follow-up actas offer and what the UP owes on its loans today."""
        unit = self._unit(unit_id)
        recorded = [from_doc(d) for d in self.store.find(unit_id)]
        recorded.sort(key=lambda r: r.statement.period)
        statements = [r.statement for r in recorded]
        today = self.clock.now().date()
        return Overview(
            recorded, trends(statements), offers(unit.get("followups") or []), self.loan_balance(unit_id, today)
        )


def _acta_problems(period: Period, found: ActaSales | None, typed_sales: Any) -> dict[str, str]:
    if found is None:
        return {"sales_from_actas": f"No hay actas de seguimiento selladas de {period.label()}: escriba las ventas"}
    if not found.complete:
        missing = ", ".join(found.missing_months)
        return {"sales_from_actas": f"Faltan actas de seguimiento de {missing}: escriba las ventas del trimestre"}
    typed = str(typed_sales or "").strip()
    if typed:
        try:
            same = Decimal(typed) == found.amount
        except ArithmeticError:
            same = False
        if not same:
            return {
                "sales": f"Las actas del periodo reportan {format_cop(found.amount)} ({found.source()}): "
                "deje esa cifra o quite la marca «de acta» para escribir otra"
            }
    return {}


def _already_recorded(period: Period, current: Mapping[str, Any] | None) -> StatementInvalid:
    revision = f" (revisión {current['rev']})" if current else ""
    return StatementInvalid(
        {"period": f"Ya hay un estado financiero de {period.label()}{revision}: ábralo para corregirlo"}
    )
