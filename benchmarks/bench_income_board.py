"""The income pages of the staff web app over a populated store: server time of
the board (``/app/unidades/tablero``: one ``CountUnits`` with ``newest=20``, every
column's exact count and its 20 newest cards) and of the list
(``/app/unidades``: ``ListUnits`` of 25 from the cursor, and ``CountUnits`` for the
total; unfiltered and filtered by sector in the service), signed in as a
coordinator, each beside the raw queries it replaces.

Seeds ``--units`` (default 10,000) productive units over 50 communities, spread
over the nine stages and registered one hour apart (about 14 months), straight
into the income service's collections in its own stored format: the UP document
(``IncomeHandlers.register`` plus its stage changes), its workflow instance and
its counts per stage. Then waits for crm-income to mark the counts complete,
signs in at ``/app/entrar`` like a browser and, one request at a time,
``--requests`` times each after ``--warmup`` unmeasured ones, interleaved in the
same loop (``benchmarks.bench_web.measure``):

- the page over HTTP (loopback: the round trip is the gateway's time);
- the gRPC calls the page makes, straight to the service (diagnostic);
- the raw PyMongo queries that give the same answer the one-query way, on the
  same SecantusDB (the baseline): for the board the ``$group`` by stage over the
  UPs (exact counts) and nine ``find(stage).sort("created_at", -1).limit(20)``;
  for the lists ``count_documents`` and ``find(...).sort("created_at", -1).limit(26)``.

Target: page p95 < 300 ms, no failed request.

    python -m benchmarks.bench_income_board [--units 10000] [--requests 50] [--warmup 5] [--quick]
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import httpx
import pymongo

from benchmarks._common import SUBJECT, Row, print_rows, running_stack
from benchmarks.bench_web import PASSWORD, TARGET_P95_MS, Page, Samples, _errors, _p50, _p95, measure, sign_in
from crm_platform.grpc_support import caller_metadata
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as bpb
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2_grpc as bpb_grpc
from crm_platform.proto_gen.crm.income.v1 import income_pb2 as pb
from crm_platform.proto_gen.crm.income.v1 import income_pb2_grpc as pb_grpc
from crm_platform.workflow import codec
from crm_platform.workflow.model import HistoryEntry, Instance
from gateway.web import unit_pages
from services.income.adapters import repository as income_repo
from services.income.adapters import unit_counts
from services.income.adapters.repository import LIST_PROJECTION
from services.income.domain.stages import STAGE_LABELS
from services.income.service_layer.stage_flow import COMPONENT

NAME = "income_board"
COORDINATOR = "coordinacion.gi.bench"
COMMUNITIES = 50
SECTORS = ("agroindustria", "comercio", "servicios", "artesanias")
KINDS = ("emprendimiento", "fortalecimiento")
STAGE_WEIGHTS = (30, 20, 10, 12, 8, 8, 6, 4, 2)  # most UPs are early in the workflow


def _setup(http: httpx.Client, beneficiaries_grpc: str) -> list[str]:
    """The coordinator's account (through the API) and the communities (gRPC)."""
    r = http.post("/api/v1/auth/login", json={"username": "admin", "password": "admin-dev-password"})
    r.raise_for_status()
    admin = {"Authorization": f"Bearer {r.json()['access_token']}"}
    body = {"username": COORDINATOR, "password": PASSWORD, "role": "coordinator", "full_name": "Coordinación G.I."}
    assert http.post("/api/v1/users", headers=admin, json=body).status_code == 201
    with grpc.insecure_channel(beneficiaries_grpc) as channel:
        stub = bpb_grpc.BeneficiariesServiceStub(channel)
        return [
            stub.RegisterCommunity(
                bpb.RegisterCommunityRequest(
                    name=f"Comunidad {n:02d}", municipality="Riohacha", department="La Guajira"
                ),
                metadata=caller_metadata(SUBJECT, "coordinator"),
                timeout=30,
            ).id
            for n in range(COMMUNITIES)
        ]


