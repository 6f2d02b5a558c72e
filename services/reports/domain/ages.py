"""Age bands (the life-course stages Colombian social programmes report by) and the
birth-date ranges that put a person in each band on a given date."""

from __future__ import annotations

from datetime import date

UNKNOWN = "sin_dato"
# (label, lowest age, highest age or None for open-ended), youngest first.
BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0-5", 0, 5),
    ("6-11", 6, 11),
    ("12-17", 12, 17),
    ("18-28", 18, 28),
    ("29-59", 29, 59),
    ("60+", 60, None),
)
LABELS = tuple(label for label, _, _ in BANDS)


def years_before(day: date, years: int) -> date:
    """``day`` ``years`` years earlier; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def band_of(birth_date: str | None, day: date) -> str:
    """The band of someone born on ``birth_date`` (ISO) on ``day``; UNKNOWN without a date."""
    if not birth_date:
        return UNKNOWN
    try:
        age = age_on(date.fromisoformat(birth_date), day)
    except ValueError:
        return UNKNOWN
    for label, low, high in BANDS:
        if age >= low and (high is None or age <= high):
            return label
    return UNKNOWN  # born after ``day``


def thresholds(day: date) -> list[tuple[str, str]]:
    """(label, ISO date) pairs, youngest band first: someone is in the first band whose
    date their birth date is after (the last band has no date: everyone else)."""
    out = []
    for label, _, high in BANDS:
        if high is not None:
            out.append((label, years_before(day, high + 1).isoformat()))
    return out


def birth_range(label: str, day: date) -> tuple[str | None, str | None]:
    """Birth dates (exclusive lower, inclusive upper, ISO) of the band ``label`` on ``day``."""
    for name, low, high in BANDS:
        if name == label:
            upper = years_before(day, low).isoformat()
            lower = years_before(day, high + 1).isoformat() if high is not None else None
            return lower, upper
    raise ValueError(f"unknown age band {label!r}")
