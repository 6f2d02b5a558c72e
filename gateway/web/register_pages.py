"""Register forms: a community, a household with its head, a member of a household
(a new person, or one already registered in the community without a household).
Each calls the beneficiaries service as the API's routes do; a refusal shows the
service's message beside each field, with what was typed kept; a success redirects
(POST/redirect/GET) to the record, which confirms it."""

from __future__ import annotations

from typing import Annotated, Any

import grpc
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as bpb
from gateway.deps import to_json
from gateway.policy import redact_beneficiary
from gateway.web import forms
from gateway.web.app import Staff, WebApp

NEW_COMMUNITY = "/app/comunidades/nueva"
TEXT = forms.TEXT


def _not_found(web: WebApp, request: Request, staff: Staff, what: str) -> HTMLResponse:
    message = f"No existe ese {what.lower()}."
    return web.render(request, staff, "error.html", status=404, title=f"{what} no encontrado", message=message)


def register(app: FastAPI, web: WebApp) -> None:
    def call(staff: Staff, method: Any, message: Any) -> Any:
        return web.backend.call(method, message, staff.user)

    # -- a community ---------------------------------------------------------------
    def community_form(
        request: Request, staff: Staff, values: dict[str, str], problems: dict[str, str], status: int = 200
    ) -> HTMLResponse:
        title = "Registrar una comunidad"
        return web.render(
            request, staff, "comunidad_nueva.html", status=status, title=title, values=values, problems=problems
        )

    @app.get(NEW_COMMUNITY, response_class=HTMLResponse, include_in_schema=False)
    def new_community(request: Request) -> HTMLResponse:
        staff = forms.writer(web, request, "RegisterCommunity")
        return community_form(request, staff, {}, {})

    @app.post(NEW_COMMUNITY, include_in_schema=False)
    def create_community(
        request: Request,
        csrf: Annotated[str, Form(max_length=128)] = "",
        name: Annotated[str, Form(max_length=TEXT)] = "",
        municipality: Annotated[str, Form(max_length=TEXT)] = "",
        department: Annotated[str, Form(max_length=TEXT)] = "",
    ) -> Response:
        staff = forms.writer(web, request, "RegisterCommunity")
        web.check_csrf(staff, csrf)
        values = {"name": name, "municipality": municipality, "department": department}
        try:
            created = call(staff, web.backend.beneficiaries.RegisterCommunity, bpb.RegisterCommunityRequest(**values))
        except grpc.RpcError as exc:
            status, problems = forms.refusal(exc)
            return community_form(request, staff, values, problems, status)
        return RedirectResponse(f"/app/comunidades/{created.id}?hecho=comunidad", status_code=303)

    # -- a household with its head -------------------------------------------------
    def community_of(staff: Staff, community_id: str) -> Any:
        listed = call(staff, web.backend.beneficiaries.ListCommunities, bpb.ListCommunitiesRequest()).communities
        return next((c for c in listed if c.id == community_id), None)

    def household_form(
        request: Request,
        staff: Staff,
        community: Any,
        values: dict[str, str],
        problems: dict[str, str],
        status: int = 200,
        created_family: str = "",
    ) -> HTMLResponse:
        return web.render(
            request,
            staff,
            "hogar_nuevo.html",
            status=status,
            title=f"Registrar un hogar en {community.name}",
            community=community,
            values=values,
            problems=problems,
            choices=forms.choices(),
            created_family=created_family,
        )

    @app.get("/app/comunidades/{community_id}/hogares/nuevo", response_class=HTMLResponse, include_in_schema=False)
    def new_household(request: Request, community_id: str) -> HTMLResponse:
        staff = forms.writer(web, request, "RegisterFamily", "RegisterBeneficiary")
        community = community_of(staff, community_id)
        if community is None:
            return _not_found(web, request, staff, "Comunidad")
        return household_form(request, staff, community, {"can_sign": "1"}, {})

    @app.post("/app/comunidades/{community_id}/hogares/nuevo", include_in_schema=False)
    def create_household(request: Request, community_id: str, form: forms.Posted) -> Response:
        staff = forms.writer(web, request, "RegisterFamily", "RegisterBeneficiary")
        web.check_csrf(staff, form.get("csrf", ""))
        community = community_of(staff, community_id)
        if community is None:
            return _not_found(web, request, staff, "Comunidad")
        values = {**forms.person_values(form), **forms.text(form, "name", "address")}
        family = bpb.RegisterFamilyRequest(community_id=community.id, name=values["name"], address=values["address"])
        # The head's request as it will be sent once the household exists.
        head = forms.person_request(values, family_id="nuevo", relationship="head")
        problems = forms.precheck(family, head) or forms.taken(web, staff, head.national_id)
        if problems:
            return household_form(request, staff, community, values, problems, 400)
        try:
            created = call(staff, web.backend.beneficiaries.RegisterFamily, family)
        except grpc.RpcError as exc:
            status, problems = forms.refusal(exc)
            return household_form(request, staff, community, values, problems, status)
        head.family_id = created.id
        try:
            call(staff, web.backend.beneficiaries.RegisterBeneficiary, head)
        except grpc.RpcError as exc:  # only a race with another writer gets here
            status, problems = forms.refusal(exc)
            return household_form(request, staff, community, values, problems, status, created_family=created.id)
        return RedirectResponse(f"/app/hogares/{created.id}?hecho=hogar", status_code=303)

    # -- a member of a household -----------------------------------------------------
    def family_of(staff: Staff, family_id: str) -> Any:
        try:
            return call(staff, web.backend.beneficiaries.GetFamily, bpb.GetFamilyRequest(id=family_id[:64]))
        except grpc.RpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                return None
            raise

    def unplaced(staff: Staff, community_id: str) -> dict[str, str]:
        """People of the community without a household, by name (the first 500)."""
        page = call(
            staff,
            web.backend.beneficiaries.ListCommunityMembers,
            bpb.ListCommunityMembersRequest(community_id=community_id, limit=500),
        ).beneficiaries
        people = [redact_beneficiary(to_json(p), staff.user.role) for p in page if not p.family_id]
        out = {}
        for p in sorted(people, key=lambda p: (p.get("first_names", ""), p.get("last_names", ""))):
            national = p.get("national_id") or {}
            document = f"{national.get('type', '')} {national.get('number', '')}"
            out[p["id"]] = f"{p.get('first_names', '')} {p.get('last_names', '')} · {document}"
        return out

    def member_form(
        request: Request,
        staff: Staff,
        family: Any,
        values: dict[str, str],
        problems: dict[str, str],
        status: int = 200,
    ) -> HTMLResponse:
        can_add = forms.may(staff, "AddMember")
        return web.render(
            request,
            staff,
            "integrante_nuevo.html",
            status=status,
            title=f"Agregar un integrante a {family.name}",
            family=family,
            values=values,
            problems=problems,
            choices=forms.choices(),
            can_register=forms.may(staff, "RegisterBeneficiary"),
            can_add=can_add,
            unplaced=unplaced(staff, family.community_id) if can_add else {},
        )

    @app.get("/app/hogares/{family_id}/integrantes/nuevo", response_class=HTMLResponse, include_in_schema=False)
    def new_member(request: Request, family_id: str) -> HTMLResponse:
        staff = forms.writer(web, request, "RegisterBeneficiary")
        family = family_of(staff, family_id)
        if family is None:
            return _not_found(web, request, staff, "Hogar")
        return member_form(request, staff, family, {"can_sign": "1"}, {})

    @app.post("/app/hogares/{family_id}/integrantes/nuevo", include_in_schema=False)
    def create_member(request: Request, family_id: str, form: forms.Posted) -> Response:
        staff = forms.writer(web, request, "RegisterBeneficiary")
        web.check_csrf(staff, form.get("csrf", ""))
        family = family_of(staff, family_id)
        if family is None:
            return _not_found(web, request, staff, "Hogar")
        values = {**forms.person_values(form), **forms.text(form, "relationship")}
        person = forms.person_request(values, family_id=family.id, relationship=values["relationship"])
        try:
            created = call(staff, web.backend.beneficiaries.RegisterBeneficiary, person)
        except grpc.RpcError as exc:
            status, problems = forms.refusal(exc)
            return member_form(request, staff, family, values, problems, status)
        return RedirectResponse(f"/app/personas/{created.id}?hecho=integrante", status_code=303)

    @app.post("/app/hogares/{family_id}/integrantes/existente", include_in_schema=False)
    def add_member(request: Request, family_id: str, form: forms.Posted) -> Response:
        staff = forms.writer(web, request, "AddMember")
        web.check_csrf(staff, form.get("csrf", ""))
        family = family_of(staff, family_id)
        if family is None:
            return _not_found(web, request, staff, "Hogar")
        values = forms.text(form, "existing.beneficiary_id", "existing.relationship")
        message = bpb.AddMemberRequest(
            family_id=family.id,
            beneficiary_id=values["existing.beneficiary_id"],
            relationship=values["existing.relationship"],
        )
        try:
            call(staff, web.backend.beneficiaries.AddMember, message)
        except grpc.RpcError as exc:
            status, problems = forms.refusal(exc)
            named = ("beneficiary_id", "relationship")
            problems = {f"existing.{k}" if k in named else k: v for k, v in problems.items()}
            return member_form(request, staff, family, values, problems, status)
        return RedirectResponse(f"/app/hogares/{family.id}?hecho=agregado", status_code=303)
