"""Actas at the desk in the staff web app, in a real browser (Debian's chromium):
a gestor fills a form generated from the template (GPS from the browser, a photo),
sees the API's message beside a bad field with nothing saved, has participants
sign on the signature pad or refuse, signs and seals; roles without write access
get 403; the pages pass axe-core at phone and desktop widths."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page

from devstack.infra import Stack
from tests.e2e.conftest import new_person
from tests.e2e.test_gateway_actas import household
from tests.e2e.web_support import DESKTOP, PHONE, browser, screenshot, serious_violations, sign_in

__all__ = ["browser"]  # the fixture, imported for pytest

PASSWORD = "web-password-123"
API = "/api/v1"
VISIT = "visita_domiciliaria@1"


@pytest.fixture(scope="module")
def base(stack: Stack) -> str:
    return stack.urls["gateway"]


@pytest.fixture(scope="module")
def accounts(http: httpx.Client, as_role: dict[str, dict[str, str]]) -> dict[str, str]:
    names = {}
    for role in ("gestor", "auditor", "psychosocial"):
        name = f"desk-{role}-{uuid.uuid4().hex[:6]}"
        body = {"username": name, "password": PASSWORD, "role": role, "full_name": f"Persona {role.title()}"}
        assert http.post(f"{API}/users", headers=as_role["admin"], json=body).status_code == 201
        names[role] = name
    return names


@pytest.fixture(scope="module")
def people(http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]) -> dict[str, str]:
    """A household: its head (Wilmer Pushaina), María José Epiayú and Rosa Epiayú."""
    gestor = as_role["gestor"]
    family_id, head = household(http, gestor, community["id"])
    out = {"family": family_id, "Wilmer Pushaina": head}
    for first in ("María José", "Rosa"):
        body = new_person(community["id"], family_id=family_id, relationship="other_relative", first_names=first)
        created = http.post(f"{API}/beneficiaries", headers=gestor, json={**body, "last_names": "Epiayú"})
        assert created.status_code == 201, created.text
        out[f"{first} Epiayú"] = created.json()["id"]
    return out


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(
        bypass_csp=True,  # lets axe-core be injected
        locale="es-CO",
        viewport=DESKTOP,
        geolocation={"latitude": 11.5444, "longitude": -72.9072, "accuracy": 12},
        permissions=["geolocation"],
    )
    yield ctx
    ctx.close()


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 160, 90)).save(out, format="JPEG")
    return out.getvalue()


def draw(page: Page, who: str) -> None:
    """A signature drawn with the mouse on ``who``'s pad."""
    pad = page.get_by_role("img", name=f"Recuadro de firma de {who}")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    assert box is not None
    x, y = box["x"], box["y"] + box["height"] / 2
    page.mouse.move(x + 20, y)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(x + 20 + step * 15, y + (-12 if step % 2 else 12), steps=3)
    page.mouse.up()


def actas_of(http: httpx.Client, headers: dict[str, str], person_id: str) -> list[dict[str, Any]]:
    reply = http.get(f"{API}/actas", headers=headers, params={"beneficiary_id": person_id})
    assert reply.status_code == 200, reply.text
    return list(reply.json()["actas"])


