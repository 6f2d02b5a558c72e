"""The OpenAPI describes the API as it answers, and its pages work offline and
under a Content-Security-Policy (issue 12, items 13 and 17). The app is built
without its backends: nothing here calls a service."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from crm_platform.proto_gen.crm.actas.v1 import actas_pb2 as apb
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as pb
from crm_platform.proto_gen.crm.documents.v1 import documents_pb2 as dpb
from gateway import main
from gateway.app import create_app
from gateway.config import GatewaySettings
from gateway.deps import to_json
from gateway.responses import BeneficiaryOut

API = "/api/v1"
METHODS = ("get", "post", "put", "patch", "delete")


def offline_settings() -> GatewaySettings:
    """Settings whose backends are never reached (gRPC and MongoDB connect lazily)."""
    unreachable = "127.0.0.1:9"
    return GatewaySettings(
        jwt_secret="unit-test-secret-of-at-least-thirty-two-chars",
        token_ttl_seconds=60,
        admin_password="unused-admin-password",
        beneficiaries_grpc=unreachable,
        actas_grpc=unreachable,
        documents_grpc=unreachable,
        notifications_grpc=unreachable,
        mongo_uri="mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=100",
        db_name="unused",
        max_body_bytes=256 * 1024,
        grpc_timeout_seconds=1.0,
    )


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    yield TestClient(create_app(offline_settings()), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def spec(client: TestClient) -> dict[str, Any]:
    return dict(client.get("/openapi.json").json())


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method.upper(), path, operation


def test_64_bit_integers_are_json_numbers() -> None:
    assert to_json(apb.CountActasResponse(counts=[apb.Count(key="visita@1", count=2)])) == {
        "counts": [{"key": "visita@1", "count": 2}]
    }
    chain = to_json(apb.VerifyChainResponse(entries=7, problems=[apb.ChainProblem(seq=3, kind="missing")]))
    assert chain["entries"] == 7 and chain["problems"][0]["seq"] == 3
    assert to_json(pb.Beneficiary(version=4))["version"] == 4
    assert to_json(apb.Acta(chain_seq=12))["chain_seq"] == 12
    assert to_json(dpb.Attachment(size_bytes=2048))["size_bytes"] == 2048


def test_no_operation_documents_422_and_every_one_that_validates_documents_400(spec: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for method, path, operation in operations(spec):
        assert "422" not in operation["responses"], (method, path)
        if operation.get("parameters") or operation.get("requestBody"):
            assert "400" in operation["responses"], (method, path)


def test_every_operation_has_a_response_model_and_documents_its_errors(spec: dict[str, Any]) -> None:
    for method, path, operation in operations(spec):
        # Usually one success; POST /chain/heads has two (201 a new head, 200 the same one).
        success = [code for code in operation["responses"] if code.startswith("2")]
        assert 1 <= len(success) <= 2, (method, path)
        for code in success:
            if code != "204":
                body = operation["responses"][code]["content"]["application/json"]["schema"]
                assert "$ref" in body, (method, path, body)  # a named model, not "any JSON"
        for code, response in operation["responses"].items():
            if not code.startswith("2"):
                error = response["content"]["application/json"]["schema"]
                assert error == {"$ref": "#/components/schemas/ErrorOut"}, (method, path, code)


def test_authenticated_operations_use_the_bearer_scheme(spec: dict[str, Any]) -> None:
    scheme = spec["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")  # /docs shows "Authorize"
    public = {
        ("POST", f"{API}/auth/login"),
        ("POST", f"{API}/kiosk/session"),
        ("GET", f"{API}/catalogos"),
        ("POST", f"{API}/kiosk/pairing"),  # the one-time code is the credential
        ("GET", f"{API}/chain/heads/latest"),  # heads are kept by the public
        ("GET", f"{API}/chain/public-key"),
    }
    for method, path, operation in operations(spec):
        if (method, path) in public:
            assert "security" not in operation, (method, path)
        else:
            assert operation["security"] == [{"bearer": []}], (method, path)
            assert "401" in operation["responses"], (method, path)
            assert not any(p["name"].lower() == "authorization" for p in operation.get("parameters", []))
    assert {"429", "401", "400"} <= set(spec["paths"][f"{API}/auth/login"]["post"]["responses"])


def test_numbers_are_numbers_in_the_schema(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert schemas["CountOut"]["properties"]["count"]["type"] == "integer"
    assert schemas["BeneficiaryOut"]["properties"]["version"]["type"] == "integer"
    assert schemas["ActaOut"]["properties"]["chain_seq"]["type"] == "integer"
    assert schemas["ChainVerificationOut"]["properties"]["entries"]["type"] == "integer"


LOCAL = re.compile(r"^/(?!/)")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_everything_from_the_gateway(client: TestClient, page: str) -> None:
    r = client.get(page)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    urls = re.findall(r'(?:src|href|spec-url|data-openapi-url)="([^"]+)"', r.text)
    assert urls, r.text
    for url in urls:
        assert LOCAL.match(url), f"{page} loads {url} from elsewhere"
        asset = client.get(url)
        assert asset.status_code == 200, url
    assert "<script>" not in r.text and "<style" not in r.text  # nothing inline: the CSP allows none
    scripts = re.findall(r'<script src="([^"]+)"', r.text)
    for url in scripts:
        assert client.get(url).headers["content-type"].split(";")[0] in ("text/javascript", "application/javascript")


def security_headers_hold(headers: Any, html: bool) -> None:
    csp = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    if html:
        assert "script-src 'self'" in csp and "unsafe-eval" not in csp
        assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    else:
        assert csp.startswith("default-src 'none'")
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert "server" not in headers


def test_pages_and_answers_carry_the_security_headers(client: TestClient) -> None:
    security_headers_hold(client.get("/docs").headers, html=True)
    security_headers_hold(client.get("/redoc").headers, html=True)
    page = client.get("/verificar/no-existe")  # the backend is unreachable: the "not found" page
    assert page.headers["content-type"].startswith("text/html")
    security_headers_hold(page.headers, html=True)
    security_headers_hold(client.get(f"{API}/communities").headers, html=False)
    security_headers_hold(client.get("/nada").headers, html=False)
    security_headers_hold(client.post(f"{API}/auth/login", content=b"x" * 300_000).headers, html=False)


def test_the_gateway_process_does_not_announce_its_server(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(main.uvicorn, "run", lambda app, **options: seen.update(options))
    monkeypatch.setattr(main, "setup_tracing", lambda name: None)
    monkeypatch.setenv("CRM_ENV", "development")
    main.main()
    assert seen["server_header"] is False


def test_fields_a_role_may_not_see_stay_absent_not_null(client: TestClient) -> None:
    """Routes answer dicts; a model field the dict lacks (consents for a role that
    may not read them, a timestamp not set yet) is left out, not sent as null."""
    routes = [r for r in client.app.routes if isinstance(r, APIRoute) and r.path.startswith(API)]  # type: ignore[attr-defined]
    assert routes
    for route in routes:
        if route.response_model is not None:
            assert route.response_model_exclude_unset, route.path
    model = BeneficiaryOut.model_validate(to_json(pb.Beneficiary(id="b1", version=2)))
    dumped = model.model_dump(exclude_unset=True)
    assert "created_at" not in dumped and dumped["consents"] == [] and dumped["version"] == 2
