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

    def consumed() -> list[dict[str, Any]]:
        found = spans_of(trace_id, folder)
        done = any(x["name"] == "beneficiaries.on_beneficiary_registered" for x in found)
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

    grpc_server = next(s for s in spans if s["service"] == "beneficiaries-grpc" and s["kind"] == "SERVER")
    assert grpc_server["name"].endswith("BeneficiariesService/RegisterBeneficiary")
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
