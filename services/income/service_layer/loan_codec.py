"""The loan domain's values (``services.income.domain.loans``) in the store and back.

- A product as a document of plain values (``product_doc`` / ``product_of``, the
  domain's codec); the loan keeps a copy of its product's terms, so a later product
  never changes it.
- A loan's ``book``: its postings (each with its shares and, for a disbursement,
  prepayment or reschedule, the schedule it put in place; the domain's codec) as
  one JSON text, with what the service keeps beside each (id, time, idempotency key).
- The summary fields derived from the ledger state (``summary``), which lists, the
  close of business and the indicators read: see ``adapters.loan_store``.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from services.income.domain.loans.arrears import Pause
from services.income.domain.loans.codec import posting_from_doc, posting_to_doc, product_from_doc, product_to_doc
from services.income.domain.loans.ledger import Loan
from services.income.domain.loans.ledger_state import LoanState, LoanStatus, Posting

# The domain's own plain-dict forms (``domain.loans.codec``: exact round trips).
product_doc = product_to_doc
product_of = product_from_doc
posting_json = posting_to_doc
posting_of = posting_from_doc


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