def test_a_gestor_creates_signs_and_seals_an_acta_at_the_desk(
    context: BrowserContext,
    base: str,
    accounts: dict[str, str],
    people: dict[str, str],
    community: dict[str, Any],
    http: httpx.Client,
    as_role: dict[str, dict[str, str]],
) -> None:
    page = context.new_page()
    sign_in(page, base, accounts["gestor"], PASSWORD)
    page.goto(f"{base}/app/actas")
    page.get_by_role("link", name="Nueva acta").click()
    page.get_by_label("Tipo de acta", exact=True).select_option(VISIT)
    page.get_by_label("Comunidad", exact=True).select_option(community["id"])
    page.get_by_role("button", name="Continuar").click()

    # Participants: found by name in the community, accents or not.
    search = page.get_by_label("Buscar personas de la comunidad por nombre")
    search.fill("epiayu")
    page.get_by_role("button", name="Buscar").click()
    page.get_by_label("María José Epiayú", exact=False).check()
    page.get_by_label("Rosa Epiayú", exact=False).check()
    page.get_by_role("button", name="Agregar a los participantes").click()
    page.get_by_label("Buscar personas de la comunidad por nombre").fill("WILMER")
    page.get_by_role("button", name="Buscar").click()
    page.get_by_label("Wilmer Pushaina", exact=False).check()
    page.get_by_role("button", name="Agregar a los participantes").click()
    chosen = page.get_by_role("group", name="Participantes elegidos (desmarque para quitar)")
    assert chosen.get_by_role("checkbox").count() == 3

    # The form from the template's typed fields.
    page.get_by_label("Fecha de la actividad").fill("2026-12-05")
    page.get_by_label("Lugar", exact=True).fill("Nuevo Roche")
    page.get_by_role("button", name="Usar mi ubicación").click()
    page.get_by_text("Ubicación tomada del equipo").wait_for()  # the browser answers asynchronously
    assert page.get_by_label("Latitud").input_value() == "11.544400"
    assert page.get_by_label("Longitud").input_value() == "-72.907200"
    page.get_by_label("Hogar visitado").select_option(people["family"])
    page.get_by_role("group", name="Motivo de la visita").get_by_label("Seguimiento").check()
    page.get_by_label("Situación encontrada").fill("Huerta activa; el pozo necesita arreglo")
    page.get_by_label("Personas presentes").fill("45")  # the template allows 1 to 30
    photo = jpeg()
    page.get_by_label("Registro fotográfico (opcional)").set_input_files(
        {"name": "huerta.jpg", "mimeType": "image/jpeg", "buffer": photo}
    )
    signers = page.get_by_role("group", name="Participantes que firman")
    assert signers.get_by_role("checkbox").count() == 3
    assert all(box.is_checked() for box in signers.get_by_role("checkbox").all())

    # A bad value (the browser's own checks off, as in an old browser): the API's
    # message beside the field, what was typed kept, nothing saved.
    form = page.locator("form[action='/app/actas/nueva'][method='post']")
    form.evaluate("f => { f.noValidate = true; }")
    with page.expect_response(lambda r: r.url.endswith("/app/actas/nueva") and r.request.method == "POST") as sent:
        page.get_by_role("button", name="Guardar y pasar a las firmas").click()
    assert sent.value.status == 400
    number = page.get_by_label("Personas presentes")
    assert number.get_attribute("aria-invalid") == "true"
    assert "Personas presentes: debe ser como máximo 30" in page.locator("#e-personas_presentes").inner_text()
    assert "e-personas_presentes" in (number.get_attribute("aria-describedby") or "")
    assert page.evaluate("document.activeElement.id") == "v_personas_presentes"  # focus on what to fix
    assert page.get_by_label("Situación encontrada").input_value() == "Huerta activa; el pozo necesita arreglo"
    assert page.get_by_label("Latitud").input_value() == "11.544400"
    assert page.get_by_text("Foto ya cargada").count() == 1
    assert actas_of(http, as_role["auditor"], people["María José Epiayú"]) == []
    assert serious_violations(page) == []
    screenshot(page, "acta-nueva-error-escritorio")

    number.fill("3")
    page.get_by_role("button", name="Guardar y pasar a las firmas").click()
    page.wait_for_url("**/firmas")
    acta_id = page.url.split("/")[-2]
    assert page.get_by_text("lo hace en el quiosco de su comunidad").count() == 1  # fingerprints: not faked
    assert serious_violations(page) == []

    # An empty pad is not sent; a refusal needs its reason (the service's message).
    page.get_by_role("button", name="Guardar la firma de Wilmer Pushaina").click()
    assert "Dibuje la firma" in page.locator(f"#f-{people['Wilmer Pushaina']}").inner_text()
    page.get_by_text("Rosa Epiayú no firma", exact=True).click()
    with page.expect_navigation():
        page.get_by_role("button", name="Registrar que Rosa Epiayú no firma").click()
    assert "Indique el motivo" in page.locator(f"#r-{people['Rosa Epiayú']}").inner_text()
    reason = page.get_by_label("Motivo por el que Rosa Epiayú no firma")
    assert reason.get_attribute("aria-invalid") == "true"
    reason.fill("Prefiere no firmar hasta hablar con su familia")
    with page.expect_navigation():
        page.get_by_role("button", name="Registrar que Rosa Epiayú no firma").click()
    for who in ("María José Epiayú", "Wilmer Pushaina"):
        draw(page, who)
        with page.expect_navigation():
            page.get_by_role("button", name=f"Guardar la firma de {who}").click()
    assert page.get_by_role("heading", name="Por firmar (0)").count() == 1
    screenshot(page, "acta-firmas-escritorio")
    page.get_by_role("button", name="Firmar como gestor y sellar el acta").click()
    page.wait_for_url(f"**/app/actas/{acta_id}")

    # The acta's page: sealed, verified, its folio, every signature, the PDF link.
    assert page.get_by_text("Sellada y sin alteraciones").count() == 1
    assert page.get_by_text("Firma manuscrita").count() == 2
    assert page.get_by_text("Se negó a firmar").count() == 1
    assert page.get_by_text("Prefiere no firmar hasta hablar con su familia", exact=False).count() == 1
    assert page.get_by_text("Firma electrónica", exact=False).count() == 1
    sealed = http.get(f"{API}/actas/{acta_id}", headers=as_role["auditor"]).json()
    assert sealed["status"] == "sealed" and sealed["folio"]
    assert page.locator("dd", has_text=sealed["folio"]).count() == 1
    values = sealed["values"]
    assert values["ubicacion"]["lat"] == pytest.approx(11.5444) and values["personas_presentes"] == 3
    assert values["fotos"]["sha256"] == hashlib.sha256(photo).hexdigest()
    assert values["motivo"] == "seguimiento" and values["hogar"] == people["family"]
    drawn = [s for s in sealed["signatures"] if s["method"] == "handwritten"]
    assert len(drawn) == 2 and all(len(s["handwritten_sha256"]) == 64 for s in drawn)
    pdf = page.get_by_role("link", name="Descargar el PDF", exact=False)
    assert pdf.count() == 1
    reply = page.request.get(f"{base}{pdf.get_attribute('href')}", max_redirects=0)
    assert reply.status in (202, 303)  # a link to the stored PDF, or "still being produced"
    assert serious_violations(page) == []


