"""What the income pages (``unit_pages``, ``unit_detail``) share: who may do what
(the income service's access table), the Spanish labels of stages, kinds and
transitions (from the domain), and the names of people, households and
communities a page shows instead of ids."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

import grpc
from fastapi import Request

from crm_platform.access import allows
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as bpb
from crm_platform.proto_gen.crm.income.v1 import income_pb2 as pb
from gateway.web.app import Forbidden, Staff, WebApp
from services.beneficiaries.access import ACCESS as BENEFICIARIES
from services.income.access import ACCESS as INCOME
from services.income.domain.stages import STAGE_LABELS

SECTION = "/app/unidades"
COLOMBIA = ZoneInfo("America/Bogota")
KINDS = {"emprendimiento": "Emprendimiento", "fortalecimiento": "Fortalecimiento"}
STAGES = dict(STAGE_LABELS)
PLAN_STATUS = {
    "draft": "Borrador",
    "submitted": "Enviado a aprobación",
    "approved": "Aprobado",
    "returned": "Devuelto para ajustes",
}
BANDS = {"cumple": "Cumple", "parcial": "Parcial", "no_cumple": "No cumple"}
LOOKUP_BATCH = 500  # the most ids LookupNames takes at once


def may(staff: Staff, operation: str) -> bool:
    return allows(INCOME, staff.user.role, operation)


def writer(web: WebApp, request: Request, operation: str) -> Staff:
    """The signed-in user if their role may call ``operation``; otherwise a 403
    page, for a GET as for a POST."""
    staff = web.member(request, SECTION)
    if not may(staff, operation):
        raise Forbidden()
    return staff


def sectors(web: WebApp, staff: Staff) -> dict[str, str]:
    reply = web.backend.call(web.backend.income.ListSectors, pb.ListSectorsRequest(), staff.user)
    return {s.code: s.label for s in reply.sectors}


def communities(web: WebApp, staff: Staff) -> dict[str, str]:
    """Community names by id, or none for a role that may not list them."""
    if not allows(BENEFICIARIES, staff.user.role, "ListCommunities"):
        return {}
    reply = web.backend.call(web.backend.beneficiaries.ListCommunities, bpb.ListCommunitiesRequest(), staff.user)
    return {c.id: c.name for c in reply.communities}


def names(
    web: WebApp, staff: Staff, people: Iterable[str] = (), families: Iterable[str] = ()
) -> tuple[dict[str, str], dict[str, str]]:
    """People's and households' names by id (one call per 500 ids); an id the
    role may not look up stays unnamed."""
    people, families = sorted(set(people) - {""}), sorted(set(families) - {""})
    found_people: dict[str, str] = {}
    found_families: dict[str, str] = {}
    if not allows(BENEFICIARIES, staff.user.role, "LookupNames"):
        return found_people, found_families
    for start in range(0, max(len(people), len(families)), LOOKUP_BATCH):
        batch = bpb.LookupNamesRequest(
            beneficiary_ids=people[start : start + LOOKUP_BATCH], family_ids=families[start : start + LOOKUP_BATCH]
        )
        reply = web.backend.call(web.backend.beneficiaries.LookupNames, batch, staff.user)
        found_people.update(reply.beneficiaries)
        found_families.update(reply.families)
    return found_people, found_families


def missing(exc: grpc.RpcError) -> bool:
    return exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT)


def card(unit: Any, sector_names: dict[str, str], community_names: dict[str, str]) -> dict[str, Any]:
    """A UP as a row of the list and a card of the board."""
    return {
        "id": unit.id,
        "nombre": unit.name,
        "comunidad": community_names.get(unit.community_id, unit.community_id),
        "sector": sector_names.get(unit.sector, unit.sector),
        "tipo": KINDS.get(unit.kind, unit.kind),
        "etapa": STAGES.get(unit.stage, unit.stage),
        "plan": PLAN_STATUS.get(unit.plan_status, unit.plan_status) if unit.plan_version else "Sin plan",
        "registrada": unit.created_at.ToDatetime().strftime("%Y-%m-%d") if unit.HasField("created_at") else "",
    }
