"""The ``LoanBalances`` port's adapters: none (``NoLoanBalances``) and the loans' ledger."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from services.income.adapters.loan_store import LoanStore
from services.income.domain.loans.ledger_state import LoanStatus, derive
from services.income.service_layer.loan_codec import postings_of, product_of


class NoLoanBalances:
    """Every UP owes nothing on the programme's loans.

    This is the adapter ``bootstrap`` wires while the income service keeps no
    loans. The loans ledger's adapter plugs in at the same place: an object with
    ``outstanding(unit_id, on) -> Decimal`` (the principal still owed at the end
    of day ``on``, derived from the ledger) passed to ``StatementHandlers`` as
    ``loans`` in ``bootstrap.bootstrap`` instead of this one. Nothing else
    changes: statements recorded after that show the UP's loan balance as
    liabilities "de créditos del programa"."""

    def outstanding(self, unit_id: str, on: date) -> Decimal:
        return Decimal(0)


class LedgerLoanBalances:
    """What a UP owes on its loans at the end of a day, from each loan's ledger:
    the postings dated on or before the day, folded by the domain (``derive``). A
    loan not yet disbursed, paid off or written off by then owes nothing."""

    def __init__(self, store: LoanStore) -> None:
        self.store = store

    def outstanding(self, unit_id: str, on: date) -> Decimal:
        total = Decimal(0)
        for doc in self.store.of_unit(unit_id):
            postings, _ = postings_of(doc.get("book", ""))
            state = derive(product_of(doc["product"]), [p for p in postings if p.on <= on])
            if state.status is LoanStatus.ACTIVE:
                total += state.outstanding_principal
        return total
