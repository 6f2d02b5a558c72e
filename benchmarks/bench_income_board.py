"""The income pages of the staff web app over a populated store: server time of
the board (``/app/unidades/tablero``, one ``ListUnits`` per stage) and of the list
(``/app/unidades``, one ``ListUnits`` of the 500 newest, and filtered by stage),
signed in as a coordinator, each beside the raw query it boils down to.

Seeds ``--units`` (default 10,000) productive units over 50 communities, spread
over the nine stages, straight into the income service's ``units`` collection in
the service's own stored format (the document ``IncomeHandlers.register`` writes).
Then signs in at ``/app/entrar`` like a browser and, one request at a time,
``--requests`` times each after ``--warmup`` unmeasured ones, interleaved in the
same loop (``benchmarks.bench_web.measure``):

- the page over HTTP (loopback: the round trip is the gateway's time);
- the gRPC call(s) the page's rows come from, straight to the service (diagnostic);
- the raw PyMongo ``find(...).sort("created_at", -1).limit(500)`` those calls map
  to, on the same SecantusDB (the baseline), nine of them for the board.

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
from gateway.web import unit_pages
from services.income.adapters import repository as income_repo
from services.income.adapters.repository import NO_OUTBOX
from services.income.domain.stages import STAGE_LABELS

NAME = "income_board"
COORDINATOR = "coordinacion.gi.bench"
COMMUNITIES = 50
SECTORS = ("agroindustria", "comercio", "servicios", "artesanias")
KINDS = ("emprendimiento", "fortalecimiento")
STAGE_WEIGHTS = (30, 20, 10, 12, 8, 8, 6, 4, 2)  # most UPs are early in the workflow
LIST_PROJECTION = {"plans": 0, "history": 0, "followups": 0, **NO_OUTBOX}  # what ListUnits leaves out


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


def seed_units(units: pymongo.collection.Collection[dict[str, Any]], count: int, communities: Sequence[str]) -> None:
    """``count`` UP documents as ``IncomeHandlers.register`` stores them, with the
    stage history their stage implies (one change per step, abbreviated)."""
    rng = random.Random(20261206)
    now = datetime.now(UTC)
    stages = list(STAGE_LABELS)
    batch: list[dict[str, Any]] = []
    for n in range(count):
        stage = rng.choices(stages, weights=STAGE_WEIGHTS)[0]
        created = now - timedelta(minutes=n)
        history = [
            {"transition": "avance", "from_stage": a, "to_stage": b, "by": "gestor.bench", "at": created, "reason": ""}
            for a, b in itertools.pairwise(stages[: stages.index(stage) + 1])
        ]
        batch.append(
            {
                "_id": uuid.uuid4().hex,
                "name": f"Unidad productiva {n:05d}",
                "family_id": uuid.uuid4().hex,
                "owner_ids": [uuid.uuid4().hex],
                "community_id": communities[n % len(communities)],
                "sector": SECTORS[n % len(SECTORS)],
                "kind": KINDS[n % len(KINDS)],
                "stage": stage,
                "version": 1 + len(history),
                "closing_reason": "Cierre de prueba" if stage == "cerrada" else "",
                "history": history,
                "followups": [],
                "plans": [],
                "created_at": created,
                "created_by": "gestor.bench",
                "rev": 1 + len(history),
                "outbox": [],
            }
        )
        if len(batch) == 1000:
            units.insert_many(batch)
            batch = []
    if batch:
        units.insert_many(batch)


def _pages(stack: Any, units: pymongo.collection.Collection[dict[str, Any]], newest: str) -> list[Page]:
    stub = pb_grpc.IncomeServiceStub(grpc.insecure_channel(stack.env["INCOME_GRPC"]))
    limit = unit_pages.FETCH

    def grpc_list(*stages: str) -> Callable[[], Any]:
        def call() -> Any:
            md = caller_metadata(COORDINATOR, "coordinator")
            for stage in stages:
                reply = stub.ListUnits(pb.ListUnitsRequest(stage=stage, limit=limit), metadata=md, timeout=60)
            return reply

        return call

    def raw_list(*stages: str) -> Callable[[], Any]:
        def call() -> Any:
            for stage in stages:
                selector = {"stage": stage} if stage else {}
                found = list(units.find(selector, LIST_PROJECTION).sort("created_at", -1).limit(limit))
            return found

        return call

    board = tuple(STAGE_LABELS)
    return [
        Page("board /app/unidades/tablero", "/app/unidades/tablero", grpc_list(*board), raw_list(*board), "Graduada"),
        Page("list /app/unidades", "/app/unidades", grpc_list(""), raw_list(""), newest),
        Page(
            "list /app/unidades?etapa=seguimiento",
            "/app/unidades?etapa=seguimiento",
            grpc_list("seguimiento"),
            raw_list("seguimiento"),
            "Seguimiento",
        ),
    ]


def run(units: int = 10_000, requests: int = 50, warmup: int = 5, phase_seconds: float = 120.0) -> list[Row]:
    results: dict[str, Samples] = {}
    with running_stack(NAME) as stack:
        mongo: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(stack.env["MONGO_URI"], tz_aware=True)
        http = httpx.Client(base_url=stack.urls["gateway"], timeout=120)
        try:
            communities = _setup(http, stack.env["BENEFICIARIES_GRPC"])
            collection = mongo[os.environ.get("INCOME_DB", income_repo.DEFAULT_DB)]["units"]
            started = time.perf_counter()
            print(f"[{NAME}] seeding {units:,} productive units", flush=True)
            seed_units(collection, units, communities)
            seed_seconds = time.perf_counter() - started
            print(f"[{NAME}] seeded in {seed_seconds:.1f}s", flush=True)
            sign_in(http, COORDINATOR, PASSWORD)
            newest = "Unidad productiva 00000"
            for page in _pages(stack, collection, newest):
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
