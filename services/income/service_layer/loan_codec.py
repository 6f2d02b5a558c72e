"""The loan domain's values (``services.income.domain.loans``) in the store and back.

- A product as a document of plain values (``product_doc`` / ``product_of``); the
  loan keeps a copy of its product's terms, so a later product never changes it.
- A loan's ``book``: its postings (each with its shares and, for a disbursement,
  prepayment or reschedule, the schedule it put in place) as one JSON text.
- The summary fields derived from the ledger state (``summary``), which lists, the
  close of business and the indicators read: see ``adapters.loan_store``.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from services.income.domain.loans.arrears import Pause
from services.income.domain.loans.ledger import Loan
from services.income.domain.loans.ledger_state import LoanState, LoanStatus, Posting, PostingKind
from services.income.domain.loans.product import Allocation, LoanProduct, parse_product
from services.income.domain.loans.schedule import Installment, Schedule

PRODUCT_FIELDS = (
    "code", "name", "frequency", "installments", "annual_rate", "interest_method", "amortization",
    "interest_period", "principal_grace", "interest_grace", "interest_free_grace", "installment_multiple",
    "currency", "currency_digits", "move_to_business_day", "allocation", "arrears_grace_days", "buckets",
    "overpayment",
)  # fmt: skip


def product_doc(product: LoanProduct) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in PRODUCT_FIELDS:
        value = getattr(product, name)
        if name == "allocation":
            value = [str(a) for a in value]
        elif name == "buckets":
            value = [[low, high] for low, high in value]
        elif name == "annual_rate" or hasattr(value, "value"):
            value = str(value)
        out[name] = value
    return out


def product_of(doc: dict[str, Any]) -> LoanProduct:
    values = {k: doc[k] for k in PRODUCT_FIELDS if k in doc}
    values["buckets"] = [tuple(b) for b in values.get("buckets", [])] or None
    if values["buckets"] is None:
        del values["buckets"]
    return parse_product(values)


# -- postings -------------------------------------------------------------------------


def _schedule_json(schedule: Schedule) -> dict[str, Any]:
    return {
        "principal": str(schedule.principal),
        "disbursed_on": schedule.disbursed_on.isoformat(),
        "installment_amount": str(schedule.installment_amount),
        "installments": [
            [i.number, i.from_date.isoformat(), i.due_date.isoformat(), str(i.principal), str(i.interest),
             str(i.fees), str(i.penalties), str(i.balance_after)]
            for i in schedule.installments
        ],
    }  # fmt: skip


def _schedule_of(data: dict[str, Any]) -> Schedule:
    rows = tuple(
        Installment(
            int(n), date.fromisoformat(a), date.fromisoformat(b), Decimal(p), Decimal(i), Decimal(f), Decimal(x),
            Decimal(bal),
        )
        for n, a, b, p, i, f, x, bal in data["installments"]
    )  # fmt: skip
    return Schedule(
        Decimal(data["principal"]), date.fromisoformat(data["disbursed_on"]), rows, Decimal(data["installment_amount"])
    )


def posting_json(p: Posting) -> dict[str, Any]:
    out: dict[str, Any] = {"seq": p.seq, "kind": str(p.kind), "on": p.on.isoformat(), "amount": str(p.amount)}
    if p.by:
        out["by"] = p.by
    if p.shares:
        out["shares"] = [[n, str(c), str(a)] for n, c, a in p.shares]
    for name in ("advance", "prepaid_principal"):
        if getattr(p, name):
            out[name] = str(getattr(p, name))
    if p.schedule is not None:
        out["schedule"] = _schedule_json(p.schedule)
    for name in ("keep_through", "installment", "reason", "approved_by", "mode"):
        if getattr(p, name):
            out[name] = getattr(p, name)
    if p.component is not None:
        out["component"] = str(p.component)
    return out


def posting_of(d: dict[str, Any]) -> Posting:
    return Posting(
        seq=int(d["seq"]),
        kind=PostingKind(d["kind"]),
        on=date.fromisoformat(d["on"]),
        amount=Decimal(d["amount"]),
        by=d.get("by", ""),
        shares=tuple((int(n), Allocation(c), Decimal(a)) for n, c, a in d.get("shares", ())),
        advance=Decimal(d.get("advance", "0")),
        prepaid_principal=Decimal(d.get("prepaid_principal", "0")),
        schedule=_schedule_of(d["schedule"]) if "schedule" in d else None,
        keep_through=int(d.get("keep_through", 0)),
        component=Allocation(d["component"]) if "component" in d else None,
        installment=int(d.get("installment", 0)),
        reason=d.get("reason", ""),
        approved_by=d.get("approved_by", ""),
        mode=d.get("mode", ""),
    )


def book_json(loan: Loan, meta: dict[str, dict[str, Any]]) -> str:
    """The loan's postings and what the service keeps beside each (``meta``: the
    posting's id, time and idempotency key, by sequence number) as JSON text."""
    rows = [{**posting_json(p), **dict(meta.get(str(p.seq), {}))} for p in loan.postings]
    return json.dumps({"postings": rows}, separators=(",", ":"), ensure_ascii=False)


def postings_of(book: str) -> tuple[list[Posting], list[dict[str, Any]]]:
    rows = json.loads(book or '{"postings": []}')["postings"]
    return [posting_of(r) for r in rows], rows


def loan_of(doc: dict[str, Any], closed_through: date | None) -> Loan:
    postings, _ = postings_of(doc.get("book", ""))
    return Loan(
        doc["_id"],
        product_of(doc["product"]),
        Decimal(doc["principal"]),
        tuple(postings),
        closed_through=closed_through,
    )


# -- pauses ---------------------------------------------------------------------------


def pauses_of(stored: list[list[int]]) -> tuple[Pause, ...]:
    return tuple(Pause(date.fromordinal(a), date.fromordinal(b) if b else None) for a, b in stored or ())


def pauses_doc(pauses: tuple[Pause, ...]) -> list[list[int]]:
    return [[p.start.toordinal(), p.end.toordinal() if p.end else 0] for p in pauses]


# -- the summary ----------------------------------------------------------------------


def whole(amount: Decimal) -> int:
    """A COP amount (no decimals) as the store's integer."""
    return int(amount.to_integral_value())


def summary(state: LoanState) -> dict[str, Any]:
    """The fields derived from the ledger that queries and the close of business read."""
    due = [i.due_date.toordinal() for i in state.installments]
    amt = [whole(sum(i.due.values(), Decimal(0))) for i in state.installments]
    left = [whole(i.total_outstanding) for i in state.installments]
    unpaid = [d for d, rest in zip(due, left, strict=True) if rest > 0]
    active = state.status is LoanStatus.ACTIVE
    return {
        "due": due,
        "amt": amt,
        "left": left,
        "out": whole(state.outstanding_principal) if active else 0,
        "oldest": min(unpaid) if unpaid and active else 0,
    }
