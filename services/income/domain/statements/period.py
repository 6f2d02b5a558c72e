"""The period of a statement: a month (``2026-11``) or a quarter (``2026-T4``).

A period's text is its identity: ``2026-t4`` is read as ``2026-T4``; anything
else (``2026-13``, ``2026-Q4``, ``11-2026``) is an error naming ``period``."""

from __future__ import annotations

import calendar
import functools
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from crm_platform import errors as vocabulary
from crm_platform.dates import MONTHS

MIN_YEAR, MAX_YEAR = 2000, 2100
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-[Tt]([1-4])$")
FORMAT_HINT = "Escriba el periodo como año-mes (2026-11) o año-trimestre (2026-T4)"


class PeriodKind(StrEnum):
    MONTHLY = "mensual"
    QUARTERLY = "trimestral"


class PeriodInvalid(vocabulary.InvalidArgument):
    def __init__(self, message: str, field: str = "period") -> None:
        super().__init__({field: message})


@functools.total_ordering
@dataclass(frozen=True)
class Period:
    """Ordered by their last day, a month before the quarter it closes: 2026-09,
    2026-T3, 2026-10."""

    start: date
    span: int  # months: 1 or 3

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Period):
            return NotImplemented
        return (self.end, self.span) < (other.end, other.span)

    @property
    def kind(self) -> PeriodKind:
        return PeriodKind.MONTHLY if self.span == 1 else PeriodKind.QUARTERLY

    @property
    def key(self) -> str:
        if self.span == 1:
            return f"{self.start.year:04d}-{self.start.month:02d}"
        return f"{self.start.year:04d}-T{(self.start.month - 1) // 3 + 1}"

    @property
    def end(self) -> date:
        """The period's last day."""
        last_month = self.start.month + self.span - 1
        return date(self.start.year, last_month, calendar.monthrange(self.start.year, last_month)[1])

    def months(self) -> tuple[str, ...]:
        """The months it spans, as ``YYYY-MM``."""
        return tuple(f"{self.start.year:04d}-{self.start.month + i:02d}" for i in range(self.span))

    def label(self) -> str:
        """In Spanish, for a person: ``noviembre de 2026``, ``4.º trimestre de 2026``."""
        if self.span == 1:
            return f"{MONTH_NAMES[self.start.month - 1]} de {self.start.year}"
        return f"{(self.start.month - 1) // 3 + 1}.º trimestre de {self.start.year}"

    def __str__(self) -> str:
        return self.key


MONTH_NAMES = MONTHS  # "enero" … "diciembre"


def parse_period(text: str, field: str = "period") -> Period:
    """``text`` as a Period; PeriodInvalid naming ``field`` otherwise."""
    raw = str(text or "").strip()
    if not raw:
        raise PeriodInvalid(f"El periodo es obligatorio. {FORMAT_HINT}.", field)
    month, quarter = _MONTH.match(raw), _QUARTER.match(raw)
    if month:
        year, number = int(month.group(1)), int(month.group(2))
        if not 1 <= number <= 12:
            raise PeriodInvalid(f"El mes {number:02d} no existe: use 01 a 12. {FORMAT_HINT}.", field)
        start = (year, number, 1)
        span = 1
    elif quarter:
        year, number = int(quarter.group(1)), int(quarter.group(2))
        start = (year, (number - 1) * 3 + 1, 1)
        span = 3
    else:
        raise PeriodInvalid(f"No se reconoce el periodo «{raw[:20]}». {FORMAT_HINT}.", field)
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise PeriodInvalid(f"El año debe estar entre {MIN_YEAR} y {MAX_YEAR}", field)
    return Period(date(*start), span)


def quarter_of(month_key: str) -> Period:
    """The quarter that holds the month ``YYYY-MM``."""
    month = parse_period(month_key)
    return Period(date(month.start.year, (month.start.month - 1) // 3 * 3 + 1, 1), 3)
