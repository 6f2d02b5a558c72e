"""Inicio: what a coordinator steers by, per role. The UPA indicator with its
monthly series and references (``upa_card``); actas sealed per week, by
template, by gestor and by community (sealed originals, from the actas service's
counts); the kiosk fleet and the messages that did not arrive, for the roles that
may see them. Every chart has its table and CSV/XLSX/Vega-Lite downloads."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from google.protobuf.timestamp_pb2 import Timestamp

from crm_platform.access import allows
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2 as apb
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as bpb
from crm_platform.proto_gen.crm.notifications.v1 import notifications_pb2 as npb
from gateway import auth
from gateway.web import charts, kiosk_pages, kpi_pages, upa_card
from gateway.web.app import Staff, WebApp
from services.actas.access import ACCESS as ACTAS
from services.notifications.access import ACCESS as NOTIFICATIONS

WEEKS = 12
# The counts behind the charts are the same for every role (CountActas is not
# redacted), so one gateway process reuses them for this long; the page says when
# they were computed. A projection (acta_day_counts) makes each computation cheap,
# this makes a busy morning of coordinators opening Inicio cost one.
FRESH_FOR_SECONDS = 60.0
COLOMBIA = ZoneInfo("America/Bogota")


def _now() -> datetime:
    return datetime.now(UTC)


def _since(weeks: int) -> datetime:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=today.weekday(), weeks=weeks - 1)  # Monday, ``weeks`` ISO weeks back


def _ts(when: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(when)
    return stamp


class FreshFor:
    """Values computed at most ``seconds`` ago, per key (thread-safe: FastAPI runs
    these routes in a thread pool). ``clock`` is monotonic; ``wall`` stamps them."""

    def __init__(
        self, seconds: float, clock: Callable[[], float] = time.monotonic, wall: Callable[[], datetime] = _now
    ) -> None:
        self.seconds, self.clock, self.wall = seconds, clock, wall
        self._values: dict[Any, tuple[float, datetime, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Any, compute: Callable[[], Any]) -> tuple[Any, datetime]:
        with self._lock:
            found = self._values.get(key)
        if found is not None and self.clock() - found[0] < self.seconds:
            return found[2], found[1]
        value, at = compute(), self.wall()
        with self._lock:
            self._values[key] = (self.clock(), at, value)
        return value, at


COUNTS = FreshFor(FRESH_FOR_SECONDS)


class Figures:
    """The dashboard's tables for one user; the acta counts are at most
    ``FRESH_FOR_SECONDS`` old (``computed_at`` says when they were computed)."""

    def __init__(self, web: WebApp, user: auth.User, counts: FreshFor = COUNTS) -> None:
        self.web, self.user, self.cache = web, user, counts
        self.since = _since(WEEKS)
        self.computed_at: datetime | None = None

    def _counts(self, group_by: str) -> dict[str, int]:
        def compute() -> dict[str, int]:
            request = apb.CountActasRequest(group_by=group_by, captured_from=_ts(self.since))
            reply = self.web.backend.call(self.web.backend.actas.CountActas, request, self.user)
            return {c.key: int(c.count) for c in reply.counts}

        counts, at = self.cache.get((group_by, self.since), compute)
        self.computed_at = min(at, self.computed_at or at)
        return dict(counts)

    def weekly(self) -> charts.Table:
        counts = self._counts("week")
        weeks = []
        for n in range(WEEKS):
            year, week, _ = (self.since + timedelta(weeks=n)).isocalendar()
            key = f"{year}-W{week:02d}"
            weeks.append({"semana": key, "actas": counts.get(key, 0)})
        return charts.Table(
            "Actas selladas por semana", (("semana", "Semana (ISO)"), ("actas", "Actas selladas")), weeks
        )

    def by_template(self) -> charts.Table:
        counts = self._counts("template")
        templates = self.web.backend.call(self.web.backend.actas.ListTemplates, apb.ListTemplatesRequest(), self.user)
        titles = {t.key: t.title for t in templates.templates}
        rows = [{"plantilla": titles.get(k, k), "actas": n} for k, n in sorted(counts.items(), key=lambda i: -i[1])]
        return charts.Table("Actas selladas por tipo", (("plantilla", "Tipo de acta"), ("actas", "Actas")), rows)

    def by_gestor(self) -> charts.Table:
        counts = self._counts("gestor")
        names = self.web.users.full_names(counts)
        rows = [{"gestor": names.get(k, k), "actas": n} for k, n in sorted(counts.items(), key=lambda i: -i[1])]
        return charts.Table("Actas selladas por gestor", (("gestor", "Gestor"), ("actas", "Actas")), rows)

    def by_community(self) -> charts.Table:
        counts = self._counts("community")
        reply = self.web.backend.call(
            self.web.backend.beneficiaries.ListCommunities, bpb.ListCommunitiesRequest(), self.user
        )
        names = {c.id: c.name for c in reply.communities}
        rows = [
            {"comunidad": names.get(k, k or "Sin comunidad"), "actas": n}
            for k, n in sorted(counts.items(), key=lambda i: -i[1])
        ]
        return charts.Table("Actas selladas por comunidad", (("comunidad", "Comunidad"), ("actas", "Actas")), rows)

    def kiosks(self) -> dict[str, int] | None:
        role = self.user.role
        if not (allows(ACTAS, role, "ListDevices") and allows(ACTAS, role, "ListRejectedSubmissions")):
            return None
        actas = self.web.backend.actas
        devices = self.web.backend.call(actas.ListDevices, apb.ListDevicesRequest(), self.user).devices
        pending = self.web.backend.call(
            actas.ListRejectedSubmissions, apb.ListRejectedSubmissionsRequest(limit=500), self.user
        ).rejected
        return {
            "activos": sum(not d.revoked for d in devices),
            "revocados": sum(d.revoked for d in devices),
            "sin_envios": sum(kiosk_pages.silent(d) for d in devices),
            "pendientes": len(pending),
        }

    def undelivered(self) -> dict[str, int] | None:
        """This week's messages (since Monday, Colombian time) by what became of them."""
        if not allows(NOTIFICATIONS, self.user.role, "CountDeliveries"):
            return None
        today = datetime.now(COLOMBIA).replace(hour=0, minute=0, second=0, microsecond=0)
        request = npb.CountDeliveriesRequest(created_from=_ts(today - timedelta(days=today.weekday())))
        counts = self.web.backend.call(self.web.backend.notifications.CountDeliveries, request, self.user).by_status
        return {
            "entregados": int(counts["delivered"]) + int(counts["sent"]),
            "en_cola": int(counts["queued"]),
            "failed": int(counts["failed"]),
            "skipped": int(counts["skipped"]),
        }

    def table(self, name: str) -> charts.Table | None:
        builders: dict[str, Callable[[], charts.Table]] = {
            "actas-por-semana": self.weekly,
            "actas-por-tipo": self.by_template,
            "actas-por-gestor": self.by_gestor,
            "actas-por-comunidad": self.by_community,
        }
        build = builders.get(name)
        return build() if build else None


