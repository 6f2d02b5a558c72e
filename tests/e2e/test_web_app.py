"""The staff web app in a real browser (Debian's chromium through Playwright):
sign-in per role, navigation from the access rules, every page rendered with no
serious axe-core finding at phone and desktop widths, exports that open, CSRF,
sign-out and the idle timeout."""

from __future__ import annotations

import base64
import csv
import io
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from openpyxl import load_workbook
from playwright.sync_api import Browser, BrowserContext

from devstack.infra import Stack
from tests.e2e.test_gateway_actas import household, png_b64, visit
from tests.e2e.web_support import DESKTOP, PHONE, browser, screenshot, serious_violations, sign_in

__all__ = ["browser"]  # the fixture, imported for pytest

PASSWORD = "web-password-123"
WEB_ROLES = ("admin", "coordinator", "gestor", "income_adviser", "psychosocial", "auditor")
EVERYONE = ["Inicio", "Actas", "Comunidades", "Unidades productivas", "Créditos"]
SECTIONS_OF = {  # the menu each role sees, from the services' access tables
    "admin": [*EVERYONE, "Indicadores", "Quioscos", "Notificaciones", "Flujos", "Administración"],
    "coordinator": [*EVERYONE, "Indicadores", "Quioscos", "Notificaciones", "Flujos"],
    "gestor": [*EVERYONE, "Indicadores", "Notificaciones"],
    "income_adviser": [*EVERYONE, "Indicadores"],
    "psychosocial": EVERYONE,
    "auditor": [*EVERYONE, "Indicadores", "Quioscos", "Notificaciones"],
}
PAGE_OF = {
    "Unidades productivas": "/app/unidades",
    "Créditos": "/app/creditos",
    "Indicadores": "/app/indicadores",
    "Quioscos": "/app/quioscos",
    "Notificaciones": "/app/notificaciones",
    "Flujos": "/app/flujos",
    "Administración": "/app/administracion",
}


@pytest.fixture(scope="module")
def base(stack: Stack) -> str:
    return stack.urls["gateway"]


@pytest.fixture(scope="module")
def accounts(http: httpx.Client, as_role: dict[str, dict[str, str]]) -> dict[str, str]:
    """One web user per role, with a full name (reports show people, not usernames)."""
    names = {}
    for role in WEB_ROLES:
        name = f"web-{role}-{uuid.uuid4().hex[:6]}"
        body = {"username": name, "password": PASSWORD, "role": role, "full_name": f"Persona {role.title()}"}
        created = http.post("/api/v1/users", headers=as_role["admin"], json=body)
        assert created.status_code == 201, created.text
        names[role] = name
    return names


@pytest.fixture(scope="module")
def records(http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]) -> dict[str, str]:
    """A household with its head, and a sealed home visit signed by the head."""
    gestor = as_role["gestor"]
    family_id, person_id = household(http, gestor, community["id"])
    body = {"template_key": "visita_domiciliaria@1", "values": visit(family_id, person_id)}
    draft = http.post("/api/v1/actas", headers=gestor, json=body)
    acta_id = str(draft.json()["id"])
    for signature in (
        {"signer_id": person_id, "method": "handwritten", "handwritten_png_base64": png_b64()},
        {"method": "electronic"},
    ):
        assert http.post(f"/api/v1/actas/{acta_id}/signatures", headers=gestor, json=signature).status_code == 200
    assert http.post(f"/api/v1/actas/{acta_id}/seal", headers=gestor).status_code == 200
    return {"acta": acta_id, "family": family_id, "person": person_id, "community": str(community["id"])}


@pytest.fixture(scope="module")
def sealed_acta(records: dict[str, str]) -> str:
    return records["acta"]


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    # bypass_csp lets axe-core be injected; test_pages_work_under_the_csp runs without it.
    ctx = browser.new_context(bypass_csp=True, locale="es-CO", accept_downloads=True)
    yield ctx
    ctx.close()


