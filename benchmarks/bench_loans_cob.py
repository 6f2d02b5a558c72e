"""The loans' close of business (COB) over a whole portfolio: 100,000 active loans
with 12 monthly installments each (1.2 million installments), on SecantusDB.

Seeds ``--loans`` loans straight into the income service's ``loans`` collection in
the service's own stored format: each loan's ledger is built by the loan domain
(disbursement, then the repayments of a payment habit: on time, 1-2, 3-4 or 5+
installments behind), one ledger per (disbursement day, habit) pair, and copied
under each loan's own id, community (50), adviser (40), sector (4) and owner's sex.
Loans were disbursed over the 330 days before the day closed, so every one is
active with installments still to pay. Then, in the same run, with
``LoanClose`` (the code ``crm-income`` runs, in this process), its outbox flush
replaced by ``Drain`` (what the relay does to the store, without the broker):

1. the first close (the day before): every late loan gets its bucket and the
   reminders start (informational: a portfolio closed for the first time);
2. **the daily close** of the next day: ageing of every loan, PAR and the other
   indicators in total and by four dimensions, writes of the loans that changed
   (bucket changes, reminders due), the snapshot. Target: at most 60 s;
3. the same day again (idempotent: nothing written);
4. the portfolio indicators grouped by community (``PortfolioIndicators``' work);

beside two raw baselines on the same data in the same run: the aggregation of
PAR30 by community from the stored summary (``$group`` with ``$cond``, no writes),
and a raw ``find`` of the same projection the close reads.

    python -m benchmarks.bench_loans_cob [--loans 100000] [--quick]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from benchmarks._common import Row, print_rows, sigterm_unwinds
from devstack.infra import Stack
from services.income.adapters.loan_store import SUMMARY, LoanStore, pack
from services.income.domain.loans.ledger import Loan
from services.income.domain.loans.product import parse_product
from services.income.service_layer.loan_close import LoanClose
from services.income.service_layer.loan_codec import book_json, product_doc, summary

NAME = "loans close of business"
TARGET_SECONDS = 60.0
INSTALLMENTS = 12
SECTORS = ("agroindustria", "comercio", "servicios", "artesanias")
HABITS = (0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 5)  # installments behind: mostly on time
PRODUCT = {"code": "micro12", "name": "Microcrédito 12 meses", "frequency": "mensual",
           "installments": INSTALLMENTS, "annual_rate": "30", "installment_multiple": 100}  # fmt: skip


def _template(day: date, disbursed: date, behind: int) -> dict[str, Any]:
    """The stored fields of a loan disbursed on ``disbursed`` that is ``behind``
    installments behind on ``day`` (built by the domain's ledger)."""
    product = parse_product(PRODUCT)
    loan = Loan("t", product, Decimal(1_200_000)).disburse(Decimal(1_200_000), disbursed, by="asesor")
    due = [i for i in loan.state.installments if i.due_date < day]
    for row in due[: max(0, len(due) - behind)]:
        loan = loan.repay(row.total_outstanding, row.due_date, by="asesor")
    doc = {"book": book_json(loan, {}), **summary(loan.state)}
    return doc


def seed(store: LoanStore, count: int, day: date, rng: random.Random) -> float:
    started = time.perf_counter()
    product = parse_product(PRODUCT)
    store.products.insert_one({"_id": product.code, **product_doc(product), "reminder_days": 3})
    terms = {k: v for k, v in product_doc(product).items()}
    templates: dict[tuple[int, int], dict[str, Any]] = {}
    now = datetime.now(UTC)
    batch: list[dict[str, Any]] = []
    for n in range(count):
        offset = rng.randint(1, 330)
        behind = rng.choice(HABITS)
        key = (offset, behind)
        if key not in templates:
            templates[key] = _template(day, day - timedelta(days=offset), behind)
        community = f"com-{rng.randrange(50):02d}"
        batch.append(
            {
                "_id": f"{n:06d}-{uuid.uuid4().hex[:10]}", "product_code": product.code, "product": terms,
                "unit_id": f"up-{n}", "family_id": f"fam-{n}", "borrower_id": f"ben-{n}", "owner_ids": [f"ben-{n}"],
                "community_id": community, "sector": rng.choice(SECTORS),
                "owner_sex": rng.choice(("female", "female", "male")), "adviser_id": f"asesor-{rng.randrange(40)}",
                "status": "activo", "principal": "1200000", "purpose": "capital de trabajo", "created_by": "asesor",
                "created_at": now, "approved_by": "coordinacion", "write_off": {}, "keys": {}, "pauses": [],
                "bucket": "", "reminded": 0, "cob": 0, "rev": 3, **templates[key],
            }
        )  # fmt: skip
        batch[-1] = {**pack(batch[-1]), "outbox": []}
        if len(batch) == 2000:
            store.loans.insert_many(batch, ordered=False)
            batch = []
    if batch:
        store.loans.insert_many(batch, ordered=False)
    return time.perf_counter() - started


class Drain:
    """What the outbox relay does to the store after publishing a close's events
    (``OutboxRelay.flush_many``: one read and one ``$pull`` per batch of loans), without
    the broker: the outboxes are emptied, as they are within seconds in ``crm-income``.
    Left full, every later read would decode thousands of stale events."""

    def __init__(self, store: LoanStore) -> None:
        self.store = store

    def flush_many(self, collection: str, aggregate_ids: list[str]) -> int:
        coll = self.store.loans.database[collection]
        found = list(coll.find({"_id": {"$in": aggregate_ids}}, {"outbox": 1}))
        coll.update_many({"_id": {"$in": aggregate_ids}}, {"$set": {"outbox": []}})
        return sum(len(d.get("outbox") or []) for d in found)


def raw_par_by_community(store: LoanStore, day: date) -> tuple[float, int]:
    cutoff = day.toordinal() - 30
    late = {"$and": [{"$gt": ["$oldest", 0]}, {"$lt": ["$oldest", cutoff]}]}
    pipeline: list[dict[str, Any]] = [
        {"$match": {"status": "activo"}},
        {"$group": {"_id": "$community_id", "out": {"$sum": "$out"}, "loans": {"$sum": 1},
                    "at_risk": {"$sum": {"$cond": [late, "$out", 0]}}}},
    ]  # fmt: skip
    started = time.perf_counter()
    groups = list(store.loans.aggregate(pipeline, allowDiskUse=True))
    return time.perf_counter() - started, len(groups)


def raw_find(store: LoanStore) -> tuple[float, int]:
    started = time.perf_counter()
    found = sum(1 for _ in store.loans.find({"status": "activo"}, SUMMARY).batch_size(5000))
    return time.perf_counter() - started, found


def run(loans: int = 100_000) -> list[Row]:
    rng = random.Random(15)
    day = date.today()
    with sigterm_unwinds(), tempfile.TemporaryDirectory(prefix="crm-bench-loans-") as tmp:
        stack = Stack(var_dir=Path(tmp))
        try:
            stack.start_mongo()
            store = LoanStore.connect(stack.env["MONGO_URI"], "crm_income")
            seeded = seed(store, loans, day - timedelta(days=1), rng)
            installments = sum(len(d["due"]) for d in store.summaries(("activo",)))
            print(f"[{NAME}] seeded {loans:,} loans, {installments:,} installments in {seeded:.1f}s", flush=True)
            cob = LoanClose(store, Drain(store), lambda: datetime.now(UTC))
            first = cob.close(day - timedelta(days=1))
            print(f"[{NAME}] first close: {first}", flush=True)
            daily = cob.close(day)
            print(f"[{NAME}] daily close: {daily}", flush=True)
            again = cob.close(day)
            print(f"[{NAME}] same day again: {again}", flush=True)
            started = time.perf_counter()
            totals, groups = cob.portfolio(day, "comunidad", 100)
            portfolio = time.perf_counter() - started
            raw_seconds, raw_groups = raw_par_by_community(store, day)
            find_seconds, found = raw_find(store)
            print(f"[{NAME}] PAR30 {totals.par30} PAR90 {totals.par90}; {len(groups)} / {raw_groups} groups; "
                  f"raw find {found:,}", flush=True)  # fmt: skip
            store.close()
        finally:
            stack.stop()
    size = f"{loans:,} loans, {installments:,} installments"
    raw = "raw $group of PAR30 by community"
    return [
        Row(NAME, f"seeding ({size}, insert_many of 2,000)", "s", seeded, None, "-"),
        Row(NAME, f"first close ({first.loans_changed:,} loans changed, {first.reminders:,} reminders)", "s",
            first.seconds, raw_seconds, raw),
        Row(NAME, f"daily close: ageing, PAR, snapshot, {daily.loans_changed:,} loans written ({size})", "s",
            daily.seconds, raw_seconds, raw, f"<= {TARGET_SECONDS:.0f} s", daily.seconds <= TARGET_SECONDS),
        Row(NAME, f"the same day again ({again.loans_changed} written)", "s", again.seconds, find_seconds,
            "raw find of the same projection"),
        Row(NAME, "portfolio indicators by community (with drill-down ids)", "s", portfolio, raw_seconds, raw),
    ]  # fmt: skip


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="10,000 loans")
    args = parser.parse_args(argv)
    print_rows(NAME, run(10_000 if args.quick else args.loans))


if __name__ == "__main__":
    main()