CHARTS = {  # name: (x, y) of its bar chart
    "actas-por-semana": ("semana", "actas"),
    "actas-por-tipo": ("plantilla", "actas"),
    "actas-por-gestor": ("gestor", "actas"),
    "actas-por-comunidad": ("comunidad", "actas"),
}


def register(app: FastAPI, web: WebApp) -> None:
    def figures(request: Request) -> tuple[Staff, Figures]:
        staff = web.member(request, "/app/")
        return staff, Figures(web, staff.user)

    @app.get("/app/", response_class=HTMLResponse, include_in_schema=False)
    def dashboard(request: Request) -> HTMLResponse:
        staff, f = figures(request)
        tables = {name: f.table(name) for name in CHARTS}
        cards = kpi_pages.cards(web, staff.user)
        upa = upa_card.card(web, staff.user)
        if cards and upa is not None and not upa["unavailable"]:
            cards = [c for c in cards if c.code != upa_card.CODE]  # it has its own section
        return web.render(
            request,
            staff,
            "home.html",
            title="Inicio",
            tables=tables,
            since=f.since,
            kiosks=f.kiosks(),
            undelivered=f.undelivered(),
            cards=cards,  # coverage and data-quality alerts
            upa=upa,
            computed_at=f.computed_at.astimezone(COLOMBIA) if f.computed_at else None,
            fresh_for=int(FRESH_FOR_SECONDS),
        )

    @app.get("/app/graficas/{name}.{fmt}", include_in_schema=False)
    def chart(request: Request, name: str, fmt: str) -> Response:
        staff, f = figures(request)
        if name == upa_card.CHART:
            reply = upa_card.series(web, staff.user)
            table = upa_card.table_of(reply) if reply is not None else None
        else:
            table = f.table(name)
        if table is None or fmt not in ("svg", "json", *charts.DOWNLOADS):
            return web.render(
                request, staff, "error.html", status=404, title="No encontrado", message="Ese gráfico no existe."
            )
        if fmt in charts.DOWNLOADS:
            return charts.download(table, fmt, name)
        headers = {"Cache-Control": "no-store"}
        spec = upa_card.spec(table) if name == upa_card.CHART else charts.bar_spec(table, *CHARTS[name])
        if fmt == "json":
            headers["Content-Disposition"] = f'attachment; filename="{name}.vl.json"'
            return Response(json.dumps(spec, ensure_ascii=False), media_type="application/json", headers=headers)
        return Response(charts.svg(spec), media_type="image/svg+xml", headers=headers)
