"""The register and edit forms of communities, households and people in a real
browser: the service's validation messages beside each field with nothing written,
what was typed kept, the error summary focused; success redirected to the record
with a confirmation; consents granted and withdrawn with their evidence; a role
the access table does not allow sees no button and gets 403 on GET and POST;
a POST without its CSRF token is refused; axe-core at 360 and 1280 px."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pymongo
import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from devstack.infra import Stack
from services.beneficiaries.adapters.repository import DEFAULT_DB
from tests.e2e.conftest import new_person
from tests.e2e.test_gateway_actas import household
from tests.e2e.test_web_app import PASSWORD, accounts, base
from tests.e2e.web_support import DESKTOP, PHONE, browser, screenshot, serious_violations, sign_in
from tests.helpers import unique_cc

__all__ = ["accounts", "base", "browser"]  # fixtures, imported for pytest


@pytest.fixture(scope="module")
def mongo(stack: Stack) -> Iterator[pymongo.database.Database[dict[str, Any]]]:
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(stack.env["MONGO_URI"])
    try:
        yield client[stack.env.get("BENEFICIARIES_DB", DEFAULT_DB)]
    finally:
        client.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(bypass_csp=True, locale="es-CO")  # bypass_csp: axe-core is injected
    yield ctx
    ctx.close()


def signed_in(context: BrowserContext, base: str, username: str) -> Page:
    page = context.new_page()
    sign_in(page, base, username, PASSWORD)
    return page


def csrf_of(page: Page) -> str:
    return str(page.locator("input[name=csrf]").first.get_attribute("value"))


def assert_accessible_at_both_widths(page: Page, name: str) -> None:
    for size, label in ((PHONE, "movil"), (DESKTOP, "escritorio")):
        page.set_viewport_size(size)
        assert serious_violations(page) == [], (name, label)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= size["width"], f"{name} overflows at {size['width']} px: {width}"
        screenshot(page, f"formulario-{name}-{label}")


def field_error(page: Page, label: str) -> str:
    """The error tied to the field labelled ``label`` (through aria-describedby)."""
    field = page.get_by_label(label, exact=True)
    assert field.get_attribute("aria-invalid") == "true", label
    described = str(field.get_attribute("aria-describedby")).split()
    errors = [page.locator(f"#{i}").inner_text() for i in described if i.startswith("e-")]
    assert len(errors) == 1, (label, described)
    return errors[0]


def fill_person(page: Page, number: str, birth: str, first: str = "Yaneth", last: str = "Epieyú") -> None:
    page.get_by_label("Tipo de documento").select_option("CC")
    page.get_by_label("Número de documento").fill(number)
    page.get_by_label("Nombres").fill(first)
    page.get_by_label("Apellidos").fill(last)
    page.get_by_label("Fecha de nacimiento").fill(birth)
    page.get_by_label("Sexo").select_option("female")
    page.get_by_label("Celular (WhatsApp) (opcional)").fill("3104567890")


def test_a_gestor_registers_a_household_and_a_member_and_bad_input_writes_nothing(
    context: BrowserContext,
    base: str,
    accounts: dict[str, str],
    community: dict[str, Any],
    http: httpx.Client,
    as_role: dict[str, dict[str, str]],
    mongo: pymongo.database.Database[dict[str, Any]],
) -> None:
    page = signed_in(context, base, accounts["gestor"])
    page.goto(f"{base}/app/comunidades/{community['id']}")
    page.get_by_role("link", name="Registrar un hogar").click()
    assert_accessible_at_both_widths(page, "hogar-nuevo")
    name = f"Hogar Epieyú {uuid.uuid4().hex[:4]}"
    page.get_by_label("Nombre del hogar").fill(name)
    fill_person(page, "12AB", "2099-01-01")
    page.get_by_role("button", name="Registrar hogar").click()

    # The service's own messages, beside each field, with what was typed kept...
    assert "Número de cédula de ciudadanía inválido" in field_error(page, "Número de documento")
    assert field_error(page, "Fecha de nacimiento") == "La fecha de nacimiento no puede estar en el futuro"
    assert page.get_by_label("Nombres").input_value() == "Yaneth"
    assert page.get_by_label("Nombre del hogar").input_value() == name
    # ...listed in a summary that takes the focus, so a screen reader reads it first...
    summary = page.get_by_role("alert")
    assert "Revise los datos" in summary.inner_text()
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    assert_accessible_at_both_widths(page, "hogar-nuevo-errores")
    # ...and neither the household nor its head written.
    assert mongo.families.count_documents({"community_id": community["id"], "name": name}) == 0

    number = unique_cc()
    page.get_by_label("Número de documento").fill(number)
    page.get_by_label("Fecha de nacimiento").fill("1984-03-15")
    page.get_by_role("button", name="Registrar hogar").click()
    page.wait_for_url("**/app/hogares/*?hecho=hogar")
    assert page.get_by_role("status").inner_text() == "Hogar registrado con su jefe o jefa de hogar."
    assert page.get_by_role("heading", level=1).inner_text() == name
    assert page.get_by_role("link", name="Yaneth Epieyú").count() == 1
    family_id = page.url.split("/app/hogares/")[1].split("?")[0]

    page.get_by_role("link", name="Agregar un integrante").click()
    assert_accessible_at_both_widths(page, "integrante-nuevo")
    page.get_by_label("Parentesco con el jefe o la jefa de hogar").first.select_option("child")
    fill_person(page, number, "2010-07-01", first="Luz Mery")  # the head's document: refused
    page.get_by_role("button", name="Registrar integrante").click()
    assert "Ya existe un beneficiario con cédula de ciudadanía" in field_error(page, "Número de documento")
    page.get_by_label("Número de documento").fill(unique_cc())
    page.get_by_role("button", name="Registrar integrante").click()
    page.wait_for_url("**/app/personas/*?hecho=integrante")
    assert page.get_by_role("status").inner_text() == "Integrante registrado en el hogar."
    assert page.get_by_role("heading", level=1).inner_text() == "Luz Mery Epieyú"

    members = http.get(f"/api/v1/families/{family_id}/members", headers=as_role["gestor"]).json()["members"]
    assert sorted((m["first_names"], m["relationship"]) for m in members) == [
        ("Luz Mery", "child"),
        ("Yaneth", "head"),
    ]


def test_a_person_registered_without_a_household_is_added_to_one(
    context: BrowserContext,
    base: str,
    accounts: dict[str, str],
    community: dict[str, Any],
    http: httpx.Client,
    as_role: dict[str, dict[str, str]],
) -> None:
    family_id, _ = household(http, as_role["gestor"], community["id"])
    body = new_person(community["id"], first_names="Ruth Dary")
    alone = http.post("/api/v1/beneficiaries", headers=as_role["coordinator"], json=body).json()
    page = signed_in(context, base, accounts["coordinator"])
    page.goto(f"{base}/app/hogares/{family_id}/integrantes/nuevo")
    form = page.locator("form", has=page.get_by_role("button", name="Agregar al hogar"))
    form.get_by_label("Persona", exact=True).select_option(alone["id"])
    chosen = "Parentesco de la persona elegida con el jefe o la jefa de hogar"
    form.get_by_label(chosen).select_option("head")  # the household has its head already
    page.get_by_role("button", name="Agregar al hogar").click()
    assert "ya tiene jefe de hogar" in field_error(page, chosen)
    assert page.locator("#f-existing-beneficiary_id").input_value() == alone["id"]  # kept
    assert_accessible_at_both_widths(page, "integrante-existente-errores")
    page.locator("#f-existing-relationship").select_option("spouse")
    page.get_by_role("button", name="Agregar al hogar").click()
    page.wait_for_url(f"**/app/hogares/{family_id}?hecho=agregado")
    assert page.get_by_role("status").inner_text() == "Persona agregada al hogar."
    assert page.get_by_role("link", name="Ruth Dary Pushaina").count() == 1


def test_a_coordinator_registers_a_community_a_gestor_may_not(
    context: BrowserContext, browser: Browser, base: str, accounts: dict[str, str]
) -> None:
    page = signed_in(context, base, accounts["coordinator"])
    page.get_by_role("link", name="Comunidades", exact=True).click()
    page.get_by_role("link", name="Registrar una comunidad").click()
    assert_accessible_at_both_widths(page, "comunidad-nueva")
    place = f"Tamaquito {uuid.uuid4().hex[:4]}"
    page.get_by_label("Municipio").fill("Barrancas")
    page.get_by_role("button", name="Registrar comunidad").click()
    assert field_error(page, "Nombre de la comunidad") == "El nombre es obligatorio"
    assert field_error(page, "Departamento") == "El departamento es obligatorio"
    assert page.get_by_label("Municipio").input_value() == "Barrancas"
    page.get_by_label("Nombre de la comunidad").fill(place)
    page.get_by_label("Departamento").fill("La Guajira")
    page.get_by_role("button", name="Registrar comunidad").click()
    page.wait_for_url("**/app/comunidades/*?hecho=comunidad")
    assert page.get_by_role("status").first.inner_text() == "Comunidad registrada."
    assert page.get_by_role("heading", level=1).inner_text() == place

    gestor = browser.new_context()
    try:
        other = signed_in(gestor, base, accounts["gestor"])
        other.goto(f"{base}/app/comunidades")
        assert other.get_by_role("link", name="Registrar una comunidad").count() == 0
        refused = other.goto(f"{base}/app/comunidades/nueva")
        assert refused is not None and refused.status == 403
        form: dict[str, str | float | bool] = {"csrf": csrf_of(other), "name": "Intrusa"}
        form.update({"municipality": "Barrancas", "department": "La Guajira"})
        forged = other.request.post(f"{base}/app/comunidades/nueva", form=form, max_redirects=0)
        assert forged.status == 403
    finally:
        gestor.close()


def test_a_gestor_edits_contact_moves_a_member_and_withdraws_a_consent_with_its_evidence(
    context: BrowserContext,
    base: str,
    accounts: dict[str, str],
    community: dict[str, Any],
    http: httpx.Client,
    as_role: dict[str, dict[str, str]],
) -> None:
    gestor = as_role["gestor"]
    _, person_id = household(http, gestor, community["id"])
    target_family, _ = household(http, gestor, community["id"])
    page = signed_in(context, base, accounts["gestor"])
    page.goto(f"{base}/app/personas/{person_id}")

    phone = http.get(f"/api/v1/beneficiaries/{person_id}", headers=gestor).json()["whatsapp_phone"]
    page.get_by_role("link", name="Editar contacto").click()
    assert page.get_by_label("Celular (WhatsApp) (opcional)").input_value() == phone  # the current value
    assert_accessible_at_both_widths(page, "contacto")
    page.get_by_label("Celular (WhatsApp) (opcional)").fill("12345")
    page.get_by_label("Correo electrónico (opcional)").fill("wilmer@example.org")
    page.get_by_role("button", name="Guardar contacto").click()
    assert "Número de teléfono" in field_error(page, "Celular (WhatsApp) (opcional)")
    assert page.get_by_label("Correo electrónico (opcional)").input_value() == "wilmer@example.org"
    assert http.get(f"/api/v1/beneficiaries/{person_id}", headers=gestor).json()["email"] == ""  # nothing written
    page.get_by_label("Celular (WhatsApp) (opcional)").fill("315 765 4321")
    page.get_by_label("Primer canal (opcional)").select_option("sms")
    page.get_by_role("button", name="Guardar contacto").click()
    page.wait_for_url("**?hecho=contacto")
    assert page.get_by_role("status").inner_text() == "Datos de contacto actualizados."
    stored = http.get(f"/api/v1/beneficiaries/{person_id}", headers=gestor).json()
    assert (stored["email"], stored["contact_channels"]) == ("wilmer@example.org", ["sms"])

    page.get_by_role("button", name="Registrar el consentimiento de tratamiento de datos").click()
    page.wait_for_url("**?hecho=otorgado*")
    assert page.get_by_role("status").inner_text() == "Consentimiento registrado."
    row = page.locator("#consentimientos tr", has_text="Tratamiento de datos")
    assert "Otorgado" in row.inner_text() and accounts["gestor"] in row.inner_text()
    page.get_by_role("button", name="Retirar el consentimiento de tratamiento de datos").click()
    page.wait_for_url("**?hecho=retirado*")
    assert page.get_by_role("status").inner_text() == "Consentimiento retirado."
    assert "Retirado" in page.locator("#consentimientos tr", has_text="Tratamiento de datos").inner_text()
    consents = http.get(f"/api/v1/beneficiaries/{person_id}", headers=gestor).json()["consents"]
    assert [(c["kind"], c["granted"]) for c in consents] == [("data_processing", False)]
    assert_accessible_at_both_widths(page, "persona-consentimientos")

    page.get_by_role("link", name="Trasladar a otro hogar").click()
    assert_accessible_at_both_widths(page, "traslado")
    page.get_by_label("Hogar de destino", exact=True).select_option(target_family)
    page.get_by_label("Parentesco con el jefe o la jefa del hogar de destino").select_option("head")
    page.get_by_role("button", name="Trasladar").click()
    assert "ya tiene jefe de hogar" in field_error(page, "Parentesco con el jefe o la jefa del hogar de destino")
    page.get_by_label("Parentesco con el jefe o la jefa del hogar de destino").select_option("sibling")
    page.get_by_role("button", name="Trasladar").click()
    page.wait_for_url("**?hecho=traslado")
    assert page.get_by_role("status").inner_text() == "Persona trasladada al nuevo hogar."
    moved = http.get(f"/api/v1/beneficiaries/{person_id}", headers=gestor).json()
    assert (moved["family_id"], moved["relationship"]) == (target_family, "sibling")


def test_a_role_the_access_table_does_not_allow_sees_no_form_and_gets_403_and_csrf_is_required(
    context: BrowserContext,
    browser: Browser,
    base: str,
    accounts: dict[str, str],
    community: dict[str, Any],
    http: httpx.Client,
    as_role: dict[str, dict[str, str]],
) -> None:
    family_id, person_id = household(http, as_role["gestor"], community["id"])
    phone = http.get(f"/api/v1/beneficiaries/{person_id}", headers=as_role["gestor"]).json()["whatsapp_phone"]
    forms: dict[str, dict[str, str | float | bool]] = {
        f"/app/comunidades/{community['id']}/hogares/nuevo": {"name": "Hogar Intruso"},
        f"/app/hogares/{family_id}/integrantes/nuevo": {
            "relationship": "child",
            "national_id.type": "CC",
            "national_id.number": unique_cc(),
            "first_names": "Intrusa",
            "last_names": "Pérez",
            "birth_date": "2001-01-01",
            "sex": "female",
        },
        f"/app/personas/{person_id}/contacto": {"whatsapp_phone": "3001112233"},
        f"/app/personas/{person_id}/traslado": {"to_family_id": family_id, "relationship": "child"},
    }
    # An auditor reads consents and their evidence, and changes nothing.
    page = signed_in(context, base, accounts["auditor"])
    for path in (f"/app/comunidades/{community['id']}", f"/app/hogares/{family_id}", f"/app/personas/{person_id}"):
        page.goto(f"{base}{path}")
        links = ("Registrar un hogar", "Agregar un integrante", "Editar contacto", "Trasladar a otro hogar")
        for name in links:
            assert page.get_by_role("link", name=name).count() == 0, (path, name)
    assert page.get_by_role("heading", name="Consentimientos").count() == 1
    assert page.get_by_role("button", name="Registrar el consentimiento", exact=False).count() == 0
    token = csrf_of(page)  # a valid token: the refusal below is the role's, not the CSRF check's
    posts = dict(forms)
    posts[f"/app/personas/{person_id}/consentimientos"] = {"kind": "notifications", "accion": "otorgar"}
    for path, form in posts.items():
        if "consentimientos" not in path:
            refused = page.goto(f"{base}{path}")
            assert refused is not None and refused.status == 403, path
        forged = page.request.post(f"{base}{path}", form={"csrf": token, **form}, max_redirects=0)
        assert forged.status == 403, path

    gestor = browser.new_context()
    try:
        other = signed_in(gestor, base, accounts["gestor"])
        for path, form in posts.items():
            missing = other.request.post(f"{base}{path}", form=form, max_redirects=0)
            assert missing.status == 403, path
        # A record that does not exist is a 404 page, a household that does not exist a
        # message beside its field: never a 5xx.
        gone = other.goto(f"{base}/app/hogares/no-existe/integrantes/nuevo")
        assert gone is not None and gone.status == 404
        form = {"csrf": csrf_of(other), "to_family_id": "no-existe", "relationship": "child"}
        unknown = other.request.post(f"{base}/app/personas/{person_id}/traslado", form=form, max_redirects=0)
        assert unknown.status == 404 and 'id="e-f-to_family_id"' in unknown.text()
    finally:
        gestor.close()
    after = http.get(f"/api/v1/beneficiaries/{person_id}", headers=as_role["gestor"]).json()
    assert (after["whatsapp_phone"], after["consents"], after["family_id"]) == (phone, [], family_id)
    members = http.get(f"/api/v1/families/{family_id}/members", headers=as_role["gestor"]).json()["members"]
    assert len(members) == 1
