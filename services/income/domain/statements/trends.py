"""How each ratio moves over a UP's periods. Months and quarters are separate
series (a quarter is not the month after a month). Each point carries its change
from the previous point of the series that has a value (an undefined ratio, a
zero denominator, is a gap: it neither moves nor breaks the series)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from services.income.domain.statements.period import Period, PeriodKind
from services.income.domain.statements.statement import RATIO_LABELS, Statement, in_order


class Direction:
    UP = "sube"
    DOWN = "baja"
    SAME = "igual"
    NONE = ""  # the first value, or no value


@dataclass(frozen=True)
class TrendPoint:
    period: Period
    value: Decimal | None
    change: Decimal | None  # value minus the previous value in the series
    direction: str


@dataclass(frozen=True)
class RatioTrend:
    ratio: str  # a key of RATIO_LABELS
    kind: PeriodKind
    points: tuple[TrendPoint, ...]

    @property
    def label(self) -> str:
        return RATIO_LABELS[self.ratio]

    @property
    def last_direction(self) -> str:
        """The direction of the latest change (``""`` with fewer than two values)."""
        for point in reversed(self.points):
            if point.value is not None:
                return point.direction
        return Direction.NONE


def _direction(change: Decimal) -> str:
    if change > 0:
        return Direction.UP
    return Direction.DOWN if change < 0 else Direction.SAME


def series(statements: Sequence[Statement], ratio_name: str, kind: PeriodKind) -> RatioTrend:
    """One ratio over the statements of one kind, oldest first."""
    points: list[TrendPoint] = []
    previous: Decimal | None = None
    for statement in in_order([s for s in statements if s.period.kind == kind]):
        value = getattr(statement.ratios, ratio_name)
        if value is None:
            points.append(TrendPoint(statement.period, None, None, Direction.NONE))
            continue
        change = None if previous is None else value - previous
        points.append(
            TrendPoint(statement.period, value, change, Direction.NONE if change is None else _direction(change))
        )
        previous = value
    return RatioTrend(ratio_name, kind, tuple(points))


def trends(statements: Sequence[Statement]) -> list[RatioTrend]:
    """Every ratio's series for each kind of period present (months first)."""
    in_order(statements)  # the same period twice is refused before anything is drawn
    kinds = [k for k in PeriodKind if any(s.period.kind == k for s in statements)]
    return [series(statements, name, kind) for kind in kinds for name in RATIO_LABELS]
