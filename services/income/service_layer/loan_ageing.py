"""One loan's arrears and indicator row as of a date, from its stored summary alone
(``adapters.loan_store``: due dates as ordinals, amounts due and left per
installment, principal outstanding, pauses), with the domain's rules
(``domain.loans.arrears`` and ``portfolio``). The close of business and the
portfolio indicators run this once per loan, in one pass over a projection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from services.income.domain.loans.arrears import arrears
from services.income.domain.loans.portfolio import LoanRow
from services.income.domain.loans.product import LoanProduct
from services.income.service_layer.loan_codec import pauses_of

DIMENSIONS = {"comunidad": "community", "asesor": "adviser", "sector": "sector", "sexo": "owner_sex"}
DEFAULT_REMINDER_DAYS = 3


@dataclass(frozen=True)
class Terms:
    """What the ageing needs of a product: its rules and the reminder lead time."""

    product: LoanProduct
    reminder_days: int


@dataclass(frozen=True)
class Aged:
    loan_id: str
    row: LoanRow
    bucket: str  # "" when not overdue (after the arrears grace)
    days_past_due: int
    oldest_unpaid_due: date | None
    overdue: Decimal
    reminders: tuple[tuple[int, int, int], ...]  # (installment, due ordinal, amount left)


def age(doc: dict[str, Any], as_of: date, terms: Terms) -> Aged:
    """``doc``'s arrears, indicator row and reminders due as of ``as_of``."""
    day = as_of.toordinal()
    due: list[int] = doc.get("due") or []
    amt: list[int] = doc.get("amt") or []
    left: list[int] = doc.get("left") or []
    unpaid: list[date] = []
    due_to_date = overdue = 0
    reminders: list[tuple[int, int, int]] = []
    horizon = day + terms.reminder_days
    reminded = doc.get("reminded", 0)
    for index, when in enumerate(due):
        rest = left[index]
        if when <= day:
            due_to_date += amt[index]
            overdue += rest
            if rest > 0:
                unpaid.append(date.fromordinal(when))
        elif rest > 0 and when <= horizon and when > reminded:
            reminders.append((index + 1, when, rest))
    pauses = pauses_of(doc.get("pauses") or [])
    state = arrears(terms.product, unpaid, as_of, pauses)
    dims = {
        "community": doc.get("community_id", ""),
        "adviser": doc.get("adviser_id", ""),
        "sector": doc.get("sector", ""),
        "owner_sex": doc.get("owner_sex", ""),
    }
    paid = Decimal(due_to_date - overdue)
    row = LoanRow(
        doc["_id"], Decimal(doc.get("out", 0)), Decimal(overdue), paid, Decimal(due_to_date), state.days_past_due, dims
    )
    return Aged(
        doc["_id"], row, state.bucket or "", state.days_past_due, state.oldest_unpaid_due, Decimal(overdue),
        tuple(reminders),
    )  # fmt: skip