def seed_units(db: pymongo.database.Database[dict[str, Any]], count: int, communities: Sequence[str]) -> None:
    """``count`` UP documents as ``IncomeHandlers.register`` and the stage changes
    after it store them (stage history, ``workflow`` projection, ``counted``), each
    with its workflow instance (``crm_platform.workflow.codec``) and its counts per
    stage (``unit_counts.increments``); registered one hour apart, newest first."""
    rng = random.Random(20261206)
    now = datetime.now(UTC)
    stages = list(STAGE_LABELS)
    published = db["workflow_definitions"].find_one({"component": COMPONENT}, sort=[("version", -1)])
    assert published is not None, "crm-income publishes the seeded definition at start"
    version = int(published["version"])
    docs: list[dict[str, Any]] = []
    instances: list[dict[str, Any]] = []
    for n in range(count):
        stage = rng.choices(stages, weights=STAGE_WEIGHTS)[0]
        created = now - timedelta(hours=n)
        steps = list(itertools.pairwise(stages[: stages.index(stage) + 1]))
        history = [
            {"transition": "avance", "from_stage": a, "to_stage": b, "by": "gestor.bench", "at": created,
             "reason": "", "acta_id": ""}
            for a, b in steps
        ]  # fmt: skip
        unit_id = uuid.uuid4().hex
        docs.append(
            {
                "_id": unit_id,
                "name": f"Unidad productiva {n:05d}",
                "family_id": uuid.uuid4().hex,
                "owner_ids": [uuid.uuid4().hex],
                "community_id": communities[n % len(communities)],
                "sector": SECTORS[n % len(SECTORS)],
                "kind": KINDS[n % len(KINDS)],
                "stage": stage,
                "version": 1 + len(history),
                "workflow": {"definition_version": version, "seq": len(history)},
                "workflow_pending": [],
                "closing_reason": "Cierre de prueba" if stage == "cerrada" else "",
                "history": history,
                "followups": [],
                "plans": [],
                "created_at": created,
                "created_by": "gestor.bench",
                "rev": 1 + len(history),
                "counted": True,
                "outbox": [],
            }
        )
        entries = [HistoryEntry(0, "start", "gestor.bench", created, None, stages[0], definition_version=version)]
        entries += [
            HistoryEntry(i + 1, "transition", "gestor.bench", created, a, b, transition="avance")
            for i, (a, b) in enumerate(steps)
        ]
        instances.append(
            codec.instance_doc(
                Instance(unit_id, COMPONENT, version, stage, {}, 1 + len(history), len(history), created, None, entries)
            )
        )
    for start in range(0, count, 1000):
        db["units"].insert_many(docs[start : start + 1000])
        db["workflow_instances"].insert_many(instances[start : start + 1000])
    db["unit_counts"].bulk_write(unit_counts.seed(docs))


def _counts_complete(db: pymongo.database.Database[dict[str, Any]], seconds: float = 90.0) -> None:
    """Wait for crm-income's one-time backfill to find nothing uncounted and mark the
    counts complete (until then CountUnits counts the UPs themselves)."""
    deadline = time.monotonic() + seconds
    while db["unit_counts"].find_one({"_id": unit_counts.COMPLETE}) is None:
        if time.monotonic() > deadline:
            raise RuntimeError("crm-income did not mark the counts per stage complete")
        time.sleep(0.5)


