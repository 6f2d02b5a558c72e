"""``make demo``: a scripted scenario through the public interfaces (HTTP gateway
and gRPC) against a freshly started local stack. Exits 0 only when every step
checked out. It grows as capabilities land."""

from __future__ import annotations

import base64
import hashlib
import shutil
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from crm_platform.grpc_support import caller_metadata
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as pb
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2_grpc as pb_grpc
from devstack import demo_actas, demo_kiosk, demo_notifications
from devstack.infra import ROOT, ComponentFailed, start_stack

PASSWORD = "demo-password-2026"  # noqa: S105 - development stack only


class StepFailed(AssertionError):
    pass


def check(condition: bool, message: str) -> None:
    if not condition:
        raise StepFailed(message)


def expect(response: httpx.Response, status: int) -> Any:
    if response.status_code != status:
        raise StepFailed(
            f"{response.request.method} {response.request.url.path}: esperado {status}, "
            f"recibido {response.status_code} {response.text[:300]}"
        )
    return response.json()


def scenario(
    http: httpx.Client, channel: grpc.Channel, gateway: str = "", amqp_uri: str = ""
) -> list[tuple[str, Callable[[], None]]]:
    stub = pb_grpc.BeneficiariesServiceStub(channel)
    state: dict[str, Any] = {}

    def login(user: str, password: str) -> dict[str, str]:
        token = expect(http.post("/api/v1/auth/login", json={"username": user, "password": password}), 200)
        return {"Authorization": f"Bearer {token['access_token']}"}

    def users() -> None:
        admin = login("admin", "admin-dev-password")
        for name, role in (("coordinadora", "coordinator"), ("gestor1", "gestor"), ("psicosocial", "psychosocial")):
            expect(
                http.post("/api/v1/users", headers=admin, json={"username": name, "password": PASSWORD, "role": role}),
                201,
            )
            state[role] = login(name, PASSWORD)

    def community() -> None:
        state["community"] = expect(
            http.post(
                "/api/v1/communities",
                headers=state["coordinator"],
                json={"name": "Nuevo Roche", "municipality": "Barrancas", "department": "La Guajira"},
            ),
            201,
        )
        expect(
            http.post(
                "/api/v1/communities",
                headers=state["gestor"],
                json={"name": "X", "municipality": "Y", "department": "Z"},
            ),
            403,
        )

    def household() -> None:
        g = state["gestor"]
        family = expect(
            http.post(
                "/api/v1/families",
                headers=g,
                json={"community_id": state["community"]["id"], "name": "Hogar Epiayú", "address": "Lote 12"},
            ),
            201,
        )
        head = expect(
            http.post(
                "/api/v1/beneficiaries",
                headers=g,
                json={
                    "national_id": {"type": "CC", "number": "40.925.118"},
                    "first_names": "Rosa Elena",
                    "last_names": "Epiayú Pushaina",
                    "birth_date": "1968-03-14",
                    "sex": "female",
                    "family_id": family["id"],
                    "relationship": "head",
                    "whatsapp_phone": "300 441 7820",
                    "can_sign": False,
                },
            ),
            201,
        )
        check(head["national_id"]["number"] == "40925118", "el número de cédula no se normalizó")
        check(head["whatsapp_phone"] == "+573004417820", "el teléfono no quedó en formato E.164")
        child = expect(
            http.post(
                "/api/v1/beneficiaries",
                headers=g,
                json={
                    "national_id": {"type": "TI", "number": "1123987654"},
                    "first_names": "María Fernanda",
                    "last_names": "Epiayú",
                    "birth_date": "2010-11-23",
                    "sex": "female",
                    "community_id": state["community"]["id"],
                },
            ),
            201,
        )
        expect(
            http.post(
                f"/api/v1/families/{family['id']}/members",
                headers=g,
                json={"beneficiary_id": child["id"], "relationship": "grandchild"},
            ),
            200,
        )
        state.update(family=family, head=head, child=child)

    def bad_input() -> None:
        g = state["gestor"]
        dup = expect(
            http.post(
                "/api/v1/beneficiaries",
                headers=g,
                json={
                    "national_id": {"type": "CC", "number": "40925118"},
                    "first_names": "Otra",
                    "last_names": "Persona",
                    "birth_date": "1970-01-01",
                    "sex": "female",
                    "community_id": state["community"]["id"],
                },
            ),
            409,
        )
        check("national_id" in dup.get("fields", {}), "el 409 no nombra el campo national_id")
        bad = expect(
            http.post(
                "/api/v1/beneficiaries",
                headers=g,
                json={
                    "national_id": {"type": "CC", "number": "12ab"},
                    "first_names": "",
                    "last_names": "Prueba",
                    "birth_date": "2999-01-01",
                    "sex": "female",
                    "community_id": state["community"]["id"],
                },
            ),
            400,
        )
        check({"national_id.number", "first_names", "birth_date"} <= set(bad["fields"]), f"campos: {bad}")
        expect(
            http.post(
                f"/api/v1/families/{state['family']['id']}/members",
                headers=g,
                json={"beneficiary_id": state["child"]["id"], "relationship": "grandchild"},
            ),
            409,
        )

    def search() -> None:
        params = {"q": "epiayu ros", "community_id": state["community"]["id"]}
        deadline = time.monotonic() + 20
        while True:  # the name index is built from events: eventually consistent
            found = expect(http.get("/api/v1/beneficiaries", headers=state["gestor"], params=params), 200)
            if found["beneficiaries"] or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        check([p["id"] for p in found["beneficiaries"]] == [state["head"]["id"]], f"búsqueda: {found}")

    def biometrics() -> None:
        g, head = state["gestor"], state["head"]
        template = hashlib.sha512(b"huella-demo").digest() * 8
        expect(http.post(f"/api/v1/beneficiaries/{head['id']}/consents", headers=g, json={"kind": "biometrics"}), 200)
        enrolment = expect(
            http.post(
                f"/api/v1/beneficiaries/{head['id']}/biometrics",
                headers=g,
                json={"finger": "right_index", "template_base64": base64.b64encode(template).decode()},
            ),
            201,
        )
        check("template_sha256" not in enrolment, "el gestor ve el hash de la plantilla")
        state["template_sha256"] = hashlib.sha256(template).hexdigest()  # what a paired reader matches against
        seen = expect(http.get(f"/api/v1/beneficiaries/{head['id']}", headers=state["psychosocial"]), 200)
        check("biometrics" not in seen and "consents" not in seen, "el equipo psicosocial ve datos biométricos")
        request = pb.GetBiometricTemplateRequest(beneficiary_id=head["id"], finger="right_index")
        try:
            stub.GetBiometricTemplate(request, metadata=caller_metadata("gestor1", "gestor"), timeout=10)
            raise StepFailed("un gestor pudo leer la plantilla por gRPC")
        except grpc.RpcError as exc:
            check(exc.code() == grpc.StatusCode.PERMISSION_DENIED, f"código inesperado {exc.code()}")
        reply = stub.GetBiometricTemplate(request, metadata=caller_metadata("kiosco-demo", "kiosk"), timeout=10)
        check(reply.template == template, "el quiosco recibió una plantilla distinta")

    def grpc_reads() -> None:
        health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
        check(health.status == health_pb2.HealthCheckResponse.SERVING, "el servidor gRPC no está sirviendo")
        person = stub.GetBeneficiaryByNationalId(
            pb.GetBeneficiaryByNationalIdRequest(national_id=pb.NationalId(type="CC", number="40925118")),
            metadata=caller_metadata("demo", "coordinator"),
            timeout=10,
        )
        check(person.id == state["head"]["id"], "consulta gRPC por cédula no coincide")

    def timeline() -> None:
        deadline = time.monotonic() + 20
        kinds: list[str] = []
        while time.monotonic() < deadline:
            reply = expect(
                http.get(f"/api/v1/families/{state['family']['id']}/timeline", headers=state["psychosocial"]), 200
            )
            kinds = sorted(e["kind"] for e in reply["entries"])
            if len(kinds) >= 3:
                break
            time.sleep(0.3)
        check(kinds == ["family_registered", "member_joined", "member_joined"], f"línea de tiempo: {kinds}")

    return [
        ("Usuarios por rol e inicio de sesión", users),
        ("Comunidad registrada por la coordinación (y negada al gestor)", community),
        ("Hogar con jefa de hogar y una integrante", household),
        ("Datos inválidos y duplicados rechazados con el campo nombrado", bad_input),
        ("Búsqueda por prefijo sin tildes", search),
        ("Consentimiento y huella cifrada; solo un quiosco la lee", biometrics),
        ("Consultas gRPC y verificación de salud", grpc_reads),
        ("Línea de tiempo del hogar construida por eventos", timeline),
        *demo_actas.steps(http, state, check, expect),
        *demo_notifications.steps(http, state, check, expect),
        *demo_kiosk.steps(http, state, check, expect, gateway, amqp_uri, PASSWORD),
    ]


def main() -> int:
    var_dir = ROOT / "var" / f"demo-{uuid.uuid4().hex[:8]}"
    print("Iniciando una pila local nueva para la demostración…", flush=True)
    try:
        stack = start_stack(var_dir, isolated_vhost=True)
    except ComponentFailed as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    failures = 0
    try:
        with (
            httpx.Client(base_url=stack.urls["gateway"], timeout=30) as http,
            grpc.insecure_channel(stack.urls["beneficiaries_grpc"]) as channel,
        ):
            steps = scenario(http, channel, stack.urls["gateway"], stack.env["AMQP_URI"])
            failures = run_steps(steps)
    finally:
        stack.stop()
        shutil.rmtree(var_dir, ignore_errors=True)
    print("Demostración completa: todo verificado." if not failures else "Demostración con fallas.")
    return 1 if failures else 0


def run_steps(steps: list[tuple[str, Callable[[], None]]]) -> int:
    """Run the steps in order, stopping at the first failure; return the failures."""
    for title, step in steps:
        try:
            step()
            print(f"  ✓ {title}", flush=True)
        except (StepFailed, httpx.HTTPError, grpc.RpcError) as exc:
            print(f"  ✗ {title}: {exc}", flush=True)
            return 1
    return 0
