"""What reaches a Spanish-speaking user is Spanish (issue 12, items 16 and 17):
unreadable bodies, server errors, unknown routes and methods; the code lists
published with their labels and the labels accepted on input; the public
verification page a phone opens from a QR code."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway import actas_routes, catalogs, schemas
from gateway.app import create_app
from tests.unit.test_gateway_openapi import offline_settings

API = "/api/v1"
ENGLISH = ("error parsing", "Internal Server Error", "Not Found", "Method Not Allowed", "Field required", "Input ")


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    app = create_app(offline_settings())

    @app.get("/boom", include_in_schema=False)
    def boom() -> None:
        raise RuntimeError("secret internal detail")

    yield TestClient(app, raise_server_exceptions=False)


def spanish(text: str) -> None:
    for phrase in ENGLISH:
        assert phrase not in text, text


def test_a_body_that_is_not_utf8_json_is_a_spanish_400(client: TestClient) -> None:
    r = client.post(f"{API}/auth/login", content=b'{"username": "\xff"}', headers={"content-type": "application/json"})
    assert r.status_code == 400
    spanish(r.text)
    assert r.json()["fields"] == {"body": "No es JSON válido en UTF-8"}


def test_malformed_json_names_the_body_not_a_character_position(client: TestClient) -> None:
    r = client.post(f"{API}/auth/login", content=b'{"username": ', headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json() == {"error": "Solicitud inválida", "fields": {"body": "El cuerpo no es JSON válido"}}


def test_a_server_error_is_spanish_json_without_the_trace(client: TestClient) -> None:
    r = client.get("/boom")
    assert r.status_code == 500 and r.headers["content-type"] == "application/json"
    assert r.json() == {"error": "Error interno del servidor; intente de nuevo más tarde"}
    assert "secret internal detail" not in r.text and "Traceback" not in r.text


def test_unknown_routes_and_methods_are_spanish(client: TestClient) -> None:
    r = client.get("/no/existe")
    assert (r.status_code, r.json()) == (404, {"error": "Recurso no encontrado"})
    r = client.put(f"{API}/communities")
    assert (r.status_code, r.json()) == (405, {"error": "Método no permitido"})
    assert "GET" in r.headers["allow"]
    r = client.get("/docs/assets/no-existe.js")
    assert (r.status_code, r.json()) == (404, {"error": "Recurso no encontrado"})


def test_validation_messages_pydantic_writes_in_english_never_reach_the_user(client: TestClient) -> None:
    r = client.post(
        f"{API}/auth/login", json={"username": "x" * 65, "password": ["no"], "extra": 1}, headers={"x": "y"}
    )
    assert r.status_code == 400
    assert r.json()["fields"] == {
        "username": "Texto demasiado largo (máximo 64 caracteres)",
        "password": "Debe ser texto",
        "extra": "Campo no reconocido",
    }
    r = client.get(f"{API}/actas", params={"captured_from": "ayer"}, headers={"authorization": "Bearer x"})
    spanish(r.text)


def test_the_code_lists_are_published_with_their_spanish_labels(client: TestClient) -> None:
    r = client.get(f"{API}/catalogos")  # no token: nothing personal
    assert r.status_code == 200
    lists = r.json()
    assert {"codigo": "female", "etiqueta": "Mujer"} in lists["sexo"]
    assert {"codigo": "head", "etiqueta": "Jefe o jefa de hogar"} in lists["parentesco"]
    assert {"codigo": "right_index", "etiqueta": "Índice derecho"} in lists["dedo"]
    assert {"codigo": "CC", "etiqueta": "Cédula de ciudadanía"} in lists["tipo_documento"]
    assert set(lists) >= {"nivel_educativo", "consentimiento", "canal", "rol", "metodo_firma"}


def test_the_openapi_lists_each_code_with_its_label(client: TestClient) -> None:
    schemas_ = client.get("/openapi.json").json()["components"]["schemas"]
    sex = schemas_["BeneficiaryIn"]["properties"]["sex"]
    assert sex["enum"] == ["female", "male", "intersex"]
    assert "`female`: Mujer" in sex["description"] and "/api/v1/catalogos" in sex["description"]
    relationship = schemas_["BeneficiaryIn"]["properties"]["relationship"]
    assert relationship["enum"][0] == "" and "head" in relationship["enum"]  # optional: empty is allowed
    assert "right_index" in schemas_["BiometricIn"]["properties"]["finger"]["enum"]


@pytest.mark.parametrize(
    ("catalog", "said", "code"),
    [
        ("sexo", "Mujer", "female"),
        ("sexo", "MUJER", "female"),
        ("sexo", "female", "female"),
        ("parentesco", "jefa de hogar", "head"),
        ("parentesco", "Cónyuge o compañero(a)", "spouse"),
        ("parentesco", "conyuge", "spouse"),
        ("parentesco", "Hija", "child"),
        ("dedo", "índice derecho", "right_index"),
        ("dedo", "INDICE DERECHO", "right_index"),
        ("dedo", "right index", "right_index"),
        ("nivel_educativo", "tecnico", "technical"),
        ("tipo_documento", "cédula de ciudadanía", "CC"),
        ("tipo_documento", "cc", "CC"),
        ("canal", "correo electrónico", "email"),
        ("consentimiento", "Datos biométricos", "biometrics"),
    ],
)
def test_labels_are_read_as_their_codes(catalog: str, said: str, code: str) -> None:
    assert catalogs.CATALOGS[catalog].to_code(said) == code


def test_a_request_may_use_the_labels_people_see() -> None:
    person = schemas.BeneficiaryIn.model_validate(
        {
            "national_id": {"type": "Cédula de ciudadanía", "number": "1234567"},
            "first_names": "Ana",
            "last_names": "Epiayú",
            "birth_date": "1990-01-01",
            "sex": "Mujer",
            "relationship": "Jefa de hogar",
            "education_level": "Primaria",
            "contact_channels": ["SMS", "Correo electrónico"],
        }
    )
    assert (person.national_id.type, person.sex, person.relationship, person.education_level) == (
        "CC",
        "female",
        "head",
        "primary",
    )
    assert person.contact_channels == ["sms", "email"]
    assert schemas.BiometricIn.model_validate({"finger": "Pulgar izquierdo", "template_base64": "AA=="}).finger == (
        "left_thumb"
    )
    assert schemas.SignatureIn.model_validate({"method": "Huella"}).method == "fingerprint"


def test_an_unknown_signature_method_is_refused_in_spanish() -> None:
    with pytest.raises(ValueError, match="Valor no permitido; use uno de: fingerprint"):
        schemas.SignatureIn.model_validate({"method": "telepatía"})


class _Structure(HTMLParser):
    """Records what a validator would refuse: unclosed or misnested elements, and
    block elements inside a paragraph."""

    VOID = {"meta", "br", "link", "img", "input", "hr"}
    BLOCK = {"ul", "ol", "div", "table", "h1", "h2", "p", "main", "section"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.meta: list[dict[str, Any]] = []
        self.doctype = ""
        self.lang = ""

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl.lower()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "html":
            self.lang = dict(attrs).get("lang") or ""
        if tag == "meta":
            self.meta.append(dict(attrs))
        if tag in self.BLOCK and "p" in self.stack:
            self.problems.append(f"<{tag}> inside <p>")
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()


@pytest.mark.parametrize(
    "page",
    [
        actas_routes._page("Acta válida", "El acta está sellada.<br>Huella: <code>ab</code>", True),
        actas_routes._page("Acta con problemas", "Se encontraron problemas:<ul><li>uno</li></ul>", False),
    ],
)
def test_the_public_verification_page_is_valid_html_for_a_phone(page: str) -> None:
    parsed = _Structure()
    parsed.feed(page)
    parsed.close()
    assert parsed.doctype == "doctype html" and parsed.lang == "es"
    assert {"charset": "utf-8"} in parsed.meta
    assert {"name": "viewport", "content": "width=device-width, initial-scale=1"} in parsed.meta
    assert parsed.problems == [] and parsed.stack == []
