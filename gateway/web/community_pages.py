"""Comunidades: the list of communities with an accent-insensitive search and
CSV/XLSX export (households and people join it as their pages land)."""

from __future__ import annotations

import unicodedata

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from crm_platform.access import allows
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as bpb
from gateway.web import charts
from gateway.web.app import Staff, WebApp
from services.beneficiaries.access import ACCESS as BENEFICIARIES

COLUMNS = (("nombre", "Comunidad"), ("municipio", "Municipio"), ("departamento", "Departamento"))


def fold(text: str) -> str:
    """Lower case without accents: "Barrancas" finds "BARRÁNCAS"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def register(app: FastAPI, web: WebApp) -> None:
    def rows(request: Request) -> tuple[Staff, str, list[dict[str, str]]]:
        staff = web.member(request, "/app/comunidades")
        wanted = request.query_params.get("q", "").strip()[:80]
        reply = web.backend.call(web.backend.beneficiaries.ListCommunities, bpb.ListCommunitiesRequest(), staff.user)
        found = [
            {"id": c.id, "nombre": c.name, "municipio": c.municipality, "departamento": c.department}
            for c in sorted(reply.communities, key=lambda c: fold(c.name))
            if not wanted or fold(wanted) in fold(f"{c.name} {c.municipality} {c.department}")
        ]
        return staff, wanted, found

    @app.get("/app/comunidades", response_class=HTMLResponse, include_in_schema=False)
    def communities(request: Request) -> HTMLResponse:
        staff, wanted, found = rows(request)
        return web.render(
            request,
            staff,
            "comunidades.html",
            title="Comunidades",
            q=wanted,
            rows=found,
            can_register=allows(BENEFICIARIES, staff.user.role, "RegisterCommunity"),
        )

    @app.get("/app/comunidades.{fmt}", include_in_schema=False)
    def export(request: Request, fmt: str) -> Response:
        staff, _, found = rows(request)
        if fmt not in charts.DOWNLOADS:
            return web.render(
                request,
                staff,
                "error.html",
                status=404,
                title="No encontrado",
                message="Formato desconocido (use CSV o XLSX).",
            )
        return charts.download(charts.Table("Comunidades", COLUMNS, found), fmt, "comunidades")
