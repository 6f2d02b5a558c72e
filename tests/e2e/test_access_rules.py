"""Every (role, operation) pair, through gRPC and through the HTTP gateway: each
service enforces its own access table (``services/<name>/access.py``) and the
gateway refuses exactly what the service refuses.

Requests are dummies (empty messages, unknown ids, invalid bodies): a refusal is
``PERMISSION_DENIED`` / 403, and anything else (400, 404, 200) proves the check let
the call through. Nothing valid is written.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import grpc
import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf import message_factory

from crm_platform import access
from crm_platform.grpc_support import caller_metadata
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2
from crm_platform.proto_gen.crm.documents.v1 import documents_pb2
from crm_platform.proto_gen.crm.income.v1 import income_pb2, loans_pb2
from crm_platform.proto_gen.crm.notifications.v1 import notifications_pb2
from crm_platform.proto_gen.crm.reports.v1 import reports_pb2
from devstack.infra import Stack
from gateway.kiosk_routes import session_message
from services.actas import access as actas_access
from services.actas.domain.submission import public_key_b64
from services.beneficiaries import access as beneficiaries_access
from services.documents import access as documents_access
from services.income import access as income_access
from services.notifications import access as notifications_access
from services.reports import access as reports_access

API = "/api/v1"
NOPE = "no-existe"
GATEWAY_REFUSAL = "Su rol no tiene permiso para esta operación"


@dataclass(frozen=True)
class Service:
    name: str
    module: ModuleType  # the generated *_pb2
    service: str
    target_env: str
    table: access.AccessTable

    @property
    def full_name(self) -> str:
        return str(self.module.DESCRIPTOR.services_by_name[self.service].full_name)

    def methods(self) -> list[Any]:
        return list(self.module.DESCRIPTOR.services_by_name[self.service].methods)


SERVICES = {
    s.name: s
    for s in (
        Service("actas", actas_pb2, "ActasService", "ACTAS_GRPC", actas_access.ACCESS),
        Service(
            "beneficiaries",
            beneficiaries_pb2,
            "BeneficiariesService",
            "BENEFICIARIES_GRPC",
            beneficiaries_access.ACCESS,
        ),
        Service("documents", documents_pb2, "DocumentsService", "DOCUMENTS_GRPC", documents_access.ACCESS),
        Service(
            "notifications",
            notifications_pb2,
            "NotificationsService",
            "NOTIFICATIONS_GRPC",
            notifications_access.ACCESS,
        ),
        Service("reports", reports_pb2, "ReportsService", "REPORTS_GRPC", reports_access.ACCESS),
        Service("income", income_pb2, "IncomeService", "INCOME_GRPC", income_access.ACCESS),
        Service("loans", loans_pb2, "LoansService", "INCOME_GRPC", income_access.LOANS_ACCESS),
    )
}

# Operations no person reaches through an authenticated route: the gateway calls
# them under its own identity (a kiosk's session, a provider's webhook, the public
# chain head and key anyone may download without a login, an account's profile
# when an admin creates it).
NOT_USER_ROUTES = {
    ("actas", "GetDevice"),
    ("actas", "PutStaffProfile"),
    ("actas", "PairDevice"),
    ("notifications", "ReceiveWebhook"),
    ("actas", "GetLatestChainHead"),
    ("actas", "GetChainPublicKey"),
    ("beneficiaries", "LookupNames"),  # names for the web app's lists; no JSON route of its own
}


# A productive unit's registration that the service refuses (an unknown sector).
_UNIT = {"name": "x", "family_id": NOPE, "owner_ids": [NOPE], "community_id": NOPE, "kind": "emprendimiento"}


# A loan product and a loan the service refuses (no installments; an unknown UP).
_PRODUCT = {"code": "x", "name": "x", "frequency": "mensual", "installments": 0, "annual_rate": "1"}
_LOAN = {"unit_id": NOPE, "borrower_id": NOPE, "product_code": NOPE, "principal": "1"}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    operations: tuple[tuple[str, str], ...]  # (service, gRPC method) the route performs
    body: dict[str, Any] | None = None
    params: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _routes(community_id: str) -> list[Route]:
    b, a, d, n, i = "beneficiaries", "actas", "documents", "notifications", "income"
    up = f"/unidades-productivas/{NOPE}"
    lo, loan = "loans", f"/creditos/{NOPE}"
    person = {
        "national_id": {"type": "XX", "number": ""},
        "first_names": "",
        "last_names": "",
        "birth_date": "",
        "sex": "",
    }
    return [
        # beneficiaries
        Route("GET", "/communities", ((b, "ListCommunities"),)),
        Route("POST", "/communities", ((b, "RegisterCommunity"),), {"name": "", "municipality": "", "department": ""}),
        Route("POST", "/families", ((b, "RegisterFamily"),), {"community_id": NOPE, "name": ""}),
        Route("GET", f"/families/{NOPE}", ((b, "GetFamily"),)),
        Route("GET", f"/families/{NOPE}/members", ((b, "ListFamilyMembers"),)),
        Route("POST", f"/families/{NOPE}/members", ((b, "AddMember"),), {"beneficiary_id": NOPE, "relationship": "x"}),
        Route("GET", f"/families/{NOPE}/timeline", ((b, "GetTimeline"),)),
        Route("POST", "/beneficiaries", ((b, "RegisterBeneficiary"),), person),
        Route("GET", "/beneficiaries", ((b, "SearchBeneficiaries"),), params={"q": "zzzq"}),
        Route(
            "GET",
            "/beneficiaries",
            ((b, "GetBeneficiaryByNationalId"),),
            params={"national_id_type": "CC", "national_id_number": "1"},
        ),
        Route("GET", f"/beneficiaries/{NOPE}", ((b, "GetBeneficiary"),)),
        Route("PATCH", f"/beneficiaries/{NOPE}/contact", ((b, "UpdateContact"),), {"email": "x@example.org"}),
        Route("POST", f"/beneficiaries/{NOPE}/move", ((b, "MoveMember"),), {"to_family_id": NOPE, "relationship": "x"}),
        Route("POST", f"/beneficiaries/{NOPE}/consents", ((b, "RecordConsent"),), {"kind": "notifications"}),
        Route("DELETE", f"/beneficiaries/{NOPE}/consents/notifications", ((b, "WithdrawConsent"),)),
        Route(
            "POST",
            f"/beneficiaries/{NOPE}/biometrics",
            ((b, "StoreBiometricTemplate"),),
            {"finger": "right_index", "template_base64": "AAAA"},
        ),
        Route("GET", f"/beneficiaries/{NOPE}/timeline", ((b, "GetTimeline"),)),
        Route(
            "GET",
            "/kiosk/roster",
            ((b, "ListCommunityMembers"), (b, "GetBiometricTemplate")),
            params={"community_id": community_id},
        ),
        # actas
        Route("GET", "/acta-templates", ((a, "ListTemplates"),)),
        Route("GET", f"/acta-templates/{NOPE}", ((a, "GetTemplate"),)),
        Route("POST", "/actas", ((a, "CreateActa"),), {"template_key": NOPE, "values": {}}),
        Route("POST", f"/actas/{NOPE}/signatures", ((a, "SignActa"),), {"method": "electronic"}),
        Route("POST", f"/actas/{NOPE}/seal", ((a, "SealActa"),)),
        Route("POST", f"/actas/{NOPE}/amendments", ((a, "AmendActa"),), {"changes": {}, "reason": "x"}),
        Route("GET", "/actas", ((a, "ListActas"),), params={"limit": "1"}),
        Route("GET", f"/actas/{NOPE}", ((a, "GetActa"),)),
        Route("GET", "/acta-counts", ((a, "CountActas"),)),
        Route("GET", f"/actas/{NOPE}/verification", ((a, "VerifyActa"),)),
        Route("GET", "/chain/verification", ((a, "VerifyChain"),)),
        Route("POST", "/chain/heads", ((a, "PublishChainHead"),)),
        Route("GET", "/devices", ((a, "ListDevices"),)),
        Route(
            "POST", "/devices", ((a, "RegisterDevice"),), {"id": "no valido!", "public_key": "x", "community_id": "c"}
        ),
        Route("POST", "/pairing-codes", ((a, "IssuePairingCode"),), {"community_id": ""}),
        Route("DELETE", f"/devices/{NOPE}", ((a, "RevokeDevice"),)),
        Route("GET", "/rejected-submissions", ((a, "ListRejectedSubmissions"),), params={"limit": "1"}),
        Route("POST", f"/rejected-submissions/{NOPE}/resolution", ((a, "ResolveRejectedSubmission"),), {"note": "x"}),
        # documents
        Route("GET", f"/actas/{NOPE}/document", ((d, "GetActaDocument"),)),
        Route("POST", "/attachments", ((d, "PutAttachment"),), {"content_type": "image/png", "content_base64": "AAAA"}),
        Route("GET", f"/attachments/{NOPE}", ((d, "GetAttachment"),)),
        # notifications
        Route("POST", "/notifications", ((n, "Send"),), {"template": NOPE, "key": "acceso", "recipient_ids": [NOPE]}),
        Route("GET", "/notifications", ((n, "ListDeliveries"),), params={"recipient_id": NOPE}),
        Route("GET", "/notification-templates", ((n, "ListMessageTemplates"),)),
        Route("GET", "/notification-counts", ((n, "CountDeliveries"),), params={"created_from": "2026-11-30"}),
        Route("GET", f"/notifications/{NOPE}", ((n, "GetNotification"),)),
        # reports
        Route("GET", "/indicadores", (("reports", "ListKpis"),)),
        Route("GET", f"/indicadores/{NOPE}", (("reports", "GetKpiValue"),)),
        Route("GET", f"/indicadores/{NOPE}/registros", (("reports", "DrillDown"),)),
        Route("GET", f"/indicadores/{NOPE}/serie", (("reports", "GetKpiSeries"),)),
        # income
        Route("GET", "/unidades-productivas/sectores", ((i, "ListSectors"),)),
        Route("POST", "/unidades-productivas", ((i, "RegisterUnit"),), {**_UNIT, "sector": "no-existe"}),
        Route("GET", "/unidades-productivas", ((i, "ListUnits"),), params={"limit": "1"}),
        Route("GET", "/unidades-productivas/conteos", ((i, "CountUnits"),)),
        Route("GET", up, ((i, "GetUnit"),)),
        Route("POST", f"{up}/etapa", ((i, "ChangeStage"),), {"transition": "cerrar", "expected_version": 1}),
        Route("GET", f"{up}/plan", ((i, "GetPlan"),)),
        Route("GET", f"{up}/plan/versiones", ((i, "ListPlanVersions"),)),
        Route("PUT", f"{up}/plan", ((i, "SavePlan"),), {"content": {}}),
        Route("POST", f"{up}/plan/envio", ((i, "SubmitPlan"),), {"expected_revision": 1}),
        Route("POST", f"{up}/plan/aprobacion", ((i, "ApprovePlan"),), {"expected_revision": 1}),
        Route("POST", f"{up}/plan/devolucion", ((i, "ReturnPlan"),), {"expected_revision": 1, "reason": "x"}),
        Route("GET", f"{up}/plan/documento", ((d, "GetPlanDocument"),), params={"version": "1"}),
        Route("POST", f"{up}/capacitaciones", ((i, "RecordTraining"),), {"topic": "", "attendance": []}),
        Route("GET", f"{up}/capacitaciones", ((i, "ListTrainings"),)),
        Route("POST", "/capacitaciones", ((i, "RecordTraining"),), {"topic": "", "attendance": []}),
        Route("GET", "/capacitaciones", ((i, "ListTrainings"),), params={"community_id": NOPE}),
        Route("POST", f"{up}/diagnostico", ((i, "RecordDiagnosis"),), {"complete": True}),
        Route("POST", f"{up}/capitalizacion", ((i, "SetCapitalization"),), {"amount": "1"}),
        Route("POST", f"{up}/migracion", ((i, "MigrateUnit"),), {"to_version": 1, "expected_version": 1}),
        Route("GET", f"{up}/tareas", ((i, "ListTasks"),)),
        Route("POST", f"{up}/tareas/no-existe/firma-conjunta", ((i, "CosignTask"),)),
        Route("PUT", f"{up}/estados-financieros/2026-01", ((i, "RecordStatement"),), {"sales": "1"}),
        Route("GET", f"{up}/estados-financieros", ((i, "ListStatements"),)),
        Route("GET", "/unidades-productivas-vencidas", ((i, "ListOverdue"),), params={"limit": "1"}),
        Route("GET", "/flujos", ((i, "ListDefinitions"),)),
        Route("GET", f"/flujos/{NOPE}", ((i, "GetDefinition"),)),
        Route("POST", "/flujos/revision", ((i, "CheckDefinition"),), {"yaml": "x: 1"}),
        Route("POST", "/flujos", ((i, "PublishDefinition"),), {"yaml": "x: 1"}),
        # microcredits (bodies the service refuses, or unknown loans)
        Route("POST", "/productos-credito", ((lo, "CreateProduct"),), _PRODUCT),
        Route("GET", "/productos-credito", ((lo, "ListProducts"),)),
        Route("GET", f"/productos-credito/{NOPE}", ((lo, "GetProduct"),)),
        Route("POST", "/creditos", ((lo, "CreateLoan"),), _LOAN),
        Route("GET", "/creditos", ((lo, "ListLoans"),), params={"limit": "1"}),
        Route("GET", loan, ((lo, "GetLoan"),)),
        Route("POST", f"{loan}/aprobacion", ((lo, "ApproveLoan"),), {}),
        Route("POST", f"{loan}/desembolsos", ((lo, "DisburseLoan"),), {}),
        Route("POST", f"{loan}/pagos", ((lo, "RecordRepayment"),), {"amount": "1"}),
        Route("POST", f"{loan}/prepago", ((lo, "Prepay"),), {"amount": "1", "mode": "reducir_cuota"}),
        Route("POST", f"{loan}/reprogramacion", ((lo, "Reschedule"),), {"reason": "x"}),
        Route("POST", f"{loan}/castigo", ((lo, "RequestWriteOff"),), {"reason": "x"}),
        Route("POST", f"{loan}/castigo/aprobacion", ((lo, "ApproveWriteOff"),), {}),
        Route("POST", f"{loan}/pausa-mora", ((lo, "SetDelinquencyPause"),), {"paused": True}),
        Route("GET", "/cartera/indicadores", ((lo, "PortfolioIndicators"),), params={"as_of": "2000-01-01"}),
        Route("POST", "/cartera/cierre", ((lo, "CloseBusinessDay"),), {"date": "2100-01-01"}),
    ]


@pytest.fixture(scope="module")
def grpc_refusals(stack: Stack) -> Iterator[dict[tuple[str, str, str], grpc.StatusCode]]:
    """The status of an empty request to every method of every service, as every role."""
    codes: dict[tuple[str, str, str], grpc.StatusCode] = {}
    for service in SERVICES.values():
        with grpc.insecure_channel(stack.env[service.target_env]) as channel:
            for method in service.methods():
                request = message_factory.GetMessageClass(method.input_type)()
                reply = message_factory.GetMessageClass(method.output_type)
                call = channel.unary_unary(
                    f"/{service.full_name}/{method.name}",
                    request_serializer=type(request).SerializeToString,
                    response_deserializer=reply.FromString,
                )
                for role in access.ROLES:
                    try:
                        call(request, metadata=caller_metadata(f"acceso-{role}", role), timeout=30)
                        codes[service.name, method.name, role] = grpc.StatusCode.OK
                    except grpc.RpcError as exc:
                        codes[service.name, method.name, role] = exc.code()
    yield codes


@pytest.fixture(scope="module")
def kiosk_session(http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]) -> dict[str, str]:
    """Bearer headers of a kiosk paired for ``community``."""
    key = Ed25519PrivateKey.generate()
    device_id = f"kiosco-acceso-{uuid.uuid4().hex[:6]}"
    paired = http.post(
        f"{API}/devices",
        headers=as_role["admin"],
        json={"id": device_id, "public_key": public_key_b64(key), "community_id": community["id"]},
    )
    assert paired.status_code == 201, paired.text
    issued_at = datetime.now(UTC).isoformat()
    signature = base64.b64encode(key.sign(session_message(device_id, issued_at))).decode()
    opened = http.post(
        f"{API}/kiosk/session",
        json={"device_id": device_id, "issued_at": issued_at, "signature_base64": signature},
    )
    assert opened.status_code == 200, opened.text
    return {"Authorization": f"Bearer {opened.json()['access_token']}"}


def test_every_table_names_exactly_the_methods_of_its_service() -> None:
    for service in SERVICES.values():
        assert set(service.table) == {m.name for m in service.methods()}, service.name
        for roles in service.table.values():
            assert roles <= set(access.ROLES), service.name


def test_every_service_refuses_over_grpc_exactly_what_its_table_refuses(
    grpc_refusals: dict[tuple[str, str, str], grpc.StatusCode],
) -> None:
    disagreements = [
        f"{name}.{operation} as {role}: {code.name}, table {'allows' if allowed else 'refuses'}"
        for (name, operation, role), code in sorted(grpc_refusals.items())
        if (allowed := access.allows(SERVICES[name].table, role, operation))
        == (code == grpc.StatusCode.PERMISSION_DENIED)
    ]
    assert not disagreements, "\n".join(disagreements)
    assert grpc.StatusCode.UNAUTHENTICATED not in grpc_refusals.values()


def test_the_gateway_refuses_exactly_what_the_services_refuse_for_every_role_and_operation(
    http: httpx.Client,
    as_role: dict[str, dict[str, str]],
    kiosk_session: dict[str, str],
    community: dict[str, Any],
    grpc_refusals: dict[tuple[str, str, str], grpc.StatusCode],
) -> None:
    routes = _routes(community["id"])
    every_operation = {(s.name, m.name) for s in SERVICES.values() for m in s.methods()}
    assert {op for r in routes for op in r.operations} | NOT_USER_ROUTES == every_operation

    headers = {**as_role, access.KIOSK: kiosk_session}
    assert set(headers) == {*access.USER_ROLES, access.KIOSK}
    disagreements = []
    for route in routes:
        for role, auth in headers.items():
            refused_by_grpc = any(
                grpc_refusals[name, operation, role] == grpc.StatusCode.PERMISSION_DENIED
                for name, operation in route.operations
            )
            reply = http.request(route.method, API + route.path, headers=auth, params=route.params, json=route.body)
            assert reply.status_code != 401, f"{route} as {role}: {reply.text}"
            # A refusal comes from the gateway's own check, derived from the same
            # table, before any work (not only from the service's answer).
            refused_by_gateway = reply.status_code == 403 and reply.json()["error"] == GATEWAY_REFUSAL
            if (reply.status_code == 403 and not refused_by_gateway) or refused_by_gateway != refused_by_grpc:
                disagreements.append(
                    f"{route} as {role}: HTTP {reply.status_code} {reply.text[:120]}, "
                    f"gRPC {'refuses' if refused_by_grpc else 'allows'}"
                )
    assert not disagreements, "\n".join(disagreements)
