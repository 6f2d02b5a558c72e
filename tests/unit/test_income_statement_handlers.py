"""The statements' use cases over in-memory ports: a period recorded, read back
with its ratios and the loans' balance at the period's end, corrected with the
revision read (stale: Aborted), a period recorded twice refused naming the
period, sales taken from the follow-up actas (marked with their ids), and
nothing written when anything is refused."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from crm_platform import errors as vocabulary
from services.income.adapters.loan_balances import NoLoanBalances
from services.income.domain.statements.statement import StatementInvalid
from services.income.service_layer.statements import StatementHandlers
from tests.unit.income_fakes import FakeUnits, StepClock
from tests.unit.test_income_statements import typed

D = Decimal


class FakeStatements:
    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.writes = 0

    def get(self, unit_id: str, period: str) -> dict[str, Any] | None:
        found = self.docs.get(f"{unit_id}/{period}")
        return copy.deepcopy(found)

    def insert(self, doc: Mapping[str, Any]) -> bool:
        if doc["_id"] in self.docs:
            return False
        self.docs[doc["_id"]] = copy.deepcopy(dict(doc))
        self.writes += 1
        return True

    def replace(self, doc: Mapping[str, Any], expected_rev: int) -> bool:
        if self.docs.get(doc["_id"], {}).get("rev") != expected_rev:
            return False
        self.docs[doc["_id"]] = copy.deepcopy(dict(doc))
        self.writes += 1
        return True

    def find(self, unit_id: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(d) for d in self.docs.values() if d["unit_id"] == unit_id]


class Loans:
    """Owes 800,000 until 2026-10-31 and 500,000 after (a repayment on 1 November)."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, date]] = []

    def outstanding(self, unit_id: str, on: date) -> Decimal:
        self.asked.append((unit_id, on))
        return D(800_000) if on <= date(2026, 10, 31) else D(500_000)


FOLLOWUPS = [
    {"acta_id": "acta-oct", "visited_at": "2026-10-12", "monthly_sales": "900000"},
    {"acta_id": "acta-nov", "visited_at": "2026-11-18", "monthly_sales": "1250000"},
]


def setup(loans: Any = None) -> tuple[StatementHandlers, FakeStatements, Any]:
    units, store = FakeUnits(), FakeStatements()
    units.docs["up-1"] = {"_id": "up-1", "name": "Panadería", "followups": FOLLOWUPS, "rev": 1, "outbox": []}
    loans = loans or Loans()
    return StatementHandlers(store, units, loans, StepClock()), store, loans  # the clock reads 2026-11-20


def test_a_period_is_recorded_and_read_back_with_its_ratios_and_the_loans_at_its_end() -> None:
    h, store, loans = setup()
    recorded = h.record("up-1", "2026-10", typed(equity="6200000"), 0, "gestor-1", notes=" Cierre de octubre ")
    s = recorded.statement
    assert (recorded.revision, recorded.recorded_by, s.notes) == (1, "gestor-1", "Cierre de octubre")
    # October ended before today: the loans' balance on 31 October, 800,000, as a current liability.
    assert (s.loan_liabilities, s.loans_as_of) == (D(800_000), date(2026, 10, 31))
    assert (s.total_liabilities, s.equity, s.ratios.current_ratio) == (D(3_800_000), D(6_200_000), D("1.6667"))
    assert loans.asked[0] == ("up-1", date(2026, 10, 31))

    running = h.record("up-1", "2026-11", typed(), 0, "gestor-1").statement  # November runs until today
    assert (running.loan_liabilities, running.loans_as_of) == (D(500_000), date(2026, 11, 20))

    found = h.overview("up-1")
    assert [(r.statement.period.key, r.revision) for r in found.statements] == [("2026-10", 1), ("2026-11", 1)]
    assert found.statements[0].statement == s  # read back as recorded
    assert found.statements[0].statement.figures.equity == D(6_200_000)
    assert [t.ratio for t in found.trends] == ["gross_margin", "net_margin", "current_ratio", "debt_ratio"]
    assert [p.direction for p in found.trends[2].points] == ["", "sube"]  # fewer loans: more liquid
    assert [(o.period.key, o.amount) for o in found.offers][:2] == [("2026-11", D(1_250_000)), ("2026-10", D(900_000))]
    assert found.loans_today == D(500_000)
    assert store.writes == 2