@pytest.mark.parametrize("role", WEB_ROLES)
def test_each_role_signs_in_sees_its_sections_and_every_page_passes_axe_on_a_phone_and_a_desktop(
    browser: Browser, base: str, accounts: dict[str, str], records: dict[str, str], role: str
) -> None:
    for size, label in ((PHONE, "movil"), (DESKTOP, "escritorio")):
        ctx = browser.new_context(bypass_csp=True, locale="es-CO", viewport=size)
        page = ctx.new_page()
        try:
            sign_in(page, base, accounts[role], PASSWORD)
            nav = [a.inner_text() for a in page.get_by_role("navigation", name="Secciones").get_by_role("link").all()]
            assert nav == SECTIONS_OF[role], nav
            pages = ["/app/", "/app/actas", f"/app/actas/{records['acta']}", "/app/comunidades"]
            pages += [f"/app/comunidades/{records['community']}", f"/app/hogares/{records['family']}"]
            pages += [f"/app/personas/{records['person']}"]
            pages += [PAGE_OF[name] for name in SECTIONS_OF[role] if name in PAGE_OF]
            for path in pages:
                reply = page.goto(f"{base}{path}")
                assert reply is not None and reply.status == 200, path
                assert page.locator("html").get_attribute("lang") == "es"
                assert page.get_by_role("heading", level=1).count() == 1
                assert serious_violations(page) == [], (path, label)
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= size["width"], f"{path} overflows at {size['width']} px: {width}"
                screenshot(page, f"{role}-{label}-{path.strip('/').replace('/', '-') or 'inicio'}")
        finally:
            ctx.close()


