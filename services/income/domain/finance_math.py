"""What a financial model yields: cash flows, NPV, IRR, payback and break-even.

Conventions (stated once, used everywhere):
- Month 0 holds the initial investment as an outflow; months 1..n the operating
  cash flow (sales - variable costs - fixed costs). Funding sources do not change
  the project's flows: this evaluates the project, not the owner's share of it.
- The discount rate is effective annual (E.A., as Colombian banks quote it); the
  monthly rate is its equivalent compounded rate, ``(1 + annual) ** (1/12) - 1``,
  so twelve months at the monthly rate grow exactly as one year at the annual one.
- NPV discounts month t by ``(1 + monthly) ** t``, month 0 included undiscounted
  (as ``numpy_financial.npv`` does).
- IRR is the monthly rate where NPV is zero, annualised as ``(1 + monthly) ** 12 - 1``.
All arithmetic is Decimal at ``money.PRECISION`` digits (each public function runs
in ``money.context()``, whatever the caller's context); nothing becomes a float.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from itertools import pairwise

from services.income.domain.finance import FinancialModel
from services.income.domain.money import context

ONE = Decimal(1)
# The monthly IRR is searched in [-99 %, +1000 %] a month: beyond that a rate says
# nothing useful about a productive unit.
IRR_LOW, IRR_HIGH = Decimal("-0.99"), Decimal(10)
IRR_TOLERANCE = Decimal("1e-15")
_SCAN_STEPS = 400


def monthly_rate(annual: Decimal) -> Decimal:
    """The monthly rate equivalent to an effective annual rate."""
    with localcontext(context()):
        return (ONE + annual) ** (ONE / 12) - ONE


def annualise(monthly: Decimal) -> Decimal:
    """The effective annual rate equivalent to a monthly rate."""
    with localcontext(context()):
        return (ONE + monthly) ** 12 - ONE


def npv(rate: Decimal, flows: Sequence[Decimal]) -> Decimal:
    """Net present value of ``flows`` (month 0 first) at a per-period ``rate``."""
    with localcontext(context()):
        total, discount = Decimal(0), ONE
        for flow in flows:
            total += flow / discount
            discount *= ONE + rate
        return total


@dataclass(frozen=True)
class Irr:
    """The internal rate of return, or why there is none (``reason`` in Spanish)."""

    monthly: Decimal | None
    annual: Decimal | None
    reason: str = ""


def sign_changes(flows: Sequence[Decimal]) -> int:
    signs = [flow > 0 for flow in flows if flow != 0]
    return sum(1 for a, b in pairwise(signs) if a != b)


def irr(flows: Sequence[Decimal]) -> Irr:
    """The monthly IRR of ``flows`` by bisection, or None with the reason.

    With one sign change (the usual investment, then income) NPV is monotone in
    the rate and the root is unique. With several, the search range is scanned
    for brackets: exactly one root is still reported; several are not, because
    no single rate would then describe the project."""
    with localcontext(context()):
        return _irr(flows)


def _irr(flows: Sequence[Decimal]) -> Irr:
    changes = sign_changes(flows)
    if changes == 0:
        return Irr(None, None, "No hay TIR: los flujos no cambian de signo (nunca se recupera la inversión)")
    brackets = _brackets(flows) if changes > 1 else [(IRR_LOW, IRR_HIGH)]
    if changes == 1 and _sign(npv(IRR_LOW, flows)) == _sign(npv(IRR_HIGH, flows)):
        brackets = []
    if not brackets:
        return Irr(None, None, "No hay TIR entre -99 % y 1.000 % mensual")
    if len(brackets) > 1:
        return Irr(None, None, f"No hay una TIR única: los flujos cambian de signo {changes} veces y hay varias")
    monthly = _bisect(flows, *brackets[0])
    return Irr(monthly, annualise(monthly))


def _sign(value: Decimal) -> int:
    return (value > 0) - (value < 0)


def _brackets(flows: Sequence[Decimal]) -> list[tuple[Decimal, Decimal]]:
    step = (IRR_HIGH - IRR_LOW) / _SCAN_STEPS
    found: list[tuple[Decimal, Decimal]] = []
    low, low_sign = IRR_LOW, _sign(npv(IRR_LOW, flows))
    for index in range(1, _SCAN_STEPS + 1):
        high = IRR_LOW + step * index
        high_sign = _sign(npv(high, flows))
        if low_sign == 0:
            found.append((low, low))
        elif high_sign != low_sign and high_sign != 0:
            found.append((low, high))
        low, low_sign = high, high_sign
    return found


def _bisect(flows: Sequence[Decimal], low: Decimal, high: Decimal) -> Decimal:
    low_sign = _sign(npv(low, flows))
    while high - low > IRR_TOLERANCE:
        middle = (low + high) / 2
        middle_sign = _sign(npv(middle, flows))
        if middle_sign == 0:
            return middle
        if middle_sign == low_sign:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def payback_month(flows: Sequence[Decimal], rate: Decimal = Decimal(0)) -> int | None:
    """The first month whose cumulative (discounted at ``rate``) flow is no longer
    negative; None when the projection never recovers the investment."""
    with localcontext(context()):
        cumulative, discount = Decimal(0), ONE
        for month, flow in enumerate(flows):
            cumulative += flow / discount
            discount *= ONE + rate
            if month > 0 and cumulative >= 0:
                return month
        return None


@dataclass(frozen=True)
class BreakEven:
    """Units and sales (COP) a month needs to cover its fixed costs; None with a
    reason when the price does not cover the variable cost."""

    units: Decimal | None
    sales: Decimal | None
    reason: str = ""


def break_even(fixed_costs: Decimal, price: Decimal, variable_cost: Decimal) -> BreakEven:
    with localcontext(context()):
        margin = price - variable_cost
        if margin <= 0:
            return BreakEven(None, None, "El precio no cubre el costo variable por unidad: no hay punto de equilibrio")
        units = fixed_costs / margin
        return BreakEven(units, units * price)


@dataclass(frozen=True)
class Analysis:
    """Everything the financial model yields, at full precision."""

    monthly_rate: Decimal
    flows: tuple[Decimal, ...]  # month 0 (the investment, negative) to month n
    cumulative: tuple[Decimal, ...]
    npv: Decimal
    irr: Irr
    payback_month: int | None
    discounted_payback_month: int | None
    monthly_break_even: tuple[BreakEven, ...]  # one per projected month
    average_break_even: BreakEven  # average fixed costs over the average unit margin
    total_sales: Decimal
    total_operating_flow: Decimal

    @property
    def operating_margin(self) -> Decimal | None:
        """Operating flow over sales for the whole horizon; None without sales."""
        if self.total_sales == 0:
            return None
        with localcontext(context()):
            return self.total_operating_flow / self.total_sales


def analyse(model: FinancialModel) -> Analysis:
    with localcontext(context()):
        return _analyse(model)


def _analyse(model: FinancialModel) -> Analysis:
    rate = monthly_rate(model.annual_discount_rate)
    flows = (-model.investment, *(month.cash_flow for month in model.months))
    cumulative: list[Decimal] = []
    running = Decimal(0)
    for flow in flows:
        running += flow
        cumulative.append(running)
    units = sum((month.units for month in model.months), Decimal(0))
    sales = sum((month.sales for month in model.months), Decimal(0))
    variable = sum((month.variable_costs for month in model.months), Decimal(0))
    fixed = sum((month.fixed_costs for month in model.months), Decimal(0))
    if units > 0:
        # Average price and unit cost weighted by units sold, so the average month's
        # break-even is consistent with the totals.
        average = break_even(fixed / len(model.months), sales / units, variable / units)
    else:
        average = BreakEven(None, None, "No se proyectan ventas: no hay punto de equilibrio")
    return Analysis(
        monthly_rate=rate,
        flows=flows,
        cumulative=tuple(cumulative),
        npv=npv(rate, flows),
        irr=irr(flows),
        payback_month=payback_month(flows),
        discounted_payback_month=payback_month(flows, rate),
        monthly_break_even=tuple(break_even(m.fixed_costs, m.price, m.variable_cost) for m in model.months),
        average_break_even=average,
        total_sales=sales,
        total_operating_flow=sales - variable - fixed,
    )