def test_a_correction_needs_the_revision_read_and_a_period_is_not_started_twice() -> None:
    h, store, _ = setup()
    h.record("up-1", "2026-10", typed(), 0, "gestor-1")
    with pytest.raises(StatementInvalid) as twice:
        h.record("up-1", "2026-10", typed(sales="1"), 0, "gestor-2")
    assert "Ya hay un estado financiero de octubre de 2026 (revisión 1)" in twice.value.fields["period"]
    corrected = h.record("up-1", "2026-10", typed(sales="12000000"), 1, "coordinador-1")
    assert (corrected.revision, corrected.statement.figures.sales) == (2, D(12_000_000))
    with pytest.raises(vocabulary.Aborted) as stale:
        h.record("up-1", "2026-10", typed(sales="1"), 1, "gestor-2")
    assert stale.value.fields == {"expected_version": "actual: 2"}
    with pytest.raises(vocabulary.Aborted):
        h.record("up-1", "2026-09", typed(), 3, "gestor-2")  # a correction of what does not exist
    assert store.writes == 2
    assert h.overview("up-1").statements[0].statement.figures.sales == D(12_000_000)


def test_bad_input_names_each_field_and_writes_nothing() -> None:
    h, store, _ = setup()
    with pytest.raises(StatementInvalid) as future:
        h.record("up-1", "2026-12", typed(), 0, "gestor-1")
    assert "aún no empieza" in future.value.fields["period"]
    with pytest.raises(vocabulary.InvalidArgument) as bad_period:
        h.record("up-1", "2026/10", typed(), 0, "gestor-1")
    assert list(bad_period.value.fields) == ["period"]
    with pytest.raises(StatementInvalid) as negative:
        h.record("up-1", "2026-10", typed(cost_of_sales="-5", equity="1"), 0, "gestor-1")
    assert list(negative.value.fields) == ["cost_of_sales"]  # the equity is checked once the amounts are right
    with pytest.raises(StatementInvalid) as equity:
        h.record("up-1", "2026-10", typed(equity="7000000"), 0, "gestor-1")
    assert "de créditos" in equity.value.fields["equity"]
    with pytest.raises(vocabulary.NotFound):
        h.record("no-existe", "2026-10", typed(), 0, "gestor-1")
    with pytest.raises(vocabulary.NotFound):
        h.overview("no-existe")
    assert store.writes == 0


def test_the_sales_of_a_period_come_from_its_followup_actas_when_asked() -> None:
    h, store, _ = setup(NoLoanBalances())
    taken = h.record("up-1", "2026-11", typed(sales=""), 0, "gestor-1", sales_from_actas=True).statement
    assert (taken.figures.sales, taken.sales_acta_ids, taken.sales_source) == (D(1_250_000), ("acta-nov",), "acta")
    assert taken.loan_liabilities == 0  # the default adapter: no loans yet
    same = h.record("up-1", "2026-10", typed(sales="900000"), 0, "gestor-1", sales_from_actas=True).statement
    assert same.sales_acta_ids == ("acta-oct",)
    with pytest.raises(StatementInvalid) as differs:
        h.record("up-1", "2026-09", typed(sales="5"), 0, "gestor-1", sales_from_actas=True)
    assert "No hay actas de seguimiento selladas de septiembre de 2026" in differs.value.fields["sales_from_actas"]
    with pytest.raises(StatementInvalid) as partial:
        h.record("up-1", "2026-T4", typed(sales="", cost_of_sales="-1"), 0, "gestor-1", sales_from_actas=True)
    assert "2026-12" in partial.value.fields["sales_from_actas"] and "cost_of_sales" in partial.value.fields
    assert "escriba el monto" in partial.value.fields["sales"]  # without the actas the sales must be typed
    with pytest.raises(StatementInvalid) as changed:
        h.record("up-1", "2026-T3", typed(), 0, "gestor-1", sales_from_actas=True)
    assert "sales_from_actas" in changed.value.fields
    assert store.writes == 2


def test_a_typed_sales_figure_that_the_actas_do_not_support_is_named() -> None:
    h, store, _ = setup()
    with pytest.raises(StatementInvalid) as caught:
        h.record("up-1", "2026-11", typed(sales="1300000"), 0, "gestor-1", sales_from_actas=True)
    assert "reportan $ 1.250.000 (de acta acta-nov)" in caught.value.fields["sales"]
    assert store.writes == 0
