"""Arrears and delinquency of a loan, from its unpaid due dates.

- Days past due (DPD): days from the oldest due date still unpaid to the date of
  reckoning (an installment due on the 10th and unpaid is 1 day late on the 11th), as
  Fineract's arrears ageing (``overdueSinceDate`` = oldest unpaid due date).
- Arrears grace (``product.arrears_grace_days``, Fineract's ``graceOnArrearsAgeing``):
  the ageing starts that many days after the due date; the aged days are
  ``max(0, DPD - grace)`` and it is the aged days that pick the bucket and that make a
  loan "overdue".
- Buckets: configurable contiguous ranges (default 1-30, 31-60, 61-90, 91-180, 181+).
- Pausing the delinquency clock: a pause from ``start`` (inclusive) to ``end``
  (exclusive: the clock runs again on ``end``; ``None`` while still paused); paused
  days inside the late window do not count.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from services.income.domain.loans.product import DEFAULT_BUCKETS, LoanInvalid, LoanProduct

Bucket = tuple[int, int | None]


@dataclass(frozen=True)
class Pause:
    start: date
    end: date | None = None  # the day the clock runs again; None while paused

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day < self.end)


def check_pauses(pauses: Sequence[Pause]) -> None:
    """Pauses must end after they start and not overlap; only the last may be open."""
    ordered = sorted(pauses, key=lambda p: p.start)
    for i, pause in enumerate(ordered):
        if pause.end is not None and pause.end <= pause.start:
            raise LoanInvalid({"pauses": "Una pausa debe terminar después de empezar"})
        if i + 1 < len(ordered):
            following = ordered[i + 1]
            if pause.end is None or following.start < pause.end:
                raise LoanInvalid({"pauses": "Las pausas del conteo de mora no pueden superponerse"})


def pause(pauses: Sequence[Pause], on: date) -> tuple[Pause, ...]:
    """``pauses`` with a new pause from ``on``; refused while one is open."""
    if any(p.end is None for p in pauses):
        raise LoanInvalid({"pauses": "El conteo de mora ya está en pausa"})
    if any(p.end is not None and on < p.end for p in pauses):
        raise LoanInvalid({"on": "La pausa no puede empezar antes del fin de la anterior"})
    return (*pauses, Pause(on))


def resume(pauses: Sequence[Pause], on: date) -> tuple[Pause, ...]:
    """``pauses`` with the open pause ended on ``on``."""
    open_ = [p for p in pauses if p.end is None]
    if not open_:
        raise LoanInvalid({"pauses": "El conteo de mora no está en pausa"})
    if on <= open_[0].start:
        raise LoanInvalid({"on": "La reanudación debe ser posterior al inicio de la pausa"})
    return tuple(Pause(p.start, on) if p.end is None else p for p in pauses)


def paused_days(pauses: Iterable[Pause], after: date, through: date) -> int:
    """Days in (``after``, ``through``] covered by ``pauses``."""
    total = 0
    for p in pauses:
        first = max(p.start, date.fromordinal(after.toordinal() + 1))
        last_exclusive = through.toordinal() + 1 if p.end is None else min(p.end.toordinal(), through.toordinal() + 1)
        total += max(0, last_exclusive - first.toordinal())
    return total


def days_past_due(unpaid_due_dates: Iterable[date], as_of: date, pauses: Iterable[Pause] = ()) -> int:
    """Days since the oldest unpaid due date before ``as_of``, less paused days; 0 when none."""
    oldest: date | None = None
    for due in unpaid_due_dates:
        if due < as_of and (oldest is None or due < oldest):
            oldest = due
    if oldest is None:
        return 0
    return (as_of - oldest).days - paused_days(pauses, oldest, as_of)


def bucket_index(days: int, buckets: Sequence[Bucket] = DEFAULT_BUCKETS) -> int | None:
    """The index of the bucket ``days`` falls in; ``None`` when not late (0 days)."""
    for i, (low, high) in enumerate(buckets):
        if days >= low and (high is None or days <= high):
            return i
    return None


def bucket_label(bucket: Bucket) -> str:
    low, high = bucket
    return f"{low}+" if high is None else f"{low}-{high}"


@dataclass(frozen=True)
class Arrears:
    days_past_due: int
    aged_days: int  # after the arrears grace
    bucket: str | None  # label such as "31-60"; None when not overdue
    bucket_index: int | None
    oldest_unpaid_due: date | None

    @property
    def overdue(self) -> bool:
        return self.aged_days > 0


def arrears(
    product: LoanProduct, unpaid_due_dates: Iterable[date], as_of: date, pauses: Sequence[Pause] = ()
) -> Arrears:
    """The loan's arrears as of ``as_of`` under ``product``'s grace and buckets."""
    dates = [d for d in unpaid_due_dates if d < as_of]
    dpd = days_past_due(dates, as_of, pauses)
    aged = max(0, dpd - product.arrears_grace_days)
    index = bucket_index(aged, product.buckets)
    label = None if index is None else bucket_label(product.buckets[index])
    return Arrears(dpd, aged, label, index, min(dates) if dates else None)
