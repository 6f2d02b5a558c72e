"""The microcredit use cases on the real SecantusDB: a loan from product to
repayments with its ledger and balances, idempotent and concurrent repayments,
refusals that leave nothing half-written, and the close of business (events once,
a second run and two concurrent runs harmless)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from crm_platform import contracts
from crm_platform import errors as vocabulary
from devstack.infra import Stack
from services.income.adapters.loan_balances import LedgerLoanBalances
from services.income.adapters.loan_store import LoanStore
from services.income.adapters.repository import MongoIncomeStore
from services.income.domain.loans.ledger_state import PostingKind
from services.income.domain.loans.product import Allocation
from services.income.service_layer.loan_close import LoanClose
from services.income.service_layer.loans import LoanHandlers
from tests.unit.fakes import FakeClock
from tests.unit.income_fakes import FakeDirectory, NoRelay

pytestmark = pytest.mark.integration
TODAY = datetime(2024, 5, 6, 15, 0, tzinfo=UTC)  # 10:00 in Bogotá


@pytest.fixture(scope="module")
def mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    stack = Stack(var_dir=Path(tmp_path_factory.mktemp("loans-secantus")))
    try:
        stack.start_mongo()
        yield stack.env["MONGO_URI"]
    finally:
        stack.stop()


class World:
    def __init__(self, uri: str) -> None:
        self.db = f"loans_{uuid.uuid4().hex[:8]}"
        self.units = MongoIncomeStore(uri, self.db)
        self.store = LoanStore(self.units.client, self.db)
        self.clock = FakeClock(TODAY)
        self.h = LoanHandlers(self.store, self.units, FakeDirectory({"ana": "fam-1"}), NoRelay(), self.clock)
        self.cob = LoanClose(self.store, None, self.clock.now)
        self.units.units.insert_one(
            {"_id": "up-1", "name": "Panadería", "family_id": "fam-1", "owner_ids": ["ana"], "community_id": "com-1",
             "sector": "agroindustria", "kind": "emprendimiento"}
        )  # fmt: skip
        values = {"code": "micro6", "name": "Microcrédito 6 meses", "frequency": "mensual", "installments": 6,
                  "annual_rate": "24"}  # fmt: skip
        self.h.create_product(values, {"reminder_days": 3}, "coord")

    def loan(self, principal: str = "1200000", disbursed_on: str = "2024-01-15") -> str:
        doc = self.h.create_loan("up-1", "ana", "micro6", principal, "hornos", "", "gestor1")
        doc = self.h.approve(doc["_id"], doc["rev"], "coord")
        doc = self.h.disburse(doc["_id"], "", disbursed_on, "", doc["rev"], "coord")
        return str(doc["_id"])

    def outbox(self, loan_id: str) -> list[dict[str, Any]]:
        """The loan's events not yet published: in its outbox, and the close's in the
        event batches written with it (``loan_events``), in the order they were made."""
        found = self.store.loans.find_one({"_id": loan_id}, {"outbox": 1})
        own = list((found or {}).get("outbox", []))
        batched = [e for d in self.store.events.find({}) for e in d["outbox"] if e["payload"]["loan_id"] == loan_id]
        return sorted(own + batched, key=lambda e: e["created_at"])

    def close(self) -> None:
        self.units.client.drop_database(self.db)
        self.units.close()


@pytest.fixture
def world(mongo_uri: str) -> Iterator[World]:
    made = World(mongo_uri)
    yield made
    made.close()


def _checked(events: list[dict[str, Any]]) -> list[str]:
    for e in events:
        contracts.check("income", e["type"], e["payload"])
    return [e["type"] for e in events]


def test_a_loan_from_product_to_repayment_keeps_its_ledger_and_balances(world: World) -> None:
    doc = world.h.create_loan("up-1", "ana", "micro6", "1200000", "hornos", "", "gestor1")
    assert doc["status"] == "solicitado"
    with pytest.raises(vocabulary.FailedPrecondition):
        world.h.approve(doc["_id"], doc["rev"], "gestor1")  # four eyes
    doc = world.h.approve(doc["_id"], doc["rev"], "coord")
    doc = world.h.disburse(doc["_id"], "", "2024-01-15", "", doc["rev"], "coord")
    assert doc["status"] == "activo"
    assert len(doc["due"]) == 6 and doc["out"] == 1_200_000
    first = world.h.ledger(doc).state.installments[0]
    installment = first.due[Allocation.PRINCIPAL] + first.due[Allocation.INTEREST]
    doc = world.h.repay(doc["_id"], str(installment), "2024-02-15", "k-1", "gestor1")
    state = world.h.ledger(doc).state
    assert state.outstanding_principal == Decimal(1_200_000) - first.due[Allocation.PRINCIPAL]
    assert doc["out"] == int(state.outstanding_principal)
    assert doc["left"][0] == 0 and doc["left"][1] > 0
    assert [p.kind for p in world.h.ledger(doc).postings] == ["desembolso", "pago"]
    assert _checked(world.outbox(doc["_id"])) == ["loan_disbursed", "loan_repayment_recorded"]
    payload = world.outbox(doc["_id"])[-1]["payload"]
    assert payload["unit_id"] == "up-1" and payload["borrower_id"] == "ana" and payload["family_id"] == "fam-1"


def test_a_retried_repayment_posts_once_and_a_reused_key_with_another_amount_is_refused(world: World) -> None:
    loan_id = world.loan()
    once = world.h.repay(loan_id, "100000", "2024-02-15", "pago-abc", "gestor1")
    again = world.h.repay(loan_id, "100000", "2024-02-15", "pago-abc", "gestor1")
    assert again["rev"] == once["rev"]
    assert len(world.h.ledger(again).postings) == 2
    with pytest.raises(vocabulary.InvalidArgument) as refused:
        world.h.repay(loan_id, "90000", "2024-02-15", "pago-abc", "gestor1")
    assert "idempotency_key" in refused.value.fields


def test_concurrent_repayments_are_all_posted_once(world: World) -> None:
    loan_id = world.loan()
    errors: list[BaseException] = []

    def pay(n: int) -> None:
        try:
            world.h.repay(loan_id, "50000", "2024-02-15", f"k-{n}", "gestor1")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=pay, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    doc = world.h.loan(loan_id)
    postings = world.h.ledger(doc).postings
    assert [p.kind for p in postings].count(PostingKind.REPAYMENT) == 4
    assert sorted(doc["keys"]) == ["k-0", "k-1", "k-2", "k-3"]
    assert sum(1 for e in world.outbox(loan_id) if e["type"] == "loan_repayment_recorded") == 4


def test_overpayment_is_refused_and_a_closed_loan_takes_no_repayment(world: World) -> None:
    loan_id = world.loan()
    owed = world.h.ledger(world.h.loan(loan_id)).state.total_outstanding
    before = world.h.loan(loan_id)
    with pytest.raises(vocabulary.InvalidArgument) as refused:
        world.h.repay(loan_id, str(owed + 1), "2024-02-15", "", "gestor1")
    assert "amount" in refused.value.fields
    assert world.h.loan(loan_id)["rev"] == before["rev"]  # nothing half-posted
    done = world.h.repay(loan_id, str(owed), "2024-02-15", "", "gestor1")
    assert done["status"] == "cerrado" and done["out"] == 0
    with pytest.raises(vocabulary.FailedPrecondition):
        world.h.repay(loan_id, "1000", "2024-02-16", "", "gestor1")


def test_bad_input_names_the_field(world: World) -> None:
    loan_id = world.loan()
    for amount in ("0", "-5", "abc", "10.5"):
        with pytest.raises(vocabulary.InvalidArgument) as refused:
            world.h.repay(loan_id, amount, "2024-02-15", "", "gestor1")
        assert "amount" in refused.value.fields
    with pytest.raises(vocabulary.InvalidArgument) as future:
        world.h.repay(loan_id, "1000", "2030-01-01", "", "gestor1")
    assert "on" in future.value.fields
    with pytest.raises(vocabulary.InvalidArgument) as stranger:
        world.h.create_loan("up-1", "pedro", "micro6", "100000", "", "", "gestor1")
    assert "borrower_id" in stranger.value.fields


def test_close_of_business_emits_each_change_once_and_a_second_run_changes_nothing(world: World) -> None:
    late = world.loan(disbursed_on="2024-01-15")  # first due 2024-02-15, unpaid
    current = world.loan(disbursed_on="2024-04-10")  # first due 2024-05-10: reminder on 05-07
    day = date(2024, 3, 1)  # 15 days past 02-15
    first = world.cob.close(day)
    assert (first.became_overdue, first.bucket_changes) == (1, 1)
    assert _checked(world.outbox(late)) == ["loan_disbursed", "loan_became_overdue", "loan_bucket_changed"]
    assert world.h.loan(late)["bucket"] == "1-30"
    assert world.store.events.count_documents({}) == 1  # the batch's events, written with its loans
    second = world.cob.close(day)
    assert (second.loans_changed, second.became_overdue, second.bucket_changes) == (0, 0, 0)
    assert len(world.outbox(late)) == 3
    reminder = world.cob.close(date(2024, 5, 7))
    assert reminder.reminders >= 1
    kinds = _checked(world.outbox(current))
    assert kinds.count("loan_repayment_due") == 1
    assert world.cob.close(date(2024, 5, 7)).loans_changed == 0
    moved = _checked(world.outbox(late))
    assert moved[-1] == "loan_bucket_changed"
    assert world.outbox(late)[-1]["payload"]["to_bucket"] == "61-90"
    snapshot = world.store.closing("2024-03-01")
    assert snapshot is not None and snapshot["totals"]["loans"] == 2


def test_two_concurrent_closes_emit_once(world: World) -> None:
    loan_id = world.loan(disbursed_on="2024-01-15")
    day = date(2024, 3, 1)
    done: list[Any] = []
    threads = [threading.Thread(target=lambda: done.append(world.cob.close(day))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    kinds = [e["type"] for e in world.outbox(loan_id)]
    assert kinds.count("loan_became_overdue") == 1 and kinds.count("loan_bucket_changed") == 1
    assert sum(d.became_overdue for d in done) == 1


def test_a_posting_dated_in_a_closed_day_is_refused(world: World) -> None:
    loan_id = world.loan(disbursed_on="2024-01-15")
    world.cob.close(date(2024, 3, 1))
    with pytest.raises(vocabulary.InvalidArgument) as refused:
        world.h.repay(loan_id, "1000", "2024-03-01", "", "gestor1")
    assert "on" in refused.value.fields
    world.clock.advance(timedelta(days=0))
    assert world.h.repay(loan_id, "1000", "2024-03-02", "", "gestor1")["status"] == "activo"

    # A loan registered after that close (a legacy loan loaded from paper) was in no
    # close's report: it may still be disbursed and repaid on earlier days...
    world.clock.advance(timedelta(minutes=5))
    legacy = world.loan(disbursed_on="2024-02-01")
    assert world.h.repay(legacy, "1000", "2024-02-20", "", "gestor1")["status"] == "activo"
    # ...until a close runs after it: then its days are shut as well.
    world.clock.advance(timedelta(minutes=5))
    world.cob.close(date(2024, 3, 2))
    with pytest.raises(vocabulary.InvalidArgument) as shut:
        world.h.repay(legacy, "1000", "2024-03-02", "", "gestor1")
    assert "on" in shut.value.fields


def test_a_unit_owes_the_principal_its_loans_still_owe_at_the_end_of_a_day(world: World) -> None:
    balances = LedgerLoanBalances(world.store)
    loan_id = world.loan(principal="1200000", disbursed_on="2024-01-15")
    assert balances.outstanding("up-1", date(2024, 1, 14)) == 0  # before the disbursement
    assert balances.outstanding("up-1", date(2024, 1, 15)) == Decimal(1_200_000)
    doc = world.h.repay(loan_id, "300000", "2024-02-15", "", "gestor1")
    after = world.h.ledger(doc).state.outstanding_principal
    assert after < Decimal(1_200_000)
    assert balances.outstanding("up-1", date(2024, 2, 14)) == Decimal(1_200_000)
    assert balances.outstanding("up-1", date(2024, 2, 15)) == after
