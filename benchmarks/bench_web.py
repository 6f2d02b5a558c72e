"""The staff web app over a populated store: server time of the dashboard and of the
list pages, signed in as a coordinator, each beside the raw query it boils down to.

Seeds ``--beneficiaries`` (default 100,000) beneficiaries over 50 communities and
``--actas`` (default 50,000) sealed actas captured over the last 12 weeks (six
templates, 20 gestors, 70 % from kiosks) straight into the services' collections,
in the services' own stored format (``benchmarks/_web_seed.py``). Then signs in at
``/app/entrar`` like a browser (the CSRF cookie, the form) and, one request at a
time, ``--requests`` times each after ``--warmup`` unmeasured ones, interleaved in
the same loop:

- the page over HTTP (``httpx``, loopback: the round trip is the gateway's time);
- the gRPC call(s) the page's figures come from, straight to the service, as the
  coordinator (a diagnostic: page minus this is the gateway's own share);
- the raw PyMongo query those calls map to, on the same SecantusDB (the baseline).

Pages: ``/app/`` (four ``CountActas`` over the last 12 weeks: by ISO week, template,
gestor and community; baseline: the same ``find``/``$group`` aggregates), ``/app/actas``
(``ListActas``, 26 newest), ``/app/actas?estado=sealed&plantilla=visita_domiciliaria``
and ``/app/comunidades`` (``ListCommunities``). Target: page p95 < 300 ms. Each
phase also stops after ``--phase-seconds``; the figures name how many requests
they rest on.

    python -m benchmarks.bench_web [--beneficiaries 100000] [--actas 50000] [--requests 50] [--warmup 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import grpc
import httpx
import pymongo
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from benchmarks import _web_seed as seeding
from benchmarks._common import SUBJECT, Row, print_rows, running_stack
from crm_platform.grpc_support import caller_metadata
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2 as apb
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2_grpc as apb_grpc
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as bpb
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2_grpc as bpb_grpc
from gateway.web import dashboard
from services.actas.adapters import repository as actas_repo
from services.actas.domain.submission import public_key_b64
from services.beneficiaries.adapters import repository as beneficiaries_repo

NAME = "web"
TARGET_P95_MS = 300.0
PASSWORD = "bench-web-password-1"  # noqa: S105 (a throwaway stack's account)
COORDINATOR = "coordinacion.bench"
COMMUNITIES = 50
GESTORS = 20
DEVICES = 12
PAGE_LIMIT = 26  # the list page asks for one more than it shows
PLACES = (
    *("Roche", "Chancleta", "Patilla", "Tabaco", "Tamaquito", "Provincial", "Caracolí", "Campoherrera"),
    *("Las Casitas", "Oreganal", "Cerrejoncito", "Papayal", "Manantial", "Guamachal", "Sararao"),
    *("Nuevo Espinal", "Mañature", "Jotomana", "Pesuapa", "Cupica", "Jurubirá", "Nuquí", "Tribugá"),
    *("Arusí", "Coquí"),
)
FIRST = ("Luz Marina", "Jhon Fredy", "Yuliana", "Wilmar", "Dayana", "Edwin", "Nohemí", "Germán", "Leidy", "Hernán")
LAST = ("Epieyú", "Pushaina", "Uriana", "Ipuana", "Mosquera", "Palacios", "Rentería", "Córdoba", "Asprilla", "Murillo")


@dataclass(frozen=True)
class Page:
    label: str
    path: str
    grpc: Callable[[], Any]
    raw: Callable[[], Any]
    expect: str  # text the page must show


def _p95(samples: Sequence[float]) -> float:
    if len(samples) < 2:
        return samples[0] if samples else float("nan")
    return statistics.quantiles(samples, n=100, method="inclusive")[94]


def _p50(samples: Sequence[float]) -> float:
    return statistics.median(samples) if samples else float("nan")


def _setup_people(http: httpx.Client, beneficiaries_grpc: str) -> tuple[list[seeding.Gestor], dict[str, str]]:
    """The coordinator and gestor accounts (through the API), and the communities."""
    r = http.post("/api/v1/auth/login", json={"username": "admin", "password": "admin-dev-password"})
    r.raise_for_status()
    admin = {"Authorization": f"Bearer {r.json()['access_token']}"}
    accounts = [(COORDINATOR, "coordinator", "Coordinación Benchmark", "CC 52000000", "Coordinadora")]
    gestors = [
        seeding.Gestor(f"gestor.{n:02d}", f"{FIRST[n % 10]} {LAST[(n * 3) % 10]}", f"CC {1_040_000_000 + n}", "Gestor")
        for n in range(GESTORS)
    ]
    accounts += [(g.username, "gestor", g.full_name, g.document, g.title) for g in gestors]
    for username, role, full_name, document, title in accounts:
        body = {"username": username, "password": PASSWORD, "role": role, "full_name": full_name}
        r = http.post("/api/v1/users", headers=admin, json={**body, "document": document, "title": title})
        assert r.status_code == 201, r.text
    with grpc.insecure_channel(beneficiaries_grpc) as channel:
        stub = bpb_grpc.BeneficiariesServiceStub(channel)
        communities = {}
        for n in range(COMMUNITIES):
            name = f"{PLACES[n % len(PLACES)]} {'Alto' if n < len(PLACES) else 'Bajo'}"
            found = stub.RegisterCommunity(
                bpb.RegisterCommunityRequest(name=name, municipality="Barrancas", department="La Guajira"),
                metadata=caller_metadata(SUBJECT, "coordinator"),
                timeout=30,
            )
            communities[found.id] = found.name
    return gestors, communities


def _register_devices(actas_grpc: str, community_ids: Sequence[str]) -> None:
    with grpc.insecure_channel(actas_grpc) as channel:
        stub = apb_grpc.ActasServiceStub(channel)
        for n in range(DEVICES):
            key = public_key_b64(Ed25519PrivateKey.generate())
            request = apb.RegisterDeviceRequest(
                id=f"kiosco-{n:02d}", public_key=key, community_id=community_ids[n], description=f"Quiosco {n}"
            )
            stub.RegisterDevice(request, metadata=caller_metadata(SUBJECT, "coordinator"), timeout=30)


def sign_in(http: httpx.Client, username: str, password: str) -> None:
    """As a browser does: the form sets the CSRF cookie, the post carries it back."""
    http.get("/app/entrar").raise_for_status()
    csrf = http.cookies.get("crm_csrf", path="/app") or http.cookies.get("crm_csrf")
    r = http.post(
        "/app/entrar", data={"usuario": username, "contrasena": password, "csrf": csrf or "", "siguiente": "/app/"}
    )
    assert r.status_code == 303 and r.headers["location"] == "/app/", (r.status_code, r.text[:300])


def _pages(stack: Any, mongo: pymongo.MongoClient[dict[str, Any]], newest: dict[str, str]) -> list[Page]:
    actas_db = mongo[os.environ.get("ACTAS_DB", actas_repo.DEFAULT_DB)]
    communities = mongo[os.environ.get("BENEFICIARIES_DB", beneficiaries_repo.DEFAULT_DB)].communities
    actas_stub = apb_grpc.ActasServiceStub(grpc.insecure_channel(stack.env["ACTAS_GRPC"]))
    people_stub = bpb_grpc.BeneficiariesServiceStub(grpc.insecure_channel(stack.env["BENEFICIARIES_GRPC"]))
    since = dashboard._since(dashboard.WEEKS)
    counted = {"captured_at": {"$gte": since}, "status": "sealed", "amends": {"$in": ["", None]}}

    def metadata() -> list[tuple[str, str]]:
        return caller_metadata(COORDINATOR, "coordinator")

    def grpc_counts() -> Any:
        md = metadata()
        since_ts = dashboard._ts(since)
        for group_by in ("week", "template", "gestor", "community"):
            reply = actas_stub.CountActas(
                apb.CountActasRequest(group_by=group_by, captured_from=since_ts), metadata=md, timeout=60
            )
            assert reply.counts
        return reply

    def raw_counts() -> Any:
        list(actas_db.actas.find(counted, {"captured_at": 1}))
        for field in ("$template_key", "$gestor_id", "$community_id"):
            found = list(actas_db.actas.aggregate([{"$match": counted}, {"$group": {"_id": field, "n": {"$sum": 1}}}]))
            assert found
        return found

    def grpc_list(**filters: str) -> Callable[[], Any]:
        def call() -> Any:
            request = apb.ListActasRequest(
                limit=PAGE_LIMIT, template_code=filters.get("template_code", ""), status=filters.get("status", "")
            )
            reply = actas_stub.ListActas(request, metadata=metadata(), timeout=60)
            assert len(reply.actas) == PAGE_LIMIT
            return reply

        return call

    def raw_list(**selector: str) -> Callable[[], Any]:
        def call() -> Any:
            cursor = actas_db.actas.find(selector, actas_repo.NO_IMAGES).sort("captured_at", -1).limit(PAGE_LIMIT)
            found = list(cursor)
            assert len(found) == PAGE_LIMIT
            return found

        return call

    def grpc_communities() -> Any:
        reply = people_stub.ListCommunities(bpb.ListCommunitiesRequest(), metadata=metadata(), timeout=60)
        assert len(reply.communities) >= COMMUNITIES
        return reply

    def raw_communities() -> Any:
        found = list(communities.find({}, {"outbox": 0}).sort("name", 1))
        assert len(found) >= COMMUNITIES
        return found

    visit = {"template_code": "visita_domiciliaria", "status": "sealed"}  # the repository's order
    return [
        Page("dashboard /app/", "/app/", grpc_counts, raw_counts, "Actas selladas por semana"),
        Page("list /app/actas", "/app/actas", grpc_list(), raw_list(), newest[""]),
        Page(
            "list /app/actas?estado=sealed&plantilla=visita_domiciliaria",
            "/app/actas?estado=sealed&plantilla=visita_domiciliaria",
            grpc_list(**visit),
            raw_list(**visit),
            newest["visita_domiciliaria"],
        ),
        Page("list /app/comunidades", "/app/comunidades", grpc_communities, raw_communities, "Roche Alto"),
    ]


@dataclass
class Samples:
    page: list[float]
    grpc: list[float]
    raw: list[float]
    errors: list[int]  # HTTP statuses other than 200 among the measured requests


def measure(http: httpx.Client, page: Page, requests: int, warmup: int, phase_seconds: float) -> Samples:
    """``warmup`` unmeasured rounds, then up to ``requests`` rounds of (page, gRPC, raw)."""

    def timed(call: Callable[[], Any]) -> float:
        t0 = time.perf_counter()
        call()
        return time.perf_counter() - t0

    def get() -> None:
        r = http.get(page.path)
        if r.status_code != 200:  # e.g. a gRPC call past the gateway's deadline: counted, shown
            out.errors.append(r.status_code)
            print(f"  {page.path}: HTTP {r.status_code}", flush=True)
            return
        assert page.expect in r.text, (page.path, page.expect)

    out = Samples([], [], [], [])
    deadline = time.monotonic() + phase_seconds / 4  # a slow page gets fewer warm-up rounds
    for _ in range(warmup):
        get()
        page.grpc()
        page.raw()
        if time.monotonic() > deadline:
            break
    out.errors.clear()
    deadline = time.monotonic() + phase_seconds
    while len(out.page) < requests and time.monotonic() < deadline:
        out.page.append(timed(get))
        out.grpc.append(timed(page.grpc))
        out.raw.append(timed(page.raw))
    ms = [1000 * f(s) for s in (out.page, out.grpc, out.raw) for f in (_p50, _p95)]
    print(
        f"  {page.label:<58} {len(out.page):>3} requests: page p50 {ms[0]:7.1f} p95 {ms[1]:7.1f} ms | "
        f"gRPC p50 {ms[2]:7.1f} p95 {ms[3]:7.1f} ms | raw p50 {ms[4]:7.1f} p95 {ms[5]:7.1f} ms",
        flush=True,
    )
    return out


def run(
    beneficiaries: int = 100_000,
    actas: int = 50_000,
    requests: int = 50,
    warmup: int = 5,
    phase_seconds: float = 150.0,
    rng_seed: int = 20261206,
) -> list[Row]:
    results: dict[str, Samples] = {}
    # The deployed refresh period of the KPI snapshots (devstack's 2 s suits tests):
    # a refresh at 100,000 people takes seconds of the store's time.
    os.environ.setdefault("REPORTS_REFRESH_SECONDS", "60")
    with running_stack("web") as stack:
        mongo: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(stack.env["MONGO_URI"], tz_aware=True)
        http = httpx.Client(base_url=stack.urls["gateway"], timeout=120)
        try:
            gestors, communities = _setup_people(http, stack.env["BENEFICIARIES_GRPC"])
            _register_devices(stack.env["ACTAS_GRPC"], sorted(communities))
            started = time.perf_counter()
            print(f"[{NAME}] seeding {beneficiaries:,} beneficiaries and {actas:,} sealed actas", flush=True)
            people = seeding.seed_beneficiaries(
                stack.env["MONGO_URI"],
                os.environ.get("BENEFICIARIES_DB", beneficiaries_repo.DEFAULT_DB),
                sorted(communities),
                beneficiaries,
                rng_seed,
            )
            built, digest = seeding.build_actas(actas, gestors, communities, people, datetime.now(UTC), rng_seed)
            seeding.store_actas(mongo[os.environ.get("ACTAS_DB", actas_repo.DEFAULT_DB)], built, digest)
            seed_seconds = time.perf_counter() - started
            print(f"[{NAME}] seeded in {seed_seconds:.1f}s", flush=True)
            newest = {"": max(built, key=lambda a: a.captured_at).id}
            visits = [a for a in built if a.template_code == "visita_domiciliaria"]
            newest["visita_domiciliaria"] = max(visits, key=lambda a: a.captured_at).id
            sign_in(http, COORDINATOR, PASSWORD)
            for page in _pages(stack, mongo, newest):
                results[page.label] = measure(http, page, requests, warmup, phase_seconds)
        finally:
            http.close()
            mongo.close()
    seeded = f"seeding {beneficiaries:,} beneficiaries + {actas:,} sealed actas"
    rows = [Row(NAME, seeded, "s", seed_seconds, None, "-")]
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


def _errors(statuses: list[int]) -> str:
    return f"; {len(statuses)} failed: HTTP {', '.join(map(str, sorted(set(statuses))))}" if statuses else ""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_web", description=__doc__)
    parser.add_argument("--beneficiaries", type=int, default=100_000, help="beneficiaries to seed (default 100000)")
    parser.add_argument("--actas", type=int, default=50_000, help="sealed actas to seed (default 50000)")
    parser.add_argument("--requests", type=int, default=50, help="measured requests per page (default 50)")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured requests per page first (default 5)")
    parser.add_argument("--phase-seconds", type=float, default=150.0, help="time bound of each page (default 150)")
    parser.add_argument("--quick", action="store_true", help="10,000 beneficiaries, 5,000 actas, 20 requests")
    args = parser.parse_args(argv)
    if args.quick:
        args.beneficiaries, args.actas, args.requests = 10_000, 5_000, 20
    print_rows(NAME, run(args.beneficiaries, args.actas, args.requests, args.warmup, args.phase_seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