def test_the_desk_pages_pass_axe_on_a_phone(
    browser: Browser,
    base: str,
    accounts: dict[str, str],
    people: dict[str, str],
    community: dict[str, Any],
    http: httpx.Client,
    as_role: dict[str, dict[str, str]],
) -> None:
    person = people["Wilmer Pushaina"]
    values = {
        "fecha": "2026-12-05",
        "lugar": "Nuevo Roche",
        "hogar": people["family"],
        "motivo": "seguimiento",
        "situacion_encontrada": "Sin novedad",
        "personas_presentes": 2,
        "firmantes": [person],
    }
    draft = http.post(f"{API}/actas", headers=as_role["gestor"], json={"template_key": VISIT, "values": values})
    assert draft.status_code == 201, draft.text
    ctx = browser.new_context(bypass_csp=True, locale="es-CO", viewport=PHONE)
    page = ctx.new_page()
    try:
        sign_in(page, base, accounts["gestor"], PASSWORD)
        pages = {
            "nueva": f"/app/actas/nueva?plantilla={VISIT}&comunidad={community['id']}"
            f"&participante={person}&buscar=epiayu",
            "firmas": f"/app/actas/{draft.json()['id']}/firmas",
        }
        for name, path in pages.items():
            reply = page.goto(f"{base}{path}")
            assert reply is not None and reply.status == 200, path
            assert serious_violations(page) == [], path
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{path} overflows at 360 px: {width}"
            screenshot(page, f"acta-{name}-movil")
        # On a phone the pad takes the finger: the drawing still posts a PNG.
        draw(page, "Wilmer Pushaina")
        with page.expect_navigation():
            page.get_by_role("button", name="Guardar la firma de Wilmer Pushaina").click()
        assert page.get_by_role("heading", name="Por firmar (0)").count() == 1
    finally:
        ctx.close()
    signed = http.get(f"{API}/actas/{draft.json()['id']}", headers=as_role["auditor"]).json()
    assert [s["method"] for s in signed["signatures"]] == ["handwritten"]


def test_only_roles_that_write_actas_create_them_and_restricted_templates_follow_the_access_table(
    browser: Browser, base: str, accounts: dict[str, str], community: dict[str, Any], people: dict[str, str]
) -> None:
    for role, writes, psychosocial in (
        ("auditor", False, False),
        ("gestor", True, False),
        ("psychosocial", True, True),
    ):
        ctx = browser.new_context()
        page = ctx.new_page()
        try:
            sign_in(page, base, accounts[role], PASSWORD)
            page.goto(f"{base}/app/actas")
            assert (page.get_by_role("link", name="Nueva acta").count() == 1) is writes, role
            reply = page.goto(f"{base}/app/actas/nueva")
            assert reply is not None and reply.status == (200 if writes else 403), role
            if writes:
                options = page.get_by_label("Tipo de acta", exact=True).locator("option").all_inner_texts()
                assert ("Acta de intervención psicosocial" in options) is psychosocial, (role, options)
                assert "Acta de visita domiciliaria" in options
            csrf = page.locator("input[name=csrf]").first.get_attribute("value") or ""
            form = {"csrf": csrf, "plantilla": "intervencion_psicosocial@1", "comunidad": community["id"]}
            forged = page.request.post(f"{base}/app/actas/nueva", multipart=form, max_redirects=0)
            assert forged.status == (400 if psychosocial else 403), (role, forged.status)
            if writes:  # a form without this session's CSRF token is refused before anything is written
                forged_csrf = page.request.post(
                    f"{base}/app/actas/nueva", multipart={**form, "csrf": "x" * 64}, max_redirects=0
                )
                assert forged_csrf.status == 403
            else:
                signing = page.goto(f"{base}/app/actas/{uuid.uuid4().hex}/firmas")
                assert signing is not None and signing.status == 403
        finally:
            ctx.close()