def test_the_dashboard_shows_sealed_actas_with_a_chart_its_table_and_downloads(
    context: BrowserContext, base: str, accounts: dict[str, str], sealed_acta: str
) -> None:
    page = context.new_page()
    sign_in(page, base, accounts["coordinator"], PASSWORD)
    assert "se actualizan cada 60 segundos" in page.locator("main").inner_text()  # how fresh the counts are
    chart = page.get_by_role("img", name="Gráfico de barras: Actas selladas por semana", exact=False)
    assert chart.count() == 1
    for image in page.locator("figure img").all():  # lazy: each loads when scrolled to
        image.scroll_into_view_if_needed()
        image.evaluate("i => i.decode()")
        assert image.evaluate("i => i.naturalWidth") > 0, image.get_attribute("src")
    section = page.get_by_role("region", name="Actas selladas por semana")  # UPA comes first on Inicio
    section.get_by_text("Ver los datos en una tabla").click()
    weekly = section.locator("table")
    assert "Actas selladas" in weekly.inner_text()
    with page.expect_download() as download:
        section.get_by_role("link", name="CSV").click()
    rows = list(csv.reader(io.StringIO(download.value.path().read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["Semana (ISO)", "Actas selladas"] and sum(int(r[1]) for r in rows[1:]) >= 1


def test_the_acta_list_filters_exports_to_xlsx_and_opens_the_detail(
    context: BrowserContext, base: str, accounts: dict[str, str], sealed_acta: str, tmp_path: Path
) -> None:
    page = context.new_page()
    sign_in(page, base, accounts["auditor"], PASSWORD)
    page.goto(f"{base}/app/actas?estado=sealed")
    link = page.locator(f'a[href="/app/actas/{sealed_acta}"]')
    assert link.count() == 1
    with page.expect_download() as download:
        page.get_by_role("link", name="Excel (XLSX)").click()
    assert download.value.suggested_filename == "actas.xlsx"
    download.value.save_as(tmp_path / "actas.xlsx")
    sheet = load_workbook(tmp_path / "actas.xlsx").active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:3] == ("Fecha de captura", "Tipo de acta", "Estado")
    assert sealed_acta in {row[-1] for row in values[1:]}
    link.click()
    assert page.get_by_text("Sellada y sin alteraciones").count() == 1
    assert page.get_by_text("Firma manuscrita", exact=False).count() == 1

    bad = page.goto(f"{base}/app/actas?desde=31-12-2026")
    assert bad is not None and bad.status == 400
    assert "Use una fecha válida" in page.locator("#e-desde").inner_text()


def test_pages_work_under_the_content_security_policy(browser: Browser, base: str, accounts: dict[str, str]) -> None:
    ctx = browser.new_context()
    page = ctx.new_page()
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    try:
        sign_in(page, base, accounts["gestor"], PASSWORD)
        page.goto(f"{base}/app/actas")
        assert page.evaluate("typeof window.htmx") == "object"  # served by the gateway, not a CDN
        page.get_by_label("Estado").select_option("sealed")  # htmx swaps the results in place
        page.wait_for_url("**/app/actas?*estado=sealed*")
        assert refused == []
    finally:
        ctx.close()


def test_signing_out_revokes_the_session_and_forms_need_their_csrf_token(
    http: httpx.Client, browser: Browser, base: str, accounts: dict[str, str]
) -> None:
    ctx = browser.new_context()
    page = ctx.new_page()
    try:
        sign_in(page, base, accounts["coordinator"], PASSWORD)
        token = next(c["value"] for c in ctx.cookies() if c["name"] == "crm_sesion")
        cookie = next(c for c in ctx.cookies() if c["name"] == "crm_sesion")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        bearer = {"Authorization": f"Bearer {token}"}
        assert http.get("/api/v1/communities", headers=bearer).status_code == 200
        forged = page.request.post(f"{base}/app/salir", form={"csrf": "x" * 64}, max_redirects=0)
        assert forged.status == 403
        page.get_by_role("button", name="Cerrar sesión").click()
        page.wait_for_url("**/app/entrar?motivo=salida")
        assert http.get("/api/v1/communities", headers=bearer).status_code == 401
        page.goto(f"{base}/app/actas")
        assert "/app/entrar" in page.url
        # A partial (htmx) request is told to load the sign-in page whole, not swap it in.
        partial = page.request.get(f"{base}/app/actas?estado=sealed", headers={"HX-Request": "true"}, max_redirects=0)
        assert partial.status == 200 and partial.headers["hx-redirect"].startswith("/app/entrar?siguiente=")
    finally:
        ctx.close()


def test_an_idle_session_is_logged_out_and_its_token_revoked(
    http: httpx.Client, browser: Browser, base: str, accounts: dict[str, str]
) -> None:
    ctx = browser.new_context()
    page = ctx.new_page()
    try:
        sign_in(page, base, accounts["auditor"], PASSWORD)
        token = next(c["value"] for c in ctx.cookies() if c["name"] == "crm_sesion")
        page.goto(f"{base}/app/comunidades")  # no chart images still loading behind our back
        # The activity cookie is signed; without a valid one the session counts as idle.
        ctx.clear_cookies(name="crm_actividad")
        page.goto(f"{base}/app/actas")
        assert "motivo=inactividad" in page.url
        assert "tiempo sin actividad" in page.locator("main").inner_text()
        assert http.get("/api/v1/communities", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    finally:
        ctx.close()


def test_a_wrong_password_is_a_spanish_error_beside_the_form(
    browser: Browser, base: str, accounts: dict[str, str]
) -> None:
    ctx = browser.new_context()
    page = ctx.new_page()
    try:
        page.goto(f"{base}/app/entrar")
        page.get_by_label("Usuario").fill(accounts["gestor"])
        page.get_by_label("Contraseña").fill("no-es-la-clave")
        page.get_by_role("button", name="Entrar").click()
        assert page.get_by_role("alert").inner_text() == "Usuario o contraseña incorrectos"
        assert page.get_by_label("Usuario").input_value() == accounts["gestor"]
        # A sign-in link cannot send the user elsewhere after signing in (no open redirect).
        page.goto(f"{base}/app/entrar?siguiente=https://ejemplo.invalid/")
        assert page.locator("input[name=siguiente]").input_value() == "/app/"
    finally:
        ctx.close()


def test_an_admin_creates_an_account_seeing_field_errors_and_a_gestor_cannot_reach_administration(
    context: BrowserContext, base: str, accounts: dict[str, str]
) -> None:
    page = context.new_page()
    sign_in(page, base, accounts["admin"], PASSWORD)
    page.get_by_role("link", name="Administración").click()
    name = f"nueva-{uuid.uuid4().hex[:6]}"
    page.get_by_label("Usuario").fill(name)
    page.get_by_label("Nombre completo").fill("Yaneth Epiayú")
    page.get_by_label("Cargo").fill("Psicóloga")
    page.get_by_label("Rol", exact=True).select_option("psychosocial")
    page.get_by_label("Contraseña (mínimo 10 caracteres)").fill("corta")
    page.get_by_role("button", name="Crear cuenta").click()
    password = page.get_by_label("Contraseña (mínimo 10 caracteres)")
    assert password.get_attribute("aria-invalid") == "true"
    assert "al menos 10 caracteres" in page.locator("#e-password").inner_text()
    assert page.get_by_label("Nombre completo").input_value() == "Yaneth Epiayú"  # kept
    assert serious_violations(page) == []
    password.fill("una-clave-larga-1")
    page.get_by_role("button", name="Crear cuenta").click()
    assert page.get_by_role("status").inner_text() == "Cuenta creada."
    assert page.get_by_role("cell", name=name, exact=True).count() == 1
    roles = page.get_by_role("table", name="Roles y secciones que abren")
    assert ", ".join(SECTIONS_OF["gestor"]) in roles.get_by_role("row", name="Gestión social").inner_text()
    page.get_by_role("button", name=f"Desactivar a {name}").click()
    assert page.get_by_role("status").inner_text() == "Cuenta desactivada."

    gestor = context.browser.new_context() if context.browser else None
    assert gestor is not None
    other = gestor.new_page()
    try:
        sign_in(other, base, accounts["gestor"], PASSWORD)
        assert other.get_by_role("link", name="Administración").count() == 0
        refused = other.goto(f"{base}/app/administracion")
        assert refused is not None and refused.status == 403
        forged = other.request.post(
            f"{base}/app/administracion/usuarios",
            form={"username": "intrusa", "password": "una-clave-larga-1", "role": "admin"},
            max_redirects=0,
        )
        assert forged.status == 403
    finally:
        gestor.close()


def test_a_coordinator_sends_a_reminder_to_a_community_once_and_an_auditor_only_reads_the_log(
    browser: Browser, base: str, accounts: dict[str, str], http: httpx.Client, as_role: dict[str, dict[str, str]]
) -> None:
    coordinator = as_role["coordinator"]
    place = {"name": f"Provincial {uuid.uuid4().hex[:4]}", "municipality": "Barrancas", "department": "La Guajira"}
    community = http.post("/api/v1/communities", headers=coordinator, json=place).json()
    household(http, as_role["gestor"], community["id"])
    ctx = browser.new_context(bypass_csp=True)
    page = ctx.new_page()
    try:
        sign_in(page, base, accounts["coordinator"], PASSWORD)
        page.get_by_role("link", name="Notificaciones").click()
        page.get_by_label("Toda una comunidad").select_option(label=community["name"])
        page.get_by_label("Fecha").fill("sábado 12 de diciembre")
        page.get_by_label("Hora").fill("9:00 a. m.")
        page.get_by_role("button", name="Enviar recordatorio").click()
        assert "Campo obligatorio" in page.locator("#e-lugar").inner_text()
        assert page.get_by_label("Fecha").input_value() == "sábado 12 de diciembre"  # kept
        assert serious_violations(page) == []
        page.get_by_label("Lugar", exact=True).fill("Casa comunal")
        page.get_by_label("Tema de la reunión").fill("la huerta")
        form = page.locator("form[action='/app/notificaciones/recordatorios']")
        filled = form.evaluate("f => Object.fromEntries(new FormData(f))")
        page.get_by_role("button", name="Enviar recordatorio").click()
        assert page.get_by_role("status").first.inner_text() == "Recordatorio en cola para 1 persona(s)."
        # The same form sent again (a double tap on a slow connection) queues nothing new...
        again = page.request.post(f"{base}/app/notificaciones/recordatorios", form=filled)
        assert again.ok and "ya estaba en cola" in again.text()
        # ...while the same form with other content is refused, naming the problem.
        changed = page.request.post(f"{base}/app/notificaciones/recordatorios", form={**filled, "hora": "3:00 p. m."})
        assert changed.status == 409 and "otro contenido" in changed.text()
    finally:
        ctx.close()
    ctx = browser.new_context(bypass_csp=True)
    page = ctx.new_page()
    try:
        sign_in(page, base, accounts["auditor"], PASSWORD)
        page.goto(f"{base}/app/notificaciones?estado=skipped")
        assert page.get_by_role("button", name="Enviar recordatorio").count() == 0
        assert page.get_by_role("heading", name="Mensajes que no llegaron").count() == 1
        # The templates, with what a sender must give and what is filled per person.
        reminder = page.locator("tr", has_text="recordatorio_reunion").inner_text()
        assert "fecha, hora, lugar, tema" in reminder and "nombre" in reminder
        assert "[tema] el [fecha]" in reminder and "{{" not in reminder
    finally:
        ctx.close()


def test_households_and_people_show_each_role_what_the_api_shows_it_and_link_the_visit(
    browser: Browser, base: str, accounts: dict[str, str], records: dict[str, str]
) -> None:
    for role, sees_fingers, sees_consents in (
        ("gestor", True, True),
        ("coordinator", False, True),
        ("psychosocial", False, False),
    ):
        ctx = browser.new_context()
        page = ctx.new_page()
        try:
            sign_in(page, base, accounts[role], PASSWORD)
            page.goto(f"{base}/app/comunidades/{records['community']}")
            page.get_by_role("link", name="Hogar Uriana").first.click()
            assert page.get_by_role("heading", level=1).inner_text() == "Hogar Uriana"
            header = page.locator("thead").first.inner_text()
            assert ("Huellas enroladas" in header) is sees_fingers, (role, header)
            assert ("Consentimientos" in header) is sees_consents, (role, header)
            page.get_by_role("link", name="Wilmer Pushaina").first.click()
            assert page.get_by_text("Jefe(a) de hogar").count() == 1
            visit_link = page.locator(f'a[href="/app/actas/{records["acta"]}"]')
            assert visit_link.count() >= 1, "the sealed visit is on the person's timeline"
        finally:
            ctx.close()


def test_a_coordinator_approves_a_kiosk_with_a_one_time_code_and_revokes_it(
    browser: Browser, base: str, accounts: dict[str, str], http: httpx.Client, community: dict[str, Any]
) -> None:
    ctx = browser.new_context(bypass_csp=True)
    page = ctx.new_page()
    try:
        sign_in(page, base, accounts["coordinator"], PASSWORD)
        page.get_by_role("navigation", name="Secciones").get_by_role("link", name="Quioscos").click()
        page.get_by_role("button", name="Emitir código").click()
        assert page.locator("#e-comunidad").inner_text() == "Elija la comunidad del quiosco"
        page.get_by_label("Comunidad del quiosco").select_option(label=community["name"])
        page.get_by_label("Descripción").fill("Casa comunal")
        page.get_by_role("button", name="Emitir código").click()
        code = page.locator(".code strong").inner_text()
        assert len(code.replace("-", "")) == 8
        assert serious_violations(page) == []

        device_id = f"quiosco-web-{uuid.uuid4().hex[:6]}"
        key = base64.b64encode(
            Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        ).decode()
        paired = http.post("/api/v1/kiosk/pairing", json={"code": code, "device_id": device_id, "public_key": key})
        assert paired.status_code == 201, paired.text
        again = http.post(
            "/api/v1/kiosk/pairing", json={"code": code, "device_id": f"{device_id}-2", "public_key": key}
        )
        assert again.status_code == 401  # one use only

        page.goto(f"{base}/app/quioscos")
        row = page.locator("tr", has_text=device_id)
        assert community["name"] in row.inner_text() and "Activo" in row.inner_text()
        assert "Nunca ha enviado actas" in row.inner_text()
        page.get_by_role("button", name=f"Revocar {device_id}").click()
        assert "revocado" in page.get_by_role("status").first.inner_text().lower()
        assert "Revocado" in page.locator("tr", has_text=device_id).inner_text()
    finally:
        ctx.close()

    ctx = browser.new_context()
    page = ctx.new_page()
    try:
        sign_in(page, base, accounts["auditor"], PASSWORD)
        page.goto(f"{base}/app/quioscos")
        assert page.locator("tr", has_text=device_id).count() == 1
        assert page.get_by_role("button", name="Emitir código").count() == 0
        assert page.get_by_role("button", name=f"Revocar {device_id}").count() == 0
    finally:
        ctx.close()
