"""KPI values: percent arithmetic, groups, snapshots served while fresh, drill-down
pages and the Spanish field errors of bad requests."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from crm_platform.errors import InvalidArgument, NotFound
from services.reports.adapters.evaluate import query
from services.reports.domain import values as V
from services.reports.domain.definitions import load_dir
from services.reports.service_layer.kpis import KpiQueries, month_ends
from tests.unit.reports_fakes import FakeSnapshots

TODAY = date(2026, 12, 6)


class FakeEvaluator:
    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], dict[str, int]] = {
            ("households", ""): {"": 4},
            ("households", "comunidad"): {"c1": 3, "c2": 1},
        }
        self.visited = {"": 1, "c1": 1}
        self.calls = 0
        self.series_calls: list[tuple[str, date]] = []
        self.rows = [{"id": f"h{i:02d}", "community_id": "c1"} for i in range(7)]

    def count(self, source: str, where: Mapping[str, Any], as_of: date, by: str) -> dict[str, int]:
        self.calls += 1
        if where.get("visited_within_days"):
            return {k: v for k, v in self.visited.items() if (k == "") == (by == "")}
        return dict(self.counts.get((source, by), {}))

    def records(
        self, source: str, where: Mapping[str, Any], as_of: date, by: str, key: str, after: str, limit: int
    ) -> list[dict[str, str]]:
        return [r for r in self.rows if r["id"] > after][:limit]

    def series(self, source: str, where: Mapping[str, Any], days: Sequence[date]) -> list[int]:
        self.series_calls.append((source, days[-1]))
        return [i + (2 if where else 5) for i, _ in enumerate(days)]

    def community_names(self) -> dict[str, str]:
        return {"c1": "Roche", "c2": "Tabaco"}

    def reading_once(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def kpis() -> tuple[KpiQueries, FakeEvaluator, Clock]:
    evaluator, clock = FakeEvaluator(), Clock()
    return (
        KpiQueries(load_dir(), evaluator, FakeSnapshots(), lambda: TODAY, timedelta(seconds=120), clock),
        evaluator,
        clock,
    )


def test_coverage_is_visited_over_registered_per_community_with_unvisited_communities_listed(
    kpis: tuple[KpiQueries, FakeEvaluator, Clock],
) -> None:
    queries, _, _ = kpis
    result = queries.value("cobertura_30d", by="comunidad")
    assert [(g.label, g.numerator, g.denominator, g.value) for g in result.groups] == [
        ("Roche", 1, 3, 33.3),
        ("Tabaco", 0, 1, 0.0),
    ]
    assert (result.total.numerator, result.total.denominator, result.total.value) == (1, 4, 25.0)
    assert V.value_of("percent", 3, 0) == 0.0 and V.value_of("count", 7, 0) == 7.0


def test_a_value_is_served_from_its_snapshot_until_it_is_older_than_fresh_for(
    kpis: tuple[KpiQueries, FakeEvaluator, Clock],
) -> None:
    queries, evaluator, clock = kpis
    first = queries.value("cobertura_30d")
    calls = evaluator.calls
    clock.at += timedelta(seconds=119)
    assert queries.value("cobertura_30d").computed_at == first.computed_at and evaluator.calls == calls
    clock.at += timedelta(seconds=2)
    assert queries.value("cobertura_30d").computed_at == clock.at and evaluator.calls > calls


def test_refresh_values_every_kpi_overall_and_by_each_disaggregation_reading_each_count_once(
    kpis: tuple[KpiQueries, FakeEvaluator, Clock],
) -> None:
    queries, evaluator, _ = kpis
    expected = sum(1 + len(k.disaggregations) + bool(k.series_months) for k in queries.catalog.values())
    assert queries.refresh() == expected
    # One read per distinct (source, filters, grouping): both coverages share the
    # households registered, and totals are sums of groups, not reads.
    distinct = {
        (k.numerator.source, str(k.numerator.where), d) for k in queries.catalog.values() for d in k.disaggregations
    }
    distinct |= {
        (k.denominator.source, str(k.denominator.where), d)
        for k in queries.catalog.values()
        if k.denominator
        for d in k.disaggregations
    }
    assert evaluator.calls == len(distinct)
    assert isinstance(queries.snapshots, FakeSnapshots)
    assert "participaciones|2026-12-06|gestor" in queries.snapshots.stored
    total = queries.value("cobertura_30d")
    assert (total.total.numerator, total.total.denominator) == (1, 4) and evaluator.calls == len(distinct)


def test_a_drill_down_pages_by_id(kpis: tuple[KpiQueries, FakeEvaluator, Clock]) -> None:
    queries, _, _ = kpis
    source, rows, after = queries.drill_down("cobertura_30d", "", "", "", "", "", 5)
    assert source == "households" and [r["id"] for r in rows] == ["h00", "h01", "h02", "h03", "h04"] and after == "h04"
    assert rows[0]["community"] == "Roche"  # the community's name beside its id
    _, rows, after = queries.drill_down("cobertura_30d", "", "", "", "denominator", after, 5)
    assert [r["id"] for r in rows] == ["h05", "h06"] and after == ""


@pytest.mark.parametrize(
    ("call", "field_name"),
    [
        (lambda q: q.value("cobertura_30d", as_of="06/12/2026"), "as_of"),
        (lambda q: q.value("cobertura_30d", as_of="2026-12-07"), "as_of"),
        (lambda q: q.value("cobertura_30d", by="sexo"), "by"),
        (lambda q: q.drill_down("hogares_sin_jefe", "", "", "", "denominator", "", 5), "part"),
        (lambda q: q.drill_down("cobertura_30d", "", "", "", "todo", "", 5), "part"),
        (lambda q: q.drill_down("cobertura_30d", "", "comunidad", "", "", "", 5), "key"),
    ],
)
def test_bad_requests_are_spanish_field_errors(
    kpis: tuple[KpiQueries, FakeEvaluator, Clock], call: Any, field_name: str
) -> None:
    with pytest.raises(InvalidArgument) as error:
        call(kpis[0])
    assert set(error.value.fields) == {field_name}


def test_an_unknown_kpi_is_not_found(kpis: tuple[KpiQueries, FakeEvaluator, Clock]) -> None:
    with pytest.raises(NotFound, match="no_existe"):
        kpis[0].value("no_existe")


def test_windows_end_on_the_cut_off_date_and_include_it() -> None:
    assert query("households", {"visited_within_days": 30}, TODAY) == {
        "registered_on": {"$lte": "2026-12-06"},
        "visit_days": {"$elemMatch": {"$gte": "2026-11-07", "$lte": "2026-12-06"}},
    }
    assert query("households", {"never_visited": True}, TODAY) == {
        "registered_on": {"$lte": "2026-12-06"},
        "$or": [{"first_visit": None}, {"first_visit": {"$gt": "2026-12-06"}}],
    }
    assert query("participations", {"within_days": 7}, TODAY) == {"day": {"$lte": "2026-12-06", "$gte": "2026-11-30"}}


def test_month_ends_are_each_months_last_day_then_today() -> None:
    ends = month_ends(date(2026, 3, 15), 4)
    assert ends == [date(2025, 12, 31), date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 15)]


def test_a_series_is_served_from_its_snapshot_and_refused_out_of_range(
    kpis: tuple[KpiQueries, FakeEvaluator, Clock],
) -> None:
    queries, evaluator, _ = kpis
    first = queries.series("upa")
    assert [p.month for p in first.points][-2:] == ["2026-11", "2026-12"] and len(first.points) == 12
    assert (first.points[0].value.numerator, first.points[0].value.denominator) == (2, 2)
    assert first.points[-1].as_of == date(2026, 12, 6) and first.points[-1].value.value == 100.0
    calls = len(evaluator.series_calls)
    assert queries.series("upa").computed_at == first.computed_at and len(evaluator.series_calls) == calls
    assert len(queries.series("upa", 3).points) == 3
    for months in (1, 37):
        with pytest.raises(InvalidArgument) as refused:
            queries.series("upa", months)
        assert "months" in refused.value.fields
