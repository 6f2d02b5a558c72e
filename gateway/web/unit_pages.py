"""Unidades productivas: the list of UPs with filters (by the service: community,
stage, sector, kind), pages from the service's cursor, its exact total
(``CountUnits``) and CSV/XLSX export (up to 5,000 rows), the board (one column
per stage with its exact count, from one ``CountUnits``, and cards), and the form that
registers a UP for a household. The income service owns every rule; a refused
registration shows the service's message beside each field."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

import grpc
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as bpb
from crm_platform.proto_gen.crm.income.v1 import income_pb2 as pb
from gateway.web import charts, forms
from gateway.web import income_support as inc
from gateway.web.app import Staff, WebApp

PAGE = 25  # rows of the list per page
FETCH = 500  # the most UPs one list call returns (the gateway's MAX_PAGE)
EXPORT_MAX = 5000  # rows of a CSV/XLSX export
CARDS = 20  # cards a board column shows; the rest are in the list
FILTERS = ("comunidad", "etapa", "sector", "tipo")
COLUMNS = (
    ("nombre", "Unidad productiva"),
    ("comunidad", "Comunidad"),
    ("sector", "Sector"),
    ("tipo", "Tipo"),
    ("etapa", "Etapa"),
    ("plan", "Plan de acción"),
    ("registrada", "Registrada"),
)
UNIT_FIELDS = {"name": "Nombre", "owner_ids": "Propietarios", "sector": "Sector", "kind": "Tipo", "family_id": "Hogar"}


async def posted_lists(request: Request) -> dict[str, list[str]]:
    """The posted form with every value of each field (the owners are checkboxes),
    each cut at ``forms.TEXT`` characters; read here, off the page's thread."""
    form = await request.form()
    out: dict[str, list[str]] = {}
    for name, value in form.multi_items():
        if isinstance(value, str):
            out.setdefault(name, []).append(value[: forms.TEXT])
    return out


PostedLists = Annotated[dict[str, list[str]], Depends(posted_lists)]


