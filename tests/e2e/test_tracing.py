"""One trace spans the HTTP request, the gRPC call, the service, MongoDB, and the
event consumer on the other side of the bus (read back from the trace files)."""

from __future__ import annotations

import json
import secrets
import uuid
from pathlib import Path
from typing import Any

import httpx

from devstack.infra import Stack
from tests.helpers import eventually, traces_dir, unique_cc


def spans_of(trace_id: str, folder: Path) -> list[dict[str, Any]]:
    found = []
    for path in folder.glob("*.jsonl"):
        for line in path.read_text().splitlines():
            span = json.loads(line)
            if span["trace_id"] == trace_id:
                found.append(span)
    return found


def test_a_request_is_one_connected_trace_from_gateway_to_mongodb_and_across_the_bus(stack: Stack) -> None:
    trace_id, root_span = secrets.token_hex(16), secrets.token_hex(8)
    with httpx.Client(base_url=stack.urls["gateway"], timeout=30) as http:
        token = http.post("/api/v1/auth/login", json={"username": "admin", "password": "admin-dev-password"})
        auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
        community = http.post(
            "/api/v1/communities",
            headers=auth,
            json={
                "name": f"Traza {uuid.uuid4().hex[:4]}",
                "municipality": "Barrancas",
                "department": "La Guajira",
            },
        ).json()
        r = http.post(
            "/api/v1/beneficiaries",
            headers={**auth, "traceparent": f"00-{trace_id}-{root_span}-01"},
            json={
                "national_id": {"type": "CC", "number": unique_cc()},
                "first_names": "Traza",
                "last_names": "Completa",
                "birth_date": "1990-01-01",
                "sex": "female",
                "community_id": community["id"],
            },
        )
        assert r.status_code == 201, r.text

    folder = traces_dir(stack)

    def registration(span: dict[str, Any]) -> bool:
        return (
            span["service"] == "beneficiaries-grpc"
            and span["kind"] == "SERVER"
            and span["name"].endswith("BeneficiariesService/RegisterBeneficiary")
        )

    def consumed() -> list[dict[str, Any]]:
        found = spans_of(trace_id, folder)
        # Each process exports its spans in batches of its own: wait for both ends.
        done = (
            any(x["name"] == "beneficiaries.on_beneficiary_registered" for x in found)
            and any(x["service"] == "gateway" and x["kind"] == "SERVER" for x in found)
            and any(registration(x) for x in found)
        )
        return found if done else []

    spans = eventually(consumed)
    by_id = {s["span_id"]: s for s in spans}

    def ancestors(span: dict[str, Any]) -> list[dict[str, Any]]:
        chain = []
        while span["parent_id"] in by_id:
            span = by_id[span["parent_id"]]
            chain.append(span)
        return chain

    http_span = next(s for s in spans if s["service"] == "gateway" and s["kind"] == "SERVER")
    assert http_span["parent_id"] == root_span
    assert http_span["name"] == "POST /api/v1/beneficiaries"

    # Other calls may join the trace (the reports service reads the new person while
    # it consumes the event): the registration is the one the gateway made.
    grpc_server = next(s for s in spans if registration(s))
    grpc_client = by_id[grpc_server["parent_id"]]
    assert grpc_client["service"] == "gateway" and grpc_client["kind"] == "CLIENT"
    assert http_span in ancestors(grpc_client)

    mongo_writes = [
        s
        for s in spans
        if s["service"] == "beneficiaries-grpc"
        and s["attributes"].get("db.system") == "mongodb"
        and grpc_server in ancestors(s)
    ]
    assert any("insert" in s["name"] for s in mongo_writes)

    consumer = next(s for s in spans if s["name"] == "beneficiaries.on_beneficiary_registered")
    assert consumer["service"] == "beneficiaries" and consumer["kind"] == "CONSUMER"
    assert grpc_server in ancestors(consumer) and http_span in ancestors(consumer)
    assert any(s["attributes"].get("db.system") == "mongodb" and consumer in ancestors(s) for s in spans)


# -- service-to-service hops -------------------------------------------------------------
def hop(spans: list[dict[str, Any]], caller: str, callee: str, method: str) -> list[dict[str, Any]]:
    """The server spans of ``callee`` serving ``method`` whose parent is a client span
    of ``caller``: a gRPC call from one service to another, inside the trace."""
    by_id = {s["span_id"]: s for s in spans}
    return [
        s
        for s in spans
        if s["service"] == callee
        and s["kind"] == "SERVER"
        and s["name"].endswith(method)
        and by_id.get(s["parent_id"], {}).get("service") == caller
        and by_id[s["parent_id"]]["kind"] == "CLIENT"
    ]


def ancestry(spans: list[dict[str, Any]], span: dict[str, Any]) -> list[dict[str, Any]]:
    by_id = {s["span_id"]: s for s in spans}
    chain = []
    while span["parent_id"] in by_id:
        span = by_id[span["parent_id"]]
        chain.append(span)
    return chain


