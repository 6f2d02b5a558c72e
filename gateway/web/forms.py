"""What the register and edit forms of communities, households and people share:
who may open them (the beneficiaries service's access table), the choices of their
selects, the form's fields as a person request, and the service's refusals turned
into messages beside each field."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated

import grpc
from fastapi import Depends, Request

from crm_platform.access import allows
from crm_platform.grpc_support import field_errors
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as bpb
from gateway.catalogs import CATALOGS
from gateway.web.app import Forbidden, Staff, WebApp
from services.beneficiaries.access import ACCESS as BENEFICIARIES
from services.beneficiaries.domain import model
from services.beneficiaries.domain.errors import ValidationFailed
from services.beneficiaries.domain.normalise import ID_TYPE_NAMES

SECTION = "/app/comunidades"
TEXT = 300  # longer than any field the service accepts, so what is cut is refused anyway
ID_TYPES = {e.code: f"{e.code} · {e.label}" for e in CATALOGS["tipo_documento"].entries}
SEXES = {e.code: e.label for e in CATALOGS["sexo"].entries}
RELATIONSHIPS = {e.code: e.label for e in CATALOGS["parentesco"].entries}
EDUCATION = {e.code: e.label for e in CATALOGS["nivel_educativo"].entries}
CHANNELS = {e.code: e.label for e in CATALOGS["canal"].entries}
# The person's fields of a form, named as the service names them in its errors.
PERSON_FIELDS = (
    "national_id.type",
    "national_id.number",
    "first_names",
    "last_names",
    "birth_date",
    "sex",
    "whatsapp_phone",
    "email",
    "education_level",
    "can_sign",
)
# What a person's page offers, each shown only to roles that may call it.
PERSON_OPERATIONS = ("UpdateContact", "MoveMember", "RecordConsent", "WithdrawConsent")
# A field the service names differently from the form's field that holds it.
ALIASES = {"national_id": "national_id.number", "contact_channels": "contact_channels.1", "id": "", "version": ""}
# The confirmation a record's page shows after a form succeeded (``?hecho=``).
NOTICES = {
    "comunidad": "Comunidad registrada.",
    "hogar": "Hogar registrado con su jefe o jefa de hogar.",
    "integrante": "Integrante registrado en el hogar.",
    "agregado": "Persona agregada al hogar.",
    "contacto": "Datos de contacto actualizados.",
    "traslado": "Persona trasladada al nuevo hogar.",
    "otorgado": "Consentimiento registrado.",
    "retirado": "Consentimiento retirado.",
}
STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.ABORTED: 409,
}


def may(staff: Staff, operation: str) -> bool:
    return allows(BENEFICIARIES, staff.user.role, operation)


def writer(web: WebApp, request: Request, *operations: str) -> Staff:
    """The signed-in user if their role may call every one of ``operations``;
    otherwise a 403 page, for a GET as for a POST."""
    staff = web.member(request, SECTION)
    if not all(may(staff, op) for op in operations):
        raise Forbidden()
    return staff


def notice(request: Request) -> str:
    return NOTICES.get(request.query_params.get("hecho", ""), "")


def choices() -> dict[str, dict[str, str]]:
    return {
        "id_types": ID_TYPES,
        "sexes": SEXES,
        "relationships": RELATIONSHIPS,
        "education": EDUCATION,
        "channels": CHANNELS,
    }


def refusal(exc: grpc.RpcError) -> tuple[int, dict[str, str]]:
    """The HTTP status and the messages by form field of a refused call; a failure
    that is not the caller's (the service down) is raised again."""
    status = STATUS.get(exc.code())
    if status is None:
        raise exc
    problems: dict[str, str] = {}
    for name, message in field_errors(exc).items():
        problems[ALIASES.get(name, name)] = message
    if not problems:
        problems[""] = exc.details() or "Solicitud inválida"
    return status, problems


async def posted(request: Request) -> dict[str, str]:
    """The posted form's text fields, each cut at ``TEXT`` characters (read here, in
    a dependency, so that the page itself runs off the event loop: its gRPC calls block)."""
    form = await request.form()
    return {name: value[:TEXT] for name, value in form.items() if isinstance(value, str)}


Posted = Annotated[dict[str, str], Depends(posted)]


def text(form: Mapping[str, str], *names: str) -> dict[str, str]:
    return {name: form.get(name, "").strip() for name in names}


def person_values(form: Mapping[str, str]) -> dict[str, str]:
    """The person's fields as typed, to show them again (a checkbox: "1" or "")."""
    values = text(form, *PERSON_FIELDS)
    values["can_sign"] = "1" if form.get("can_sign") else ""
    return values


def person_request(values: Mapping[str, str], **placement: str) -> bpb.RegisterBeneficiaryRequest:
    """A RegisterBeneficiaryRequest of the form's values; ``placement`` gives the
    community, or the household and the relationship to its head."""
    return bpb.RegisterBeneficiaryRequest(
        national_id=bpb.NationalId(type=values["national_id.type"], number=values["national_id.number"]),
        first_names=values["first_names"],
        last_names=values["last_names"],
        birth_date=values["birth_date"],
        sex=values["sex"],
        whatsapp_phone=values["whatsapp_phone"],
        email=values["email"],
        education_level=values["education_level"],
        can_sign=values["can_sign"] == "1",
        **placement,
    )


def taken(web: WebApp, staff: Staff, national_id: bpb.NationalId) -> dict[str, str]:
    """The error the service would answer if this national ID is already registered."""
    try:
        found = web.backend.call(
            web.backend.beneficiaries.GetBeneficiaryByNationalId,
            bpb.GetBeneficiaryByNationalIdRequest(national_id=national_id),
            staff.user,
        )
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            return {}
        return refusal(exc)[1]
    # The service's own words for a duplicate (services.beneficiaries.adapters.repository).
    kind = ID_TYPE_NAMES.get(found.national_id.type, found.national_id.type)
    return {"national_id.number": f"Ya existe un beneficiario con {kind} {found.national_id.number}"}


def precheck(family: bpb.RegisterFamilyRequest, person: bpb.RegisterBeneficiaryRequest) -> dict[str, str]:
    """The field errors the service would answer to these two requests, found by
    running its own pure validation (no I/O) before anything is written: a household
    and its head are two calls, and a head refused after the household was created
    would leave an empty household behind. The service still validates both calls."""
    problems: dict[str, str] = {}
    now = datetime.now(UTC)
    checks = (
        lambda: model.RegisterFamily(family.community_id, family.name, family.address).build(now),
        lambda: model.RegisterBeneficiary(
            person.national_id.type,
            person.national_id.number,
            person.first_names,
            person.last_names,
            person.birth_date,
            person.sex,
            community_id=person.community_id,
            family_id=person.family_id,
            relationship=person.relationship,
            whatsapp_phone=person.whatsapp_phone,
            email=person.email,
            education_level=person.education_level,
            can_sign=person.can_sign,
        ).build(now, now.date()),
    )
    for check in checks:
        try:
            check()
        except ValidationFailed as exc:
            problems.update(exc.errors)
    return problems
