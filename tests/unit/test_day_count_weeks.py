"""How a range of days splits into whole ISO weeks (read from the week roll-ups)
and the days at either end (read from the day counts)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.actas.adapters.day_counts import split_weeks


def _days(first: str | None, last: str | None, lo: date, hi: date) -> set[date]:
    start = date.fromisoformat(first) if first else lo
    end = date.fromisoformat(last) if last else hi
    return {start + timedelta(days=n) for n in range((end - start).days + 1)}


@pytest.mark.parametrize("first_offset", [None, 0, 1, 3, 6, 7, 12])
@pytest.mark.parametrize("last_offset", [None, 5, 6, 13, 14, 20, 27, 30])
def test_the_pieces_cover_the_range_exactly_once_and_weeks_are_whole(
    first_offset: int | None, last_offset: int | None
) -> None:
    monday = date(2026, 11, 2)
    lo, hi = monday - timedelta(days=30), monday + timedelta(days=60)  # what "open" stands for here
    first = (monday + timedelta(days=first_offset)).isoformat() if first_offset is not None else None
    last = (monday + timedelta(days=last_offset)).isoformat() if last_offset is not None else None
    if first and last and first > last:
        return
    day_ranges, weeks = split_weeks(first, last)
    covered: list[date] = []
    for a, b in day_ranges:
        covered += sorted(_days(a, b, lo, hi))
    if weeks is not None:
        week_from, week_to = weeks
        for bound in (week_from, week_to):
            assert bound is None or date.fromisoformat(bound).weekday() == 0  # Mondays
        start = date.fromisoformat(week_from) if week_from else monday_on_or_before(lo)
        end = date.fromisoformat(week_to) + timedelta(days=6) if week_to else hi
        covered += sorted(_days(start.isoformat(), end.isoformat(), lo, hi))
    assert len(covered) == len(set(covered))
    assert {d for d in covered if lo <= d <= hi} == _days(first, last, lo, hi)


def monday_on_or_before(day: date) -> date:
    return day - timedelta(days=day.weekday())


def test_a_range_inside_one_week_is_read_from_days_only() -> None:
    assert split_weeks("2026-11-04", "2026-11-06") == ([("2026-11-04", "2026-11-06")], None)


def test_twelve_weeks_from_a_monday_to_now_are_weeks_only() -> None:
    assert split_weeks("2026-09-14", None) == ([], ("2026-09-14", None))