def register(app: FastAPI, web: WebApp) -> None:
    def page_of(staff: Staff, query: dict[str, str], limit: int, token: str = "") -> tuple[list[Any], str]:
        """One page of the UPs matching the filters (newest first) and the next page's token."""
        request = pb.ListUnitsRequest(
            community_id=query["comunidad"],
            stage=query["etapa"],
            sector=query["sector"],
            kind=query["tipo"],
            limit=limit,
            page_token=token,
        )
        reply = web.backend.call(web.backend.income.ListUnits, request, staff.user)
        return list(reply.units), reply.next_page_token

    def counts(staff: Staff, query: dict[str, str], newest: int = 0) -> pb.CountUnitsResponse:
        request = pb.CountUnitsRequest(
            community_id=query["comunidad"],
            stage=query["etapa"],
            sector=query["sector"],
            kind=query["tipo"],
            newest=newest,
        )
        return web.backend.call(web.backend.income.CountUnits, request, staff.user)

    def query_of(request: Request) -> dict[str, str]:
        return {name: request.query_params.get(name, "")[:64] for name in FILTERS}

    @app.get("/app/unidades", response_class=HTMLResponse, include_in_schema=False)
    def unit_list(request: Request) -> HTMLResponse:
        staff = web.member(request, inc.SECTION)
        query = query_of(request)
        token = request.query_params.get("desde", "")[:200]
        try:
            found, next_token = page_of(staff, query, PAGE, token)
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.INVALID_ARGUMENT:
                raise
            return web.render(
                request, staff, "error.html", status=400, title="Página no válida",
                message="Esa página de la lista ya no es válida: vuelva a la primera.",
            )  # fmt: skip
        sector_names, community_names = inc.sectors(web, staff), inc.communities(web, staff)
        link = urlencode({k: v for k, v in query.items() if v})
        return web.render(
            request,
            staff,
            "unidades.html",
            title="Unidades productivas",
            rows=[inc.card(u, sector_names, community_names) for u in found],
            total=counts(staff, query).total,
            first=bool(token),
            more=urlencode({**{k: v for k, v in query.items() if v}, "desde": next_token}) if next_token else "",
            query=query,
            link=link,
            choices=choices(staff, sector_names, community_names),
            can_register=inc.may(staff, "RegisterUnit"),
        )

    def choices(staff: Staff, sector_names: dict[str, str], community_names: dict[str, str]) -> dict[str, Any]:
        return {"comunidad": community_names, "etapa": inc.STAGES, "sector": sector_names, "tipo": inc.KINDS}

    @app.get("/app/unidades/exportar.{fmt}", include_in_schema=False)
    def export(request: Request, fmt: str) -> Response:
        staff = web.member(request, inc.SECTION)
        if fmt not in charts.DOWNLOADS:
            return web.render(
                request, staff, "error.html", status=404, title="No encontrado", message="Formato desconocido."
            )
        query = query_of(request)
        found: list[Any] = []
        token = ""
        while len(found) < EXPORT_MAX:
            batch, token = page_of(staff, query, FETCH, token)
            found += batch
            if not token:
                break
        sector_names, community_names = inc.sectors(web, staff), inc.communities(web, staff)
        rows = [inc.card(u, sector_names, community_names) for u in found[:EXPORT_MAX]]
        return charts.download(charts.Table("Unidades productivas", COLUMNS, rows), fmt, "unidades-productivas")

    @app.get("/app/unidades/tablero", response_class=HTMLResponse, include_in_schema=False)
    def board(request: Request) -> HTMLResponse:
        """One CountUnits: every column's exact count and its newest cards."""
        staff = web.member(request, inc.SECTION)
        community = request.query_params.get("comunidad", "")[:64]
        query = {**dict.fromkeys(FILTERS, ""), "comunidad": community}
        sector_names, community_names = inc.sectors(web, staff), inc.communities(web, staff)
        counted = {c.stage: c for c in counts(staff, query, CARDS).stages}
        columns = []
        for stage, label in inc.STAGES.items():
            count = counted[stage].count if stage in counted else 0
            found = list(counted[stage].units) if stage in counted else []
            columns.append(
                {
                    "stage": stage,
                    "label": label,
                    "count": f"{count:,}".replace(",", "."),
                    "cards": [inc.card(u, sector_names, community_names) for u in found],
                    "rest": count > len(found),
                }
            )
        return web.render(
            request,
            staff,
            "tablero.html",
            title="Tablero de unidades productivas",
            columns=columns,
            community=community,
            communities=community_names,
        )

    # -- registering a UP ------------------------------------------------------------
    def unit_form(
        request: Request,
        staff: Staff,
        family_id: str,
        values: dict[str, Any] | None = None,
        problems: dict[str, str] | None = None,
        status: int = 200,
    ) -> HTMLResponse:
        family, members = None, []
        if family_id:
            try:
                family = web.backend.call(
                    web.backend.beneficiaries.GetFamily, bpb.GetFamilyRequest(id=family_id[:64]), staff.user
                )
                members = web.backend.call(
                    web.backend.beneficiaries.ListFamilyMembers,
                    bpb.ListFamilyMembersRequest(family_id=family.id),
                    staff.user,
                ).members
            except grpc.RpcError as exc:
                if not inc.missing(exc):
                    raise
                problems = {**(problems or {}), "family_id": "No existe un hogar con ese código."}
                status = 404 if status == 200 else status
        return web.render(
            request,
            staff,
            "unidad_nueva.html",
            status=status,
            title="Registrar unidad productiva",
            family=family,
            family_id=family_id,
            members=[(m.id, f"{m.first_names} {m.last_names}".strip()) for m in members],
            values=values or {"owner_ids": []},
            problems=problems or {},
            labels=UNIT_FIELDS,
            sectors=inc.sectors(web, staff),
            kinds=inc.KINDS,
        )

    @app.get("/app/unidades/nueva", response_class=HTMLResponse, include_in_schema=False)
    def new_unit(request: Request) -> HTMLResponse:
        staff = inc.writer(web, request, "RegisterUnit")
        return unit_form(request, staff, request.query_params.get("hogar", "").strip())

    @app.post("/app/unidades/nueva", include_in_schema=False)
    def create_unit(request: Request, form: PostedLists) -> Response:
        staff = inc.writer(web, request, "RegisterUnit")
        web.check_csrf(staff, (form.get("csrf") or [""])[0])
        one = {name: (form.get(name) or [""])[0].strip() for name in ("family_id", "name", "sector", "kind")}
        values: dict[str, Any] = {**one, "owner_ids": form.get("owner_ids", [])}
        family_id = one["family_id"]
        try:
            family = web.backend.call(
                web.backend.beneficiaries.GetFamily, bpb.GetFamilyRequest(id=family_id[:64]), staff.user
            )
            created = web.backend.call(
                web.backend.income.RegisterUnit,
                pb.RegisterUnitRequest(
                    name=one["name"],
                    family_id=family.id,
                    owner_ids=values["owner_ids"],
                    community_id=family.community_id,
                    sector=one["sector"],
                    kind=one["kind"],
                ),
                staff.user,
            )
        except grpc.RpcError as exc:
            status, problems = forms.refusal(exc)
            return unit_form(request, staff, family_id, values, problems, status)
        return RedirectResponse(f"/app/unidades/{created.id}?hecho=registrada", status_code=303)
