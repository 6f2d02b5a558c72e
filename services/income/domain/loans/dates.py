"""Due dates of a repayment schedule, as Apache Fineract's ``DefaultScheduledDateGenerator``.

- Monthly: the seed date plus N months, keeping the seed's day of month and clamping
  it at the month's end (31 Jan → 28/29 Feb → 31 Mar), as ``LocalDate.plusMonths``
  followed by ``CalendarUtils.adjustDate`` back to the seed day.
- Weekly / biweekly: the seed plus 7 / 14 days per period (``plusWeeks(repaymentEvery)``).
- The seed is the first due date when one is given (``repaymentsStartingFromDate``),
  otherwise the disbursement date (the first due date is then one period after it).
- ``move_to_business_day``: a due date on a Sunday or a Colombian public holiday
  (``holidays.Colombia``) moves to the next business day (Monday to Saturday, not a
  holiday), as Fineract's holiday rule "move to next working day" with Sunday as the
  only non-working weekday. As in Fineract, the series continues from the *unmoved*
  date (``actualRepaymentDate``), so one moved date does not shift the following ones.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from functools import lru_cache

from services.income.domain.loans.product import Frequency


def add_months(seed: date, months: int) -> date:
    """``seed`` plus ``months`` months, the seed's day clamped to the month's last day."""
    index = seed.year * 12 + seed.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(seed.day, last))


def nth_due_date(frequency: Frequency, seed: date, n: int) -> date:
    """The ``n``-th date after ``seed`` (``n`` = 0 is the seed itself)."""
    if frequency is Frequency.MONTHLY:
        return add_months(seed, n)
    days = 14 if frequency is Frequency.BIWEEKLY else 7
    return seed + timedelta(days=days * n)


@lru_cache(maxsize=64)
def _colombian_holidays(year: int) -> frozenset[date]:
    import holidays

    return frozenset(holidays.Colombia(years=[year]).keys())


def is_business_day(day: date) -> bool:
    """Monday to Saturday and not a Colombian public holiday."""
    return day.weekday() != 6 and day not in _colombian_holidays(day.year)


def next_business_day(day: date) -> date:
    """``day`` itself when it is a business day, else the next one."""
    while not is_business_day(day):
        day += timedelta(days=1)
    return day


def due_dates(
    frequency: Frequency, count: int, disbursed_on: date, first_due_on: date | None, move_to_business_day: bool
) -> list[date]:
    """The ``count`` due dates of a schedule (see the module's docstring)."""
    if first_due_on is None:
        dates = [nth_due_date(frequency, disbursed_on, n) for n in range(1, count + 1)]
    else:
        dates = [nth_due_date(frequency, first_due_on, n) for n in range(count)]
    if move_to_business_day:
        dates = [next_business_day(d) for d in dates]
    return dates
