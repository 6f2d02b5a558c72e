"""A UP's financial statements on the real document store: a period is inserted
once (the second insert of the same period is refused by the store, whoever
races), a correction is written only on the revision read, and concurrent
corrections on one revision let exactly one through; the statements come back
oldest period first, a month before the quarter it closes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from crm_platform import errors as vocabulary
from devstack.infra import Stack
from services.income.adapters.loan_balances import NoLoanBalances
from services.income.adapters.repository import MongoIncomeStore
from services.income.adapters.statement_store import MongoStatementStore
from services.income.service_layer.statements import StatementHandlers
from tests.unit.income_fakes import StepClock
from tests.unit.test_income_statements import typed


@pytest.fixture
def handlers(stack: Stack) -> Iterator[tuple[StatementHandlers, MongoStatementStore]]:
    units = MongoIncomeStore(stack.env["MONGO_URI"], f"income_test_{uuid.uuid4().hex[:8]}")
    units.insert({"_id": "up-1", "name": "Panadería", "stage": "diagnostico", "followups": [], "rev": 1}, [])
    store = MongoStatementStore(units.units.database["statements"])
    yield StatementHandlers(store, units, NoLoanBalances(), StepClock()), store
    units.client.drop_database(units.units.database.name)
    units.close()


def test_a_period_is_inserted_once_and_corrected_only_on_the_revision_read(
    handlers: tuple[StatementHandlers, MongoStatementStore],
) -> None:
    h, store = handlers
    h.record("up-1", "2026-10", typed(), 0, "gestor-1")
    h.record("up-1", "2026-T3", typed(), 0, "gestor-1")
    h.record("up-1", "2026-09", typed(), 0, "gestor-1")
    doc = store.get("up-1", "2026-10")
    assert doc is not None and not store.insert(doc)  # the store itself refuses the same period
    with pytest.raises(vocabulary.InvalidArgument) as twice:
        h.record("up-1", "2026-10", typed(), 0, "gestor-2")
    assert "period" in twice.value.fields
    assert not store.replace({**doc, "rev": 5}, 4)
    corrected = h.record("up-1", "2026-10", typed(sales="20000000"), 1, "coordinador-1")
    assert corrected.revision == 2
    with pytest.raises(vocabulary.Aborted):
        h.record("up-1", "2026-10", typed(), 1, "gestor-2")
    found = h.overview("up-1")
    assert [(r.statement.period.key, r.revision) for r in found.statements] == [
        ("2026-09", 1),
        ("2026-T3", 1),
        ("2026-10", 2),
    ]
    assert found.statements[2].statement.figures.sales == Decimal(20_000_000)


def test_concurrent_corrections_on_one_revision_let_exactly_one_through(
    handlers: tuple[StatementHandlers, MongoStatementStore],
) -> None:
    h, store = handlers
    h.record("up-1", "2026-10", typed(), 0, "gestor-1")

    def correct(n: int) -> str:
        try:
            h.record("up-1", "2026-10", typed(sales=str(1_000_000 + n)), 1, f"gestor-{n}")
        except vocabulary.Aborted:
            return "stale"
        return "written"

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(correct, range(6)))
    assert outcomes.count("written") == 1 and outcomes.count("stale") == 5
    doc = store.get("up-1", "2026-10")
    assert doc is not None and doc["rev"] == 2
    winner = outcomes.index("written")
    assert (doc["figures"]["sales"], doc["recorded_by"]) == (str(1_000_000 + winner), f"gestor-{winner}")
