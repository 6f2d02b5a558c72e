"""Loan repayment schedules: ``schedule.generate`` (Apache Fineract's semantics, in
``Decimal``) for 10,000 loans, beside raw baselines over the same loans in the same
run. No stack: one process, pure domain code.

The loans are seeded (``random.Random(15)``) over a mix of products: monthly,
biweekly and weekly; 6 to 36 installments; 18 % to 48 % a year; declining balance
(equal installments or equal principal) and flat; installments in multiples of 1,
100 or 1,000; a principal grace on one loan in ten; due dates moved off Sundays and
Colombian holidays on half of them; 300,000 to 20,000,000 COP.

- measured: ``generate(product, principal, disbursed_on)`` for every loan;
- baseline: a raw ``numpy_financial.pmt`` loop over the same loans (one scalar call
  each: the installment amount and nothing else);
- diagnostic: a raw float amortization loop (pmt, then each period's interest and
  principal in floats, no rounding rules, no dates), the least a schedule costs in
  plain Python.

Each is run ``--rounds`` times alternating; the best round counts. Target: 10,000
schedules in under 10 s on this 2-core machine.

For information, the portfolio indicators (``portfolio.indicators_by`` community,
PAR30/PAR90/arrears/repayment rate in one pass) over 10 x ``--loans`` lightweight
``LoanRow`` records, beside a raw loop summing the same fields into dicts.

    python -m benchmarks.bench_loan_schedules [--loans 10000] [--rounds 3] [--quick]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from decimal import Decimal

import numpy_financial as npf

from benchmarks._common import Row, print_rows
from services.income.domain.loans.portfolio import LoanRow, indicators_by
from services.income.domain.loans.product import (
    PERIODS_PER_YEAR,
    Amortization,
    Frequency,
    InterestMethod,
    LoanProduct,
)
from services.income.domain.loans.schedule import generate

NAME = "loan_schedules"
TARGET_SECONDS = 10.0
Loan = tuple[LoanProduct, Decimal, date]


def seed_loans(count: int) -> list[Loan]:
    rng = random.Random(15)
    loans: list[Loan] = []
    start = date(2026, 1, 1)
    for i in range(count):
        installments = rng.randint(6, 36)
        method = rng.choices(list(InterestMethod), weights=(8, 2))[0]
        product = LoanProduct(
            code=f"P{i % 50}",
            name="Microcrédito",
            frequency=rng.choices(list(Frequency), weights=(6, 2, 2))[0],
            installments=installments,
            annual_rate=Decimal(rng.randint(18, 48)),
            interest_method=method,
            amortization=rng.choices(list(Amortization), weights=(8, 2))[0],
            principal_grace=rng.choice([1, 2]) if rng.random() < 0.1 else 0,
            installment_multiple=rng.choice([1, 100, 1000]),
            move_to_business_day=rng.random() < 0.5,
        )
        principal = Decimal(rng.randrange(300_000, 20_000_000, 1000))
        loans.append((product, principal, start + timedelta(days=rng.randint(0, 364))))
    return loans


def measured(loans: list[Loan]) -> int:
    installments = 0
    for product, principal, disbursed in loans:
        installments += len(generate(product, principal, disbursed).installments)
    return installments


def raw_pmt(loans: list[Loan]) -> int:
    total = 0.0
    for product, principal, _ in loans:
        rate = float(product.annual_rate) / 100 / PERIODS_PER_YEAR[product.frequency]
        total += -npf.pmt(rate, product.installments, float(principal))
    return int(total > 0)


def raw_amortization(loans: list[Loan]) -> int:
    installments = 0
    for product, principal, _ in loans:
        rate = float(product.annual_rate) / 100 / PERIODS_PER_YEAR[product.frequency]
        balance = float(principal)
        payment = -npf.pmt(rate, product.installments, balance)
        for _ in range(product.installments):
            interest = balance * rate
            balance -= payment - interest
            installments += 1
    return installments


def portfolio_rows(count: int) -> list[LoanRow]:
    rng = random.Random(90)
    rows = []
    for i in range(count):
        principal = Decimal(rng.randrange(0, 20_000_000, 1000))
        late = rng.choice([0, 0, 0, 0, 5, 20, 45, 75, 120, 200])
        overdue = principal // 10 if late else Decimal(0)
        due = Decimal(rng.randrange(100_000, 5_000_000, 1000))
        dims = {"community": f"C{i % 50}", "adviser": f"A{i % 20}", "sector": "comercio", "owner_sex": "F"}
        rows.append(LoanRow(f"L{i}", principal, overdue, due - overdue, due, late, dims))
    return rows


def raw_portfolio(rows: list[LoanRow]) -> int:
    gross: dict[str, Decimal] = {}
    risk: dict[str, Decimal] = {}
    for row in rows:
        key = row.dims["community"]
        gross[key] = gross.get(key, Decimal(0)) + row.outstanding_principal
        if row.days_late > 30:
            risk[key] = risk.get(key, Decimal(0)) + row.outstanding_principal
    return len(gross)


def best_of(rounds: int, steps: Sequence[tuple[str, Callable[[], int]]]) -> dict[str, float]:
    best = {label: float("inf") for label, _ in steps}
    for _ in range(rounds):
        for label, step in steps:
            t0 = time.perf_counter()
            step()
            best[label] = min(best[label], time.perf_counter() - t0)
    return best


def run(loans: int = 10_000, rounds: int = 3) -> list[Row]:
    seeded = seed_loans(loans)
    installments = measured(seeded[:200])  # warm the holiday cache and the imports
    installments = measured(seeded)
    print(f"[{NAME}] {loans:,} loans, {installments:,} installments", flush=True)
    best = best_of(
        rounds,
        [
            ("generate", lambda: measured(seeded)),
            ("pmt", lambda: raw_pmt(seeded)),
            ("amortization", lambda: raw_amortization(seeded)),
        ],
    )
    rate = loans / best["generate"]
    records = portfolio_rows(10 * loans)
    by = best_of(
        rounds,
        [("indicators", lambda: len(indicators_by(records, "community"))), ("raw", lambda: raw_portfolio(records))],
    )
    return [
        Row(
            NAME,
            f"{loans:,} schedules ({installments:,} installments), wall",
            "ms",
            1000 * best["generate"],
            1000 * best["pmt"],
            "numpy-financial pmt loop",
            f"< {TARGET_SECONDS * 1000:,.0f} ms",
            best["generate"] < TARGET_SECONDS,
        ),
        Row(NAME, "schedules per second", "/s", rate, loans / best["pmt"], "numpy-financial pmt loop"),
        Row(
            NAME,
            "schedules per second vs a float amortization loop (diagnostic)",
            "/s",
            rate,
            loans / best["amortization"],
            "raw float amortization",
        ),
        Row(
            NAME,
            f"portfolio indicators by community over {len(records):,} loans",
            "ms",
            1000 * by["indicators"],
            1000 * by["raw"],
            "raw dict-summing loop (PAR30 only)",
        ),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_loan_schedules", description=__doc__)
    parser.add_argument("--loans", type=int, default=10_000, help="loans to schedule (default 10000)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds, the best counts (default 3)")
    parser.add_argument("--quick", action="store_true", help="2,000 loans, 1 round")
    args = parser.parse_args(argv)
    if args.quick:
        args.loans, args.rounds = 2_000, 1
    print_rows(NAME, run(args.loans, args.rounds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
