"""The ``LoanBalances`` port's default adapter."""

from __future__ import annotations

from datetime import date
from decimal import Decimal


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
