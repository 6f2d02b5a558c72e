"""Every operation of the OpenAPI, fuzzed with Schemathesis (issue 12, item 14):
no server error, no status code the document does not list, no answer that
violates its schema or content type.

A gateway runs in this process on its own port and database (its own accounts
and login throttle), in front of the stack's services: fuzzing creates data and
fails logins, and the shared gateway is left alone. Bounded (a few examples per
operation, no shrinking) and derandomized, so a run takes about the same time
and finds the same things each time.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err, Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from devstack.infra import Stack
from devstack.processes import LOOPBACK, free_port
from gateway.app import create_app
from services.actas.domain.submission import public_key_b64
from tests.e2e.conftest import PASSWORD, new_person
from tests.e2e.test_gateway_actas import household, png_b64, visit
from tests.e2e.test_gateway_kiosk import session
from tests.e2e.test_gateway_sessions import ADMIN_PASSWORD, settings_for

pytestmark = pytest.mark.e2e

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 20
STAFF = ("admin", "coordinator", "gestor", "psychosocial", "auditor")


@pytest.fixture(scope="module")
def gateway(stack: Stack) -> Iterator[str]:
    """A gateway on its own database, served by uvicorn as in production."""
    db_name = f"gw_fuzz_{uuid.uuid4().hex[:8]}"
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings_for(stack, db_name, login_free_failures=1000, login_client_free_failures=1000)),
            host=LOOPBACK,
            port=port,
            log_level="warning",
            server_header=False,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the fuzzed gateway did not start"
        time.sleep(0.05)
    try:
        yield f"http://{LOOPBACK}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _login(client: httpx.Client, username: str, password: str) -> str:
    r = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


@pytest.fixture(scope="module")
def tokens(gateway: str) -> dict[str, str]:
    """A bearer token per staff role."""
    with httpx.Client(base_url=gateway, timeout=30) as client:
        admin = _login(client, "admin", ADMIN_PASSWORD)
        out = {"admin": admin}
        for role in STAFF[1:]:
            name = f"fuzz-{role}-{uuid.uuid4().hex[:6]}"
            r = client.post(
                "/api/v1/users",
                headers={"Authorization": f"Bearer {admin}"},
                json={"username": name, "password": PASSWORD, "role": role},
            )
            assert r.status_code == 201, r.text
            out[role] = _login(client, name, PASSWORD)
    return out


@pytest.fixture(scope="module")
def known(gateway: str, tokens: dict[str, str]) -> dict[str, str]:
    """Ids that exist, so that some examples go past "not found"."""
    with httpx.Client(base_url=gateway, timeout=30) as client:
        coordinator = {"Authorization": f"Bearer {tokens['coordinator']}"}
        gestor = {"Authorization": f"Bearer {tokens['gestor']}"}
        community = client.post(
            "/api/v1/communities",
            headers=coordinator,
            json={"name": f"Fuzz {uuid.uuid4().hex[:6]}", "municipality": "Maicao", "department": "La Guajira"},
        ).json()
        family = client.post(
            "/api/v1/families", headers=gestor, json={"community_id": community["id"], "name": "Hogar Fuzz"}
        ).json()
        person = client.post("/api/v1/beneficiaries", headers=gestor, json=new_person(community["id"])).json()
        templates = client.get("/api/v1/acta-templates", headers=gestor).json()["templates"]
        # A sealed acta: its reads answer 200, its changes 409.
        head_family, head = household(client, gestor, community["id"])
        acta = client.post(
            "/api/v1/actas",
            headers=gestor,
            json={"template_key": "visita_domiciliaria@1", "values": visit(head_family, head)},
        ).json()
        for signature in (
            {"signer_id": head, "method": "handwritten", "handwritten_png_base64": png_b64()},
            {"method": "electronic"},
        ):
            assert client.post(f"/api/v1/actas/{acta['id']}/signatures", headers=gestor, json=signature).is_success
        assert client.post(f"/api/v1/actas/{acta['id']}/seal", headers=gestor).is_success
        # An account to deactivate and reactivate (doing that to a fuzzing role's
        # own account would revoke its token).
        target = f"fuzz-target-{uuid.uuid4().hex[:6]}"
        admin = {"Authorization": f"Bearer {tokens['admin']}"}
        account = {"username": target, "password": PASSWORD, "role": "auditor"}
        assert client.post("/api/v1/users", headers=admin, json=account).status_code == 201
        # A kiosk paired for the community: the roster answers it.
        key = Ed25519PrivateKey.generate()
        device = {
            "id": f"fuzz-{uuid.uuid4().hex[:8]}",
            "public_key": public_key_b64(key),
            "community_id": community["id"],
        }
        assert client.post("/api/v1/devices", headers=gestor, json=device).status_code == 201
        kiosk = session(client, device["id"], key)
        assert kiosk.status_code == 200, kiosk.text
        tokens["kiosk"] = kiosk.json()["access_token"]
    return {
        "community_id": community["id"],
        "family_id": family["id"],
        "beneficiary_id": person["id"],
        "key": templates[0]["key"],
        "acta_id": acta["id"],
        "username": target,
    }


@pytest.mark.timeout(420)  # about a minute here; room for a loaded machine
def test_every_operation_answers_as_its_openapi_says(
    gateway: str, tokens: dict[str, str], known: dict[str, str]
) -> None:
    schema = schemathesis.openapi.from_url(f"{gateway}/openapi.json")
    failures: list[str] = []
    results = list(schema.get_all_operations())
    invalid = [str(result.err()) for result in results if isinstance(result, Err)]
    assert not invalid, invalid
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) > 40
    for operation in operations:
        failures.extend(_fuzz(operation, gateway, tokens, known))
    assert not failures, "\n\n".join(failures)


def _fuzz(operation: Any, gateway: str, tokens: dict[str, str], known: dict[str, str]) -> list[str]:
    found: dict[str, str] = {}
    names = {p.name for p in operation.path_parameters}
    existing = {name: known[name] for name in names if name in known}
    cases = st.one_of(operation.as_strategy(), operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    if existing:
        cases = st.one_of(cases, operation.as_strategy(path_parameters=existing))
    if {p.name for p in operation.query} & {"community_id"}:
        cases = st.one_of(cases, operation.as_strategy(query={"community_id": known["community_id"]}))
    logout = operation.path == "/api/v1/auth/logout"
    roles = (*STAFF, "kiosk") if operation.path.startswith("/api/v1/kiosk/") else STAFF

    @given(case=cases, role=st.sampled_from(roles))
    @settings(
        max_examples=3 if logout else EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any, role: str) -> None:
        token = tokens[role]
        if logout:  # it revokes the token it is called with: a fresh one each time
            with httpx.Client(base_url=gateway, timeout=30) as client:
                token = _login(client, "admin", ADMIN_PASSWORD)
        try:
            response = case.call_and_validate(
                base_url=gateway, headers={"Authorization": f"Bearer {token}"}, checks=CHECKS, timeout=30
            )
            valid = case.meta is not None and case.meta.generation.mode is GenerationMode.POSITIVE
            if valid and response.status_code == 401 and not operation.path.endswith("/auth/login"):
                # Documented, but the token was good: something revoked it.
                found.setdefault("token refused", f"{operation.label}: a valid token was refused: {response.text}")
        except (Exception, FailureGroup) as failure:  # collected: every operation's findings, reported together
            kinds = failure.exceptions if isinstance(failure, FailureGroup) else (failure,)
            found.setdefault(" ".join(sorted({type(kind).__name__ for kind in kinds})), f"{operation.label}: {failure}")

    run()
    return list(found.values())
