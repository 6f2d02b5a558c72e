"""Plain-dict forms of the loan domain's values (Decimal as decimal text, dates as ISO
text, enums by value) for a repository to store, and back. Pure; round-trips exactly:
``posting_from_doc(posting_to_doc(p)) == p`` and the same for products."""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import date
from decimal import Decimal
from typing import Any

from services.income.domain.loans.ledger_state import Posting, PostingKind
from services.income.domain.loans.product import (
    Allocation,
    Amortization,
    Frequency,
    InterestMethod,
    InterestPeriod,
    LoanProduct,
)
from services.income.domain.loans.schedule import Installment, Schedule


def product_to_doc(product: LoanProduct) -> dict[str, Any]:
    doc = asdict(product)
    doc["annual_rate"] = str(product.annual_rate)
    doc["allocation"] = [str(a) for a in product.allocation]
    doc["buckets"] = [[low, high] for low, high in product.buckets]
    for name in ("frequency", "interest_method", "amortization", "interest_period"):
        doc[name] = str(doc[name])
    return doc


def product_from_doc(doc: dict[str, Any]) -> LoanProduct:
    values = {f.name: doc[f.name] for f in fields(LoanProduct) if f.name in doc}
    values["frequency"] = Frequency(values["frequency"])
    for name, kind in (
        ("interest_method", InterestMethod),
        ("amortization", Amortization),
        ("interest_period", InterestPeriod),
    ):
        if name in values:
            values[name] = kind(values[name])
    values["annual_rate"] = Decimal(values["annual_rate"])
    if "allocation" in values:
        values["allocation"] = tuple(Allocation(a) for a in values["allocation"])
    if "buckets" in values:
        values["buckets"] = tuple((low, high) for low, high in values["buckets"])
    return LoanProduct(**values)


def _installment_doc(i: Installment) -> dict[str, Any]:
    return {
        "number": i.number,
        "from_date": i.from_date.isoformat(),
        "due_date": i.due_date.isoformat(),
        "principal": str(i.principal),
        "interest": str(i.interest),
        "fees": str(i.fees),
        "penalties": str(i.penalties),
        "balance_after": str(i.balance_after),
        "scheduled_on": i.scheduled_on.isoformat() if i.scheduled_on else None,
    }


def _installment(d: dict[str, Any]) -> Installment:
    return Installment(
        d["number"],
        date.fromisoformat(d["from_date"]),
        date.fromisoformat(d["due_date"]),
        Decimal(d["principal"]),
        Decimal(d["interest"]),
        Decimal(d["fees"]),
        Decimal(d["penalties"]),
        Decimal(d["balance_after"]),
        date.fromisoformat(d["scheduled_on"]) if d.get("scheduled_on") else None,
    )


def schedule_to_doc(s: Schedule) -> dict[str, Any]:
    return {
        "principal": str(s.principal),
        "disbursed_on": s.disbursed_on.isoformat(),
        "installments": [_installment_doc(i) for i in s.installments],
        "installment_amount": str(s.installment_amount),
    }


def schedule_from_doc(d: dict[str, Any]) -> Schedule:
    return Schedule(
        Decimal(d["principal"]),
        date.fromisoformat(d["disbursed_on"]),
        tuple(_installment(i) for i in d["installments"]),
        Decimal(d["installment_amount"]),
    )


def posting_to_doc(p: Posting) -> dict[str, Any]:
    return {
        "seq": p.seq,
        "kind": str(p.kind),
        "on": p.on.isoformat(),
        "amount": str(p.amount),
        "by": p.by,
        "shares": [[n, str(c), str(a)] for n, c, a in p.shares],
        "advance": str(p.advance),
        "prepaid_principal": str(p.prepaid_principal),
        "schedule": schedule_to_doc(p.schedule) if p.schedule else None,
        "keep_through": p.keep_through,
        "component": str(p.component) if p.component else None,
        "installment": p.installment,
        "reason": p.reason,
        "approved_by": p.approved_by,
        "mode": p.mode,
    }


def posting_from_doc(d: dict[str, Any]) -> Posting:
    return Posting(
        seq=d["seq"],
        kind=PostingKind(d["kind"]),
        on=date.fromisoformat(d["on"]),
        amount=Decimal(d["amount"]),
        by=d.get("by", ""),
        shares=tuple((n, Allocation(c), Decimal(a)) for n, c, a in d.get("shares", [])),
        advance=Decimal(d.get("advance", "0")),
        prepaid_principal=Decimal(d.get("prepaid_principal", "0")),
        schedule=schedule_from_doc(d["schedule"]) if d.get("schedule") else None,
        keep_through=d.get("keep_through", 0),
        component=Allocation(d["component"]) if d.get("component") else None,
        installment=d.get("installment", 0),
        reason=d.get("reason", ""),
        approved_by=d.get("approved_by", ""),
        mode=d.get("mode", ""),
    )