def traced(headers: dict[str, str]) -> tuple[str, dict[str, str]]:
    """A new trace id and ``headers`` that start the request in it."""
    trace_id = secrets.token_hex(16)
    return trace_id, {**headers, "traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}


def spans_with_hop(
    stack: Stack, trace_id: str, caller: str, callee: str, method: str, count: int = 1, within: str = ""
) -> list[dict[str, Any]]:
    """The spans of the trace, once ``count`` calls ``caller`` → ``callee`` are written
    (and the span named ``within``, which ends after them), and the gateway's own:
    each process exports its batches on its own, and the gateway's server span,
    which ends last, can come after the others."""

    def found() -> list[dict[str, Any]]:
        spans = spans_of(trace_id, traces_dir(stack))
        done = (
            len(hop(spans, caller, callee, method)) >= count
            and (not within or any(s["name"] == within for s in spans))
            and any(s["service"] == "gateway" and s["kind"] == "SERVER" for s in spans)
        )
        return spans if done else []

    return eventually(found, timeout=30)


def test_calls_between_services_stay_in_the_trace(
    stack: Stack, http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]
) -> None:
    """gateway → actas → beneficiaries (two people, looked up in parallel), actas →
    (AMQP) documents → actas, and gateway → notifications → beneficiaries: every
    service-to-service channel carries the trace."""
    from tests.e2e.conftest import new_person
    from tests.e2e.test_gateway_actas import household, png_b64, visit

    gestor = as_role["gestor"]
    family_id, head = household(http, gestor, community["id"])
    spouse = http.post(
        "/api/v1/beneficiaries",
        headers=gestor,
        json=new_person(community["id"], family_id=family_id, relationship="spouse"),
    )
    assert spouse.status_code == 201, spouse.text
    people = [head, spouse.json()["id"]]

    # gateway → actas-grpc (CreateActa) → beneficiaries-grpc (GetBeneficiary, one per person)
    create_trace, headers = traced(gestor)
    values = {**visit(family_id, head), "firmantes": people}
    draft = http.post(
        "/api/v1/actas", headers=headers, json={"template_key": "visita_domiciliaria@1", "values": values}
    )
    assert draft.status_code == 201, draft.text
    spans = spans_with_hop(stack, create_trace, "actas-grpc", "beneficiaries-grpc", "GetBeneficiary", count=2)
    create = next(s for s in spans if s["service"] == "actas-grpc" and s["name"].endswith("ActasService/CreateActa"))
    assert create["kind"] == "SERVER" and ancestry(spans, create)[0]["service"] == "gateway"
    assert all(create in ancestry(spans, s) for s in hop(spans, "actas-grpc", "beneficiaries-grpc", "GetBeneficiary"))

    # actas-grpc (SealActa) → acta_sealed → documents (consumer) → actas-grpc (GetActa)
    acta_id = draft.json()["id"]
    for person in people:
        body = {"signer_id": person, "method": "handwritten", "handwritten_png_base64": png_b64()}
        assert http.post(f"/api/v1/actas/{acta_id}/signatures", headers=gestor, json=body).status_code == 200
    assert http.post(f"/api/v1/actas/{acta_id}/signatures", headers=gestor, json={"method": "electronic"}).is_success
    seal_trace, headers = traced(gestor)
    assert http.post(f"/api/v1/actas/{acta_id}/seal", headers=headers).status_code == 200
    spans = spans_with_hop(stack, seal_trace, "documents", "actas-grpc", "GetActa", within="documents.on_acta_sealed")
    seal = next(s for s in spans if s["service"] == "actas-grpc" and s["name"].endswith("ActasService/SealActa"))
    consumer = next(s for s in spans if s["name"] == "documents.on_acta_sealed")
    assert consumer["kind"] == "CONSUMER" and seal in ancestry(spans, consumer)
    (get_acta,) = hop(spans, "documents", "actas-grpc", "GetActa")
    assert consumer in ancestry(spans, get_acta)

    # gateway → notifications (Send) → beneficiaries-grpc (ListFamilyMembers)
    send_trace, headers = traced(as_role["coordinator"])
    body = {
        "family_id": family_id,
        "template": "recordatorio_reunion",
        "variables": {"fecha": "28 de noviembre", "hora": "9:00 a. m.", "lugar": "Salón comunal", "tema": "huertas"},
        "key": f"traza-{uuid.uuid4().hex[:8]}",
    }
    sent = http.post("/api/v1/notifications", headers=headers, json=body)
    assert sent.status_code == 202, sent.text
    spans = spans_with_hop(stack, send_trace, "notifications", "beneficiaries-grpc", "ListFamilyMembers")
    (members,) = hop(spans, "notifications", "beneficiaries-grpc", "ListFamilyMembers")
    assert any(s["service"] == "gateway" and s["kind"] == "SERVER" for s in ancestry(spans, members))
