"""PAR30, PAR90, arrears and repayment rates on a small portfolio computed by hand.

Four loans (outstanding principal, days late, overdue, collected / due to date):
A 1,000,000, 0, 0, 200,000 / 200,000 (community X, F);
B   500,000, 45, 100,000, 50,000 / 150,000 (X, M);
C   300,000, 120, 200,000, 0 / 200,000 (Y, F);
D   200,000, 10, 20,000, 80,000 / 100,000 (Y, F).
Gross portfolio 2,000,000; PAR30 = (500,000 + 300,000) / 2,000,000 = 0.40;
PAR90 = 300,000 / 2,000,000 = 0.15; arrears rate = 320,000 / 2,000,000 = 0.16;
repayment rate = 330,000 / 650,000 = 0.507692. Community X: PAR30 500,000 /
1,500,000 = 0.333333, PAR90 0; Y: PAR30 = PAR90 = 300,000 / 500,000 = 0.6.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from services.income.domain.loans.ledger import Loan
from services.income.domain.loans.portfolio import LoanRow, indicators, indicators_by, loan_row, loans_at_risk
from services.income.domain.loans.product import Frequency, LoanProduct

D = Decimal


def row(
    loan_id: str, principal: int, late: int, overdue: int, collected: int, due: int, community: str, sex: str
) -> LoanRow:
    return LoanRow(
        loan_id, D(principal), D(overdue), D(collected), D(due), late, {"community": community, "owner_sex": sex}
    )


PORTFOLIO = [
    row("A", 1_000_000, 0, 0, 200_000, 200_000, "X", "F"),
    row("B", 500_000, 45, 100_000, 50_000, 150_000, "X", "M"),
    row("C", 300_000, 120, 200_000, 0, 200_000, "Y", "F"),
    row("D", 200_000, 10, 20_000, 80_000, 100_000, "Y", "F"),
]


def test_portfolio_indicators_by_hand() -> None:
    result = indicators(PORTFOLIO)
    assert result.gross_portfolio == D(2_000_000)
    assert (result.par30, result.par90) == (D("0.400000"), D("0.150000"))
    assert result.arrears_rate == D("0.160000")
    assert result.repayment_rate == D("0.507692")
    assert (result.loans, result.loans_at_risk_30, result.loans_at_risk_90) == (4, 2, 1)


def test_indicators_by_dimension_and_drill_down() -> None:
    by_community = indicators_by(PORTFOLIO, "community")
    assert list(by_community) == ["X", "Y"]
    assert (by_community["X"].par30, by_community["X"].par90) == (D("0.333333"), D(0).quantize(D("0.000001")))
    assert (by_community["Y"].par30, by_community["Y"].par90) == (D("0.600000"), D("0.600000"))
    by_sex = indicators_by(PORTFOLIO, "owner_sex")
    assert by_sex["F"].gross_portfolio == D(1_500_000)
    assert indicators_by(PORTFOLIO, "adviser") == {"": indicators(PORTFOLIO)}
    assert loans_at_risk(PORTFOLIO, 30) == ["B", "C"]
    assert loans_at_risk(PORTFOLIO, 30, community="Y") == ["C"]
    assert loans_at_risk(PORTFOLIO, 90) == ["C"]


def test_empty_portfolio_has_no_ratios() -> None:
    result = indicators([])
    assert (result.par30, result.arrears_rate, result.repayment_rate) == (None, None, None)


def test_row_from_a_ledger_loan() -> None:
    p = LoanProduct.checked(code="MC", name="M", frequency=Frequency.MONTHLY, installments=3, annual_rate=D(36))
    loan = Loan("L", p, D(300000)).disburse(D(300000), date(2026, 1, 10)).repay(D(106059), date(2026, 2, 10))
    r = loan_row("L", loan.state, date(2026, 4, 20), {"community": "X"})
    assert r.days_late == 41
    assert r.outstanding_principal == D(300000 - 97059)
    assert r.overdue == D(106059 * 2)
    assert (r.collected, r.due_to_date) == (D(106059), D(106059 * 3))
