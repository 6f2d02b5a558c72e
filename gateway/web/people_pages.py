"""Comunidades → hogares → personas: a community's households and people, one
household with its members and timeline, one person with consents, biometric
enrolment status (never templates) and timeline. Fields go through the API's
redaction (``gateway.policy.redact_beneficiary``), so a role sees here exactly what
it sees in JSON. The forms that change them: ``register_pages``, ``person_forms``."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import grpc
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as bpb
from gateway.deps import to_json
from gateway.policy import redact_beneficiary
from gateway.web import forms, income_support
from gateway.web.app import Staff, WebApp

COLOMBIA = ZoneInfo("America/Bogota")
MEMBERS_PAGE = 500
LOOKUP_BATCH = 500  # the most ids LookupNames takes at once
RELATIONSHIPS = {
    "head": "Jefe(a) de hogar",
    "spouse": "Cónyuge",
    "child": "Hijo(a)",
    "parent": "Padre o madre",
    "sibling": "Hermano(a)",
    "grandchild": "Nieto(a)",
    "grandparent": "Abuelo(a)",
    "other_relative": "Otro pariente",
    "non_relative": "No pariente",
}
SEX = {"female": "Mujer", "male": "Hombre", "intersex": "Intersexual"}
CONSENTS = {"data_processing": "Tratamiento de datos", "biometrics": "Biometría", "notifications": "Notificaciones"}
FINGERS = {
    f"{side}_{finger}": f"{name} {side_es}"
    for side, side_es in (("right", "derecho"), ("left", "izquierdo"))
    for finger, name in (
        ("thumb", "Pulgar"),
        ("index", "Índice"),
        ("middle", "Medio"),
        ("ring", "Anular"),
        ("little", "Meñique"),
    )
}


def age(birth: str) -> str:
    try:
        born = date.fromisoformat(birth)
    except ValueError:
        return ""
    today = date.today()
    return str(today.year - born.year - ((today.month, today.day) < (born.month, born.day)))


def person_row(data: dict[str, Any]) -> dict[str, Any]:
    national = data.get("national_id") or {}
    return {
        "id": data["id"],
        "nombre": f"{data.get('first_names', '')} {data.get('last_names', '')}".strip(),
        "documento": f"{national.get('type', '')} {national.get('number', '')}".strip(),
        "parentesco": RELATIONSHIPS.get(data.get("relationship", ""), data.get("relationship", "")),
        "sexo": SEX.get(data.get("sex", ""), data.get("sex", "")),
        "edad": age(data.get("birth_date", "")),
        "consentimientos": [CONSENTS.get(c["kind"], c["kind"]) for c in data.get("consents", []) if c.get("granted")]
        if "consents" in data
        else None,
        "huellas": [FINGERS.get(b["finger"], b["finger"]) for b in data.get("biometrics", [])]
        if "biometrics" in data
        else None,
    }


def consent_rows(data: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Each kind of consent with its state and its evidence (who recorded it and
    when), or None for a role that may not see consents."""
    if "consents" not in data:
        return None
    recorded = {c["kind"]: c for c in data["consents"]}
    out = []
    for kind, label in CONSENTS.items():
        entry = recorded.get(kind, {})
        when = entry.get("recorded_at", "")
        out.append(
            {
                "kind": kind,
                "nombre": label,
                "otorgado": bool(entry.get("granted")),
                "estado": ("Otorgado" if entry.get("granted") else "Retirado") if entry else "Sin registrar",
                "por": entry.get("recorded_by", ""),
                "cuando": _local(when) if when else "",
            }
        )
    return out


