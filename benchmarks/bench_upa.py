"""UPA (% active productive units, ``services/reports/kpis/upa.yaml``) over a
populated reports projection, beside a raw aggregation over the same data in the
same run, on the real SecantusDB (started on loopback, nothing else).

Seeds ``--units`` (default 10,000) productive units in the projection's own format
(``adapters.unit_store.unit_doc`` of ``domain.units.Unit``): 40 communities, four
sectors, both kinds, one or two owners; 70 % reached implementation at some day of
the last two years, and each UP has 0 to 6 follow-ups over the last 15 months
(operating with sales 3 times in 4). Then, ``--rounds`` times each, median:

- **value**: the UPA of today, numerator and denominator, as the service computes
  a value no snapshot holds (``KpiQueries.value``: one read of the UPs that
  reached implementation, then the rule, the latest follow-up in the window,
  applied in Python to both parts);
- **value by comunidad**: the same, grouped;
- **series**: the 12 monthly values, numerator and denominator
  (``MongoEvaluator.series`` within ``reading_once``, as ``KpiQueries.series``
  computes them: one read, the rule applied per month);
- **refresh**: the whole KPI as the periodic refresh stores it (overall, four
  disaggregations, the series; ``KpiQueries.refresh``: one read of the UPs).

Baseline: a raw ``aggregate`` (``$match`` on reached implementation and a positive
follow-up in the window, ``$group`` count) and a raw ``count_documents`` of the
denominator, once per value (twelve of each for the series). The raw aggregation
counts a UP with *any* positive follow-up in the window, so it overcounts the UPs
whose latest follow-up says they stopped: the figure printed beside it says by
how much. The benchmark also checks the service's value against the rule applied
to every UP in memory.

    python -m benchmarks.bench_upa [--units 10000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pymongo import MongoClient

from benchmarks._common import Row, print_rows, sigterm_unwinds
from crm_platform.mongo import DURABLE_WRITES
from devstack.infra import Stack
from services.reports.adapters.evaluate import MongoEvaluator
from services.reports.adapters.store import MongoSnapshots, open_database
from services.reports.adapters.unit_store import unit_doc
from services.reports.domain import units as U
from services.reports.domain.definitions import load_dir
from services.reports.service_layer.kpis import KpiQueries, month_ends

NAME = "upa"
TODAY = date(2026, 12, 6)
COMMUNITIES = 40
SECTORS = ("agroindustria", "comercio", "servicios", "artesanias")
KINDS = ("emprendimiento", "fortalecimiento")


def units(count: int) -> list[U.Unit]:
    rng = random.Random(20261207)
    out = []
    for n in range(count):
        owners = tuple(f"p{n}-{i}" for i in range(rng.choice((1, 1, 2))))
        stages: dict[int, tuple[str, str]] = {0: ("diagnostico", (TODAY - timedelta(days=800)).isoformat())}
        if rng.random() < 0.7:
            stages[5] = (rng.choice(("implementacion", "capitalizacion")), _day(rng, 730))
        followups = {}
        for i in range(rng.randint(0, 6)):
            acta = f"a{n}-{i}"
            day = _day(rng, 450)
            positive = rng.random() < 0.75
            sales = str(rng.randint(50, 3000) * 1000) if positive else "0"
            followups[acta] = U.Followup(acta, positive, sales, day, f"{day}T15:00:00+00:00")
        out.append(
            U.Unit(
                f"u{n:06d}", f"Unidad {n:05d}", f"f{n}", owners, f"c{n % COMMUNITIES:02d}", SECTORS[n % len(SECTORS)],
                KINDS[n % 2], "2024-10-01", stages, {o: rng.choice(("female", "male")) for o in owners}, followups,
            )
        )  # fmt: skip
    return out


def _day(rng: random.Random, within: int) -> str:
    return (TODAY - timedelta(days=rng.randint(0, within))).isoformat()


def timed(call: Callable[[], Any], rounds: int) -> tuple[float, Any]:
    samples, result = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        result = call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), result


def measure(mongo_uri: str, count: int, rounds: int) -> dict[str, Any]:
    client, db = open_database(mongo_uri, "bench_upa")
    seeded = units(count)
    started = time.perf_counter()
    docs = [{**unit_doc(u), "rev": 1} for u in seeded]
    for i in range(0, len(docs), 1000):
        db.productive_units.insert_many(docs[i : i + 1000])
    seed_seconds = time.perf_counter() - started
    catalog = {"upa": load_dir()["upa"]}
    kpi = catalog["upa"]
    num, den = kpi.numerator, kpi.denominator
    assert den is not None
    window = int(num.where["active_within_days"])
    evaluator = MongoEvaluator(db)
    raw_units = MongoClient(mongo_uri, **DURABLE_WRITES)["bench_upa"].productive_units

    # Never served from a snapshot here: every call computes (as a request for
    # another cut-off date does).
    queries = KpiQueries(catalog, evaluator, MongoSnapshots(db), lambda: TODAY, fresh_for=timedelta(0))

    def value() -> tuple[int, int]:
        total = queries.value("upa").total
        return int(total.numerator), int(total.denominator)

    def by_community() -> int:
        return len(queries.value("upa", by="comunidad").groups)

    days = month_ends(TODAY, 12)

    def series() -> tuple[list[int], list[int]]:
        with evaluator.reading_once():  # as ``KpiQueries.series`` computes it
            return evaluator.series(num.source, num.where, days), evaluator.series(den.source, den.where, days)

    def raw_value(day: date) -> tuple[int, int]:
        start, end = U.window_start(day, window), day.isoformat()
        implemented = {"implemented_on": {"$gt": "", "$lte": end}}
        positive = {"followups": {"$elemMatch": {"day": {"$gte": start, "$lte": end}, "positive": True}}}
        found = list(
            raw_units.aggregate([{"$match": {**implemented, **positive}}, {"$group": {"_id": None, "n": {"$sum": 1}}}])
        )
        return (found[0]["n"] if found else 0), raw_units.count_documents(implemented)

    out: dict[str, Any] = {"seed": seed_seconds}
    out["value"], upa = timed(value, rounds)
    out["raw_value"], raw = timed(lambda: raw_value(TODAY), rounds)
    out["by_community"], _ = timed(by_community, rounds)
    out["series"], (series_num, _) = timed(series, rounds)
    out["raw_series"], _ = timed(lambda: [raw_value(d) for d in days], rounds)
    out["refresh"], _ = timed(queries.refresh, rounds)
    expected = (
        sum(U.is_active(u, TODAY, window) for u in seeded),
        sum(U.reached_implementation(u, TODAY) for u in seeded),
    )
    assert upa == expected, (upa, expected)
    assert series_num[-1] == expected[0]
    out.update(upa=upa, raw=raw, expected=expected)
    client.drop_database("bench_upa")
    client.close()
    raw_units.database.client.close()
    return out


def run(count: int = 10_000, rounds: int = 5) -> list[Row]:
    with sigterm_unwinds(), tempfile.TemporaryDirectory(prefix="crm-bench-upa-") as tmp:
        stack = Stack(var_dir=Path(tmp))
        try:
            stack.start_mongo()
            found = measure(stack.env["MONGO_URI"], count, rounds)
        finally:
            stack.stop()
    (n, d), (raw_n, _) = found["upa"], found["raw"]
    print(
        f"[{NAME}] seeded {count} UPs in {found['seed']:.1f}s; UPA {n}/{d} = {100 * n / d:.1f} % "
        f"(checked against the rule in memory); the raw aggregation counts {raw_n} "
        f"({raw_n - n} UPs whose latest follow-up in the window is not active)",
        flush=True,
    )
    ms = 1000.0
    raw, raw_series = found["raw_value"] * ms, found["raw_series"] * ms
    label = "raw aggregate + count_documents"
    return [
        Row(NAME, f"UPA value today, {count:,} UPs (numerator and denominator)", "ms", found["value"] * ms, raw, label),
        Row(NAME, f"UPA by comunidad, {count:,} UPs", "ms", found["by_community"] * ms, raw, label),
        Row(NAME, f"UPA series, 12 months, {count:,} UPs", "ms", found["series"] * ms, raw_series,
            f"{label}, 12 times"),
        Row(NAME, f"UPA refresh (total, 4 disaggregations, series), {count:,} UPs", "ms", found["refresh"] * ms,
            raw_series, f"{label}, 12 times"),
    ]  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_upa", description=__doc__)
    parser.add_argument("--units", type=int, default=10_000, help="productive units seeded (default 10,000)")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per figure, median (default 5)")
    parser.add_argument("--quick", action="store_true", help="2,000 UPs, 2 rounds")
    args = parser.parse_args(argv)
    print_rows(NAME, run(2000, 2) if args.quick else run(args.units, args.rounds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
