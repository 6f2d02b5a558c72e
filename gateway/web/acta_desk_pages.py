"""Actas at the desk: a new acta from a template (``/app/actas/nueva``), then its
participants' handwritten signatures or refusals (``/app/actas/{id}/firmas``), then
the gestor's signature and the seal. The same gRPC calls as the API's desk flow
(``gateway.actas_routes``), with the user's identity; who may do it comes from the
actas service's access table (``CreateActa``, ``SignActa``, ``SealActa``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import grpc
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from google.protobuf.struct_pb2 import Struct
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from crm_platform.access import allows, may_read_content
from crm_platform.grpc_support import field_errors
from crm_platform.limits import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENT_MB
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2 as apb
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as bpb
from crm_platform.proto_gen.crm.documents.v1 import documents_pb2 as dpb
from crm_platform.proto_gen.crm.income.v1 import income_pb2 as ipb
from gateway.actas_routes import _profile as staff_profile
from gateway.deps import to_json
from gateway.errors import GRPC_TO_HTTP
from gateway.policy import redact_beneficiary
from gateway.web import acta_form, acta_signing
from gateway.web.app import Forbidden, Staff, WebApp
from gateway.web.people_pages import person_row
from services.actas.access import ACCESS as ACTAS

NEW = "/app/actas/nueva"
MAX_PARTICIPANTS = 60
SEARCH_LIMIT = 20
PHOTO_TYPES = ("image/jpeg", "image/png")


def writer(web: WebApp, request: Request, operation: str) -> Staff:
    """The signed-in user if their role may ``operation`` on actas; else a 403."""
    staff = web.member(request, "/app/actas")
    if not allows(ACTAS, staff.user.role, operation):
        raise Forbidden()
    return staff


def rpc_problem(exc: grpc.RpcError) -> tuple[int, dict[str, str]]:
    """HTTP status and messages (by field, ``""`` for the whole form) of a failed call."""
    status = GRPC_TO_HTTP.get(exc.code(), 502)
    if status >= 500:
        raise exc
    found = field_errors(exc)
    return status, found or {"": exc.details() or "No se pudo guardar"}


@dataclass
class Draft:
    """What the new-acta page knows so far: template, community, participants."""

    templates: list[apb.Template]
    communities: list[Any]
    template: apb.Template | None = None
    community_id: str = ""
    people: list[dict[str, Any]] = field(default_factory=list)
    families: list[tuple[str, str]] = field(default_factory=list)
    found: list[dict[str, Any]] = field(default_factory=list)
    units: list[tuple[str, str]] = field(default_factory=list)  # (id, name) for a productive-unit field
    unit_hint: str = ""  # the UP a follow-up opened from its page names (kept across the steps)
    search: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return self.template is not None and bool(self.community_id) and not self.errors

    def query(self) -> dict[str, Any]:
        return {
            "plantilla": self.template.key if self.template else "",
            "comunidad": self.community_id,
            "participante": [p["id"] for p in self.people],
            "unidad": self.unit_hint,
        }


def register(app: FastAPI, web: WebApp) -> None:
    B, A = web.backend.beneficiaries, web.backend.actas

    def call(staff: Staff, method: Any, message: Any) -> Any:
        return web.backend.call(method, message, staff.user)

    def draft(staff: Staff, template_key: str, community_id: str, people: list[str], search: str = "") -> Draft:
        role = staff.user.role
        listed = call(staff, A.ListTemplates, apb.ListTemplatesRequest()).templates
        # Restricted templates (psychosocial) only for the roles that may read them.
        templates = acta_form.latest_versions([t for t in listed if may_read_content(role, t.key)])
        communities = list(call(staff, B.ListCommunities, bpb.ListCommunitiesRequest()).communities)
        out = Draft(templates, communities, search=search.strip()[:80])
        if template_key or community_id:
            # By key, or by code alone (a link to "the follow-up acta" names no version).
            out.template = next((t for t in templates if template_key in (t.key, t.code)), None)
            if out.template is None:
                out.errors["plantilla"] = "Elija un tipo de acta de la lista"
            if any(c.id == community_id for c in communities):
                out.community_id = community_id
            else:
                out.errors["comunidad"] = "Elija la comunidad"
        if not out.community_id:
            return out
        if out.template is not None and any(f.kind == "unit" for f in acta_form.fields(out.template)):
            listing = ipb.ListUnitsRequest(community_id=out.community_id, limit=500)
            units = call(staff, web.backend.income.ListUnits, listing).units
            out.units = [(u.id, u.name) for u in sorted(units, key=lambda u: u.name.casefold())]
        for person_id in list(dict.fromkeys(p for p in people if p))[:MAX_PARTICIPANTS]:
            try:
                person = call(staff, B.GetBeneficiary, bpb.GetBeneficiaryRequest(id=person_id[:64]))
            except grpc.RpcError:
                continue  # a stale id in the address: left out, not an error
            if person.community_id == out.community_id:
                out.people.append(person_row(redact_beneficiary(to_json(person), role)) | {"family": person.family_id})
        for family_id in dict.fromkeys(p["family"] for p in out.people if p["family"]):
            try:
                name = call(staff, B.GetFamily, bpb.GetFamilyRequest(id=family_id)).name
            except grpc.RpcError:
                name = family_id
            out.families.append((family_id, name))
        if out.search:
            request = bpb.SearchBeneficiariesRequest(
                query=out.search, community_id=out.community_id, limit=SEARCH_LIMIT
            )
            chosen = {p["id"] for p in out.people}
            out.found = [
                person_row(redact_beneficiary(to_json(p), role))
                for p in call(staff, B.SearchBeneficiaries, request).beneficiaries
                if p.id not in chosen
            ]
        return out

    def new_page(
        request: Request,
        staff: Staff,
        found: Draft,
        *,
        status: int = 200,
        typed: dict[str, list[str]] | None = None,
        problems: dict[str, str] | None = None,
        photos: dict[str, dict[str, str]] | None = None,
    ) -> HTMLResponse:
        specs = acta_form.fields(found.template) if found.ready and found.template else []
        problems = problems or {}
        return web.render(
            request,
            staff,
            "acta_nueva.html",
            status=status if not found.errors else 400,
            title="Nueva acta",
            draft=found,
            specs=specs,
            typed=typed or ({acta_form.PREFIX + acta_form.UNIT_FIELD: [found.unit_hint]} if found.unit_hint else {}),
            problems=problems,
            first_error=next((f.code for f in specs if f.code in problems), ""),
            photos=photos or {},
            max_photo_mb=MAX_ATTACHMENT_MB,
        )

    @app.get(NEW, response_class=HTMLResponse, include_in_schema=False)
    def new(request: Request) -> HTMLResponse:
        staff = writer(web, request, "CreateActa")
        q = request.query_params
        found = draft(
            staff,
            q.get("plantilla", "")[:80],
            q.get("comunidad", "")[:64],
            q.getlist("participante"),
            q.get("buscar", ""),
        )
        found.unit_hint = q.get("unidad", "")[:64]  # a follow-up opened from a UP's page names it
        return new_page(request, staff, found)

    async def upload(staff: Staff, spec: acta_form.Field, form: FormData) -> tuple[dict[str, str] | None, str]:
        """The photo of a photo field: a new file, stored as an attachment the way
        ``POST /api/v1/attachments`` stores it, or the one an earlier try stored."""
        sent = form.get(spec.name)
        if isinstance(sent, UploadFile) and sent.filename:
            content = await sent.read(MAX_ATTACHMENT_BYTES + 1)
            if not content:
                return None, ""
            if len(content) > MAX_ATTACHMENT_BYTES:
                return None, f"La foto supera el tamaño máximo de {MAX_ATTACHMENT_MB} MB"
            kind = sent.content_type if sent.content_type in PHOTO_TYPES else ""
            if not kind:
                return None, "La foto debe ser una imagen JPEG o PNG"
            message = dpb.PutAttachmentRequest(content=content, content_type=kind)
            try:
                stored = await run_in_threadpool(call, staff, web.backend.documents.PutAttachment, message)
            except grpc.RpcError as exc:
                return None, next(iter(rpc_problem(exc)[1].values()))
            return {"sha256": stored.sha256, "content_type": stored.content_type}, ""
        kept = str(form.get(f"{spec.name}_sha256", "") or "")
        if kept:
            kind = str(form.get(f"{spec.name}_tipo", "") or "")
            return {"sha256": kept[:64], "content_type": kind if kind in PHOTO_TYPES else "image/jpeg"}, ""
        return None, ""

    @app.post(NEW, response_class=HTMLResponse, include_in_schema=False)
    async def create(request: Request) -> Response:
        staff = writer(web, request, "CreateActa")
        form = await request.form()
        web.check_csrf(staff, str(form.get("csrf", "")))

        def text(name: str, limit: int) -> str:
            return str(form.get(name, "") or "")[:limit]

        people = [str(p) for p in form.getlist("participante")]
        found = await run_in_threadpool(draft, staff, text("plantilla", 80), text("comunidad", 64), people)
        if not found.ready or found.template is None:
            restricted = text("plantilla", 80) and not may_read_content(staff.user.role, text("plantilla", 80))
            if restricted:
                raise Forbidden()
            return new_page(request, staff, found, status=400)
        specs = acta_form.fields(found.template)
        photos: dict[str, dict[str, str]] = {}
        problems: dict[str, str] = {}
        for spec in specs:
            if spec.kind == "photo":
                photo, problem = await upload(staff, spec, form)
                if photo:
                    photos[spec.code] = photo
                if problem:
                    problems[spec.code] = problem
        typed = acta_form.typed(form)
        if problems:
            return new_page(request, staff, found, status=400, typed=typed, problems=problems, photos=photos)
        values = Struct()
        values.update(acta_form.read_values(form, specs, photos))
        message = apb.CreateActaRequest(
            template_key=found.template.key,
            values=values,
            community_id=found.community_id,
            gestor=staff_profile(staff.user),
        )
        try:
            created = await run_in_threadpool(call, staff, A.CreateActa, message)
        except grpc.RpcError as exc:
            status, problems = rpc_problem(exc)
            return new_page(request, staff, found, status=status, typed=typed, problems=problems, photos=photos)
        return RedirectResponse(f"/app/actas/{created.id}/firmas", status_code=303)

    acta_signing.register(app, web, writer, rpc_problem)
