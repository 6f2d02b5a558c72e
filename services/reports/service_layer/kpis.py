"""Reading KPI values: from a snapshot computed at most ``fresh_for`` ago.

The values are a **periodic snapshot**: a background worker (``refresh``) values
every KPI, overall and by each of its disaggregations, as of today, every
``REPORTS_REFRESH_SECONDS``, and stores the results. A request reads a stored
value (one document); only a value that is missing or older than ``fresh_for``
(another date, a new definition) is computed on the spot, once, and stored for the
next reader. Pages show ``computed_at``. Computing reads the projection's indexed
collections, never the services' records.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from crm_platform.errors import InvalidArgument, NotFound
from services.reports.domain import values as V
from services.reports.domain.definitions import MAX_MONTHS, KpiDefinition, Part
from services.reports.domain.sources import COMMUNITY, KIND, SEX
from services.reports.service_layer.ports import Counts, Evaluator, Snapshots

MAX_PAGE = 200
PARTS = ("numerator", "denominator")
DEFAULT_MONTHS = 12


@dataclass(frozen=True)
class KpiResult:
    kpi: KpiDefinition
    as_of: date
    by: str
    total: V.GroupValue
    groups: list[V.GroupValue]
    computed_at: datetime


@dataclass(frozen=True)
class SeriesPoint:
    month: str  # YYYY-MM
    as_of: date  # the month's last day; today for the current month
    value: V.GroupValue


@dataclass(frozen=True)
class SeriesResult:
    kpi: KpiDefinition
    points: list[SeriesPoint]
    computed_at: datetime


def month_ends(today: date, months: int) -> list[date]:
    """The last day of each of the ``months - 1`` months before ``today``'s, oldest
    first, then ``today`` (the current month so far)."""
    ends: list[date] = []
    first = today.replace(day=1)
    for _ in range(months - 1):
        end = first - timedelta(days=1)
        ends.append(end)
        first = end.replace(day=1)
    return [*reversed(ends), today]


@dataclass
class KpiQueries:
    catalog: Mapping[str, KpiDefinition]
    evaluator: Evaluator
    snapshots: Snapshots
    today: Callable[[], date]
    fresh_for: timedelta = timedelta(seconds=120)
    now: Callable[[], datetime] = lambda: datetime.now(UTC)

    def definition(self, code: str) -> KpiDefinition:
        found = self.catalog.get(code)
        if found is None:
            raise NotFound(f"No existe el indicador {code!r}")
        return found

    def value(self, code: str, as_of: str = "", by: str = "") -> KpiResult:
        kpi = self.definition(code)
        day = self._as_of(as_of)
        if by and by not in kpi.disaggregations:
            options = ", ".join(kpi.disaggregations) or "ninguna"
            raise InvalidArgument({"by": f"Este indicador no se desagrega por {by!r} (opciones: {options})"})
        found = self.snapshots.get(f"{kpi.code}|{day.isoformat()}|{by}")
        if found is not None and self.now() - found[1] < self.fresh_for:
            return self._result(kpi, day, by, found[0], found[1])
        return self._compute(kpi, day, by)

    def refresh(self) -> int:
        """Value every KPI as of today, overall and by each disaggregation. A count
        two KPIs share (the households registered, for both coverages) is read once,
        and a total is the sum of a disaggregation's groups (each record is in
        exactly one group), so the projection is read as few times as possible."""
        with self.evaluator.reading_once():
            return self._refresh(self.today())

    def _refresh(self, day: date) -> int:
        done = 0
        counted: dict[tuple[str, str, str], Counts] = {}

        def count(part: Part, by: str) -> Counts:
            key = (part.source, repr(sorted(part.where.items())), by)
            if key not in counted:
                counted[key] = self.evaluator.count(part.source, part.where, day, by)
            return counted[key]

        for kpi in self.catalog.values():
            for by in (*kpi.disaggregations, ""):
                if by:
                    num = count(kpi.numerator, by)
                    den = count(kpi.denominator, by) if kpi.denominator else None
                else:
                    first = kpi.disaggregations[0] if kpi.disaggregations else ""
                    num = _summed(count(kpi.numerator, first))
                    den = _summed(count(kpi.denominator, first)) if kpi.denominator else None
                self._store(kpi, day, by, num, den)
                done += 1
            if kpi.series_months:
                self._compute_series(kpi, day, kpi.series_months)
                done += 1
        return done

    def series(self, code: str, months: int = 0) -> SeriesResult:
        """Monthly values up to today: each month's last day, and today for this month."""
        kpi = self.definition(code)
        months = months or kpi.series_months or DEFAULT_MONTHS
        if not 2 <= months <= MAX_MONTHS:
            raise InvalidArgument({"months": f"Pida entre 2 y {MAX_MONTHS} meses"})
        day = self.today()
        found = self.snapshots.get(f"series|{kpi.code}|{day.isoformat()}|{months}")
        if found is not None and self.now() - found[1] < self.fresh_for:
            return self._series_result(kpi, found[0], found[1])
        with self.evaluator.reading_once():  # numerator and denominator from one read where they share it
            return self._compute_series(kpi, day, months)

    def drill_down(
        self, code: str, as_of: str, by: str, key: str, part: str, after: str, limit: int
    ) -> tuple[str, list[dict[str, str]], str]:
        """(source, a page of records, the id to continue after or "")."""
        kpi = self.definition(code)
        day = self._as_of(as_of)
        part = part or "numerator"
        if part not in PARTS:
            raise InvalidArgument({"part": "Use numerator o denominator"})
        chosen = kpi.part(part)
        if chosen is None:
            raise InvalidArgument({"part": "Este indicador no tiene denominador"})
        if by and by not in kpi.disaggregations:
            raise InvalidArgument({"by": f"Este indicador no se desagrega por {by!r}"})
        if by and not key:
            raise InvalidArgument({"key": "Indique el grupo cuyos registros quiere ver"})
        limit = max(1, min(limit or 50, MAX_PAGE))
        rows = self.evaluator.records(chosen.source, chosen.where, day, by, key if by else "", after, limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        if any("community_id" in r for r in rows):
            communities = self.evaluator.community_names()
            rows = [{**r, "community": communities.get(r.get("community_id", ""), "")} for r in rows]
        return chosen.source, rows, rows[-1]["id"] if more and rows else ""

    # -- helpers ----------------------------------------------------------------------
    def _as_of(self, raw: str) -> date:
        if not raw:
            return self.today()
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise InvalidArgument({"as_of": "Escriba la fecha de corte como AAAA-MM-DD"}) from None
        if day > self.today():
            raise InvalidArgument({"as_of": "La fecha de corte no puede ser posterior a hoy"})
        if day.year < 2000:
            raise InvalidArgument({"as_of": "La fecha de corte debe ser del año 2000 en adelante"})
        return day

    def _compute(self, kpi: KpiDefinition, day: date, by: str) -> KpiResult:
        with self.evaluator.reading_once():  # numerator and denominator from one read where they share it
            num = self.evaluator.count(kpi.numerator.source, kpi.numerator.where, day, by)
            den = None
            if kpi.denominator is not None:
                den = self.evaluator.count(kpi.denominator.source, kpi.denominator.where, day, by)
        return self._store(kpi, day, by, num, den)

    def _store(self, kpi: KpiDefinition, day: date, by: str, num: Counts, den: Counts | None) -> KpiResult:
        computed_at = self.now()
        # Lists, not maps: a group key (a username such as "gestora.ana") may not be a field name.
        stored = {"numerators": sorted(num.items()), "denominators": sorted(den.items()) if den is not None else None}
        self.snapshots.put(f"{kpi.code}|{day.isoformat()}|{by}", stored, computed_at)
        return self._result(kpi, day, by, stored, computed_at)

    def _compute_series(self, kpi: KpiDefinition, day: date, months: int) -> SeriesResult:
        days = month_ends(day, months)
        num = self.evaluator.series(kpi.numerator.source, kpi.numerator.where, days)
        den = self.evaluator.series(kpi.denominator.source, kpi.denominator.where, days) if kpi.denominator else None
        stored = {"days": [d.isoformat() for d in days], "numerators": num, "denominators": den}
        computed_at = self.now()
        self.snapshots.put(f"series|{kpi.code}|{day.isoformat()}|{months}", stored, computed_at)
        return self._series_result(kpi, stored, computed_at)

    def _series_result(self, kpi: KpiDefinition, stored: dict[str, Any], at: datetime) -> SeriesResult:
        dens = stored.get("denominators")
        points = []
        for i, raw in enumerate(stored["days"]):
            n, d = int(stored["numerators"][i]), int(dens[i]) if dens is not None else 0
            points.append(
                SeriesPoint(
                    raw[:7], date.fromisoformat(raw), V.GroupValue("", raw[:7], n, d, V.value_of(kpi.unit, n, d))
                )
            )
        return SeriesResult(kpi, points, at)

    def _result(self, kpi: KpiDefinition, day: date, by: str, stored: dict[str, Any], at: datetime) -> KpiResult:
        num = {str(k): int(n) for k, n in stored["numerators"]}
        raw = stored.get("denominators")
        den = {str(k): int(n) for k, n in raw} if raw is not None else None
        labels: dict[str, str] = {}
        if by == COMMUNITY:
            labels = self.evaluator.community_names()
        elif by == SEX:
            labels = V.SEX_LABELS
        elif by == KIND:
            labels = V.KIND_LABELS
        groups = V.groups(kpi.unit, num, den, labels) if by else []
        return KpiResult(kpi, day, by, V.total(kpi.unit, num, den), groups, at)


def _summed(counts: Counts) -> Counts:
    return {"": sum(counts.values())}