def _pages(stack: Any, units: pymongo.collection.Collection[dict[str, Any]]) -> list[Page]:
    stub = pb_grpc.IncomeServiceStub(grpc.insecure_channel(stack.env["INCOME_GRPC"]))
    md = caller_metadata(COORDINATOR, "coordinator")

    def grpc_board() -> Any:
        return stub.CountUnits(pb.CountUnitsRequest(newest=unit_pages.CARDS), metadata=md, timeout=60)

    def raw_board() -> Any:
        counted = list(units.aggregate([{"$group": {"_id": "$stage", "n": {"$sum": 1}}}]))
        for stage in STAGE_LABELS:
            list(units.find({"stage": stage}, LIST_PROJECTION).sort("created_at", -1).limit(unit_pages.CARDS))
        return counted

    def grpc_list(sector: str = "") -> Callable[[], Any]:
        def call() -> Any:
            stub.CountUnits(pb.CountUnitsRequest(sector=sector), metadata=md, timeout=60)
            return stub.ListUnits(pb.ListUnitsRequest(sector=sector, limit=unit_pages.PAGE), metadata=md, timeout=60)

        return call

    def raw_list(sector: str = "") -> Callable[[], Any]:
        selector = {"sector": sector} if sector else {}

        def call() -> Any:
            units.count_documents(selector)
            return list(units.find(selector, LIST_PROJECTION).sort("created_at", -1).limit(unit_pages.PAGE + 1))

        return call

    sector = SECTORS[1]
    return [
        Page("board /app/unidades/tablero", "/app/unidades/tablero", grpc_board, raw_board, "Graduada"),
        Page("list /app/unidades", "/app/unidades", grpc_list(), raw_list(), "Unidad productiva 00000"),
        Page(
            f"list /app/unidades?sector={sector}",
            f"/app/unidades?sector={sector}",
            grpc_list(sector),
            raw_list(sector),
            "Unidad productiva 00001",
        ),
    ]


def run(units: int = 10_000, requests: int = 50, warmup: int = 5, phase_seconds: float = 120.0) -> list[Row]:
    results: dict[str, Samples] = {}
    with running_stack(NAME) as stack:
        mongo: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(stack.env["MONGO_URI"], tz_aware=True)
        http = httpx.Client(base_url=stack.urls["gateway"], timeout=120)
        try:
            communities = _setup(http, stack.env["BENEFICIARIES_GRPC"])
            db = mongo[os.environ.get("INCOME_DB", income_repo.DEFAULT_DB)]
            started = time.perf_counter()
            print(f"[{NAME}] seeding {units:,} productive units", flush=True)
            seed_units(db, units, communities)
            seed_seconds = time.perf_counter() - started
            print(f"[{NAME}] seeded in {seed_seconds:.1f}s", flush=True)
            _counts_complete(db)
            sign_in(http, COORDINATOR, PASSWORD)
            for page in _pages(stack, db["units"]):
                results[page.label] = measure(http, page, requests, warmup, phase_seconds)
        finally:
            http.close()
            mongo.close()
    rows = [Row(NAME, f"seeding {units:,} productive units", "s", seed_seconds, None, "-")]
    for label, s in results.items():
        rows += [
            Row(NAME, f"{label} p50", "ms", 1000 * _p50(s.page), 1000 * _p50(s.raw), "raw query"),
            Row(
                NAME,
                f"{label} p95 ({len(s.page)} requests{_errors(s.errors)})",
                "ms",
                1000 * _p95(s.page),
                1000 * _p95(s.raw),
                "raw query",
                f"p95 < {TARGET_P95_MS:g} ms",
                1000 * _p95(s.page) < TARGET_P95_MS and not s.errors,
            ),
            Row(
                NAME,
                f"{label}: its gRPC call(s) p95 (diagnostic)",
                "ms",
                1000 * _p95(s.grpc),
                1000 * _p95(s.raw),
                "raw query",
            ),
        ]
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_income_board", description=__doc__)
    parser.add_argument("--units", type=int, default=10_000, help="productive units to seed (default 10000)")
    parser.add_argument("--requests", type=int, default=50, help="measured requests per page (default 50)")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured requests per page first (default 5)")
    parser.add_argument("--phase-seconds", type=float, default=120.0, help="time bound of each page (default 120)")
    parser.add_argument("--quick", action="store_true", help="1,000 units, 20 requests")
    args = parser.parse_args(argv)
    if args.quick:
        args.units, args.requests = 1_000, 20
    print_rows(NAME, run(args.units, args.requests, args.warmup, args.phase_seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