def _local(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(COLOMBIA).strftime("%d/%m/%Y %H:%M")
    except ValueError:
        return iso


def register(app: FastAPI, web: WebApp) -> None:
    def allowed(request: Request) -> Staff:
        return web.member(request, "/app/comunidades")

    def call(staff: Staff, method: Any, request: Any) -> Any:
        return web.backend.call(method, request, staff.user)

    def not_found(request: Request, staff: Staff, what: str) -> HTMLResponse:
        return web.render(
            request,
            staff,
            "error.html",
            status=404,
            title=f"{what} no encontrado",
            message=f"No existe ese {what.lower()}.",
        )

    def timeline(staff: Staff, subject_type: str, subject_id: str) -> list[dict[str, str]]:
        reply = call(
            staff,
            web.backend.beneficiaries.GetTimeline,
            bpb.GetTimelineRequest(subject_type=subject_type, subject_id=subject_id, limit=50),
        )
        return [
            {
                "cuando": e.occurred_at.ToDatetime(tzinfo=COLOMBIA).strftime("%Y-%m-%d %H:%M"),
                "que": e.summary,
                "acta": e.source_id if e.source_service == "actas" else "",
            }
            for e in reply.entries
        ]

    @app.get("/app/comunidades/{community_id}", response_class=HTMLResponse, include_in_schema=False)
    def community(request: Request, community_id: str) -> HTMLResponse:
        staff = allowed(request)
        listed = call(staff, web.backend.beneficiaries.ListCommunities, bpb.ListCommunitiesRequest()).communities
        found = next((c for c in listed if c.id == community_id), None)
        if found is None:
            return not_found(request, staff, "Comunidad")
        households: dict[str, list[dict[str, Any]]] = defaultdict(list)
        after = ""
        while True:
            page = call(
                staff,
                web.backend.beneficiaries.ListCommunityMembers,
                bpb.ListCommunityMembersRequest(community_id=community_id, limit=MEMBERS_PAGE, after_id=after),
            ).beneficiaries
            for person in page:
                households[person.family_id].append(person_row(redact_beneficiary(to_json(person), staff.user.role)))
            if len(page) < MEMBERS_PAGE:
                break
            after = page[-1].id
        names: dict[str, str] = {}
        family_ids = [f for f in households if f]
        for start in range(0, len(family_ids), LOOKUP_BATCH):  # one call per 500 households, not one each
            batch = bpb.LookupNamesRequest(family_ids=family_ids[start : start + LOOKUP_BATCH])
            names.update(call(staff, web.backend.beneficiaries.LookupNames, batch).families)
        without_head = [
            f
            for f, people in households.items()
            if f and not any(p["parentesco"] == RELATIONSHIPS["head"] for p in people)
        ]
        return web.render(
            request,
            staff,
            "comunidad.html",
            title=found.name,
            community=found,
            households=dict(households),
            names=names,
            without_head=without_head,
            notice=forms.notice(request),
            can_register=forms.may(staff, "RegisterFamily") and forms.may(staff, "RegisterBeneficiary"),
        )

    @app.get("/app/hogares/{family_id}", response_class=HTMLResponse, include_in_schema=False)
    def household(request: Request, family_id: str) -> HTMLResponse:
        staff = allowed(request)
        try:
            family = call(staff, web.backend.beneficiaries.GetFamily, bpb.GetFamilyRequest(id=family_id[:64]))
        except grpc.RpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                return not_found(request, staff, "Hogar")
            raise
        members = call(
            staff, web.backend.beneficiaries.ListFamilyMembers, bpb.ListFamilyMembersRequest(family_id=family.id)
        ).members
        rows = [person_row(redact_beneficiary(to_json(p), staff.user.role)) for p in members]
        return web.render(
            request,
            staff,
            "hogar.html",
            title=f"Hogar {family.name}",
            family=family,
            rows=rows,
            events=timeline(staff, "family", family.id),
            notice=forms.notice(request),
            can_add=forms.may(staff, "RegisterBeneficiary"),
            can_register_unit=income_support.may(staff, "RegisterUnit"),
        )

    @app.get("/app/personas/{person_id}", response_class=HTMLResponse, include_in_schema=False)
    def person(request: Request, person_id: str) -> HTMLResponse:
        staff = allowed(request)
        try:
            found = call(staff, web.backend.beneficiaries.GetBeneficiary, bpb.GetBeneficiaryRequest(id=person_id[:64]))
        except grpc.RpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                return not_found(request, staff, "Persona")
            raise
        data = redact_beneficiary(to_json(found), staff.user.role)
        row = person_row(data)
        return web.render(
            request,
            staff,
            "persona.html",
            title=row["nombre"],
            row=row,
            person=found,
            consents=consent_rows(data),
            events=timeline(staff, "beneficiary", found.id),
            notice=forms.notice(request),
            can={op: forms.may(staff, op) for op in forms.PERSON_OPERATIONS},
        )
