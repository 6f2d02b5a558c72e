"""The workflow pages in a real browser on the real stack: a coordinator sees the
G.I. definition's state graph and its transitions as a table, edits the YAML, gets
the problems of a broken definition with their place beside the text area, sees
the preview of a valid one and publishes it; a gestor may not enter. axe-core
finds nothing serious at 360 and 1280 px, and nothing overflows the phone."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from playwright.sync_api import Browser, Page

from crm_platform.workflow.examples import example
from services.income.domain.plan_io import content_to_mapping
from tests.e2e.test_gateway_income import UNITS, new_unit
from tests.e2e.web_support import DESKTOP, PHONE, browser, screenshot, serious_violations, sign_in
from tests.unit.income_builders import content

__all__ = ["browser"]  # the fixture, imported for pytest
PASSWORD = "web-password-123"


def account(http: httpx.Client, admin: dict[str, str], role: str) -> str:
    name = f"flujos-{role}-{uuid.uuid4().hex[:6]}"
    body = {"username": name, "password": PASSWORD, "role": role, "full_name": f"Persona {role.title()}"}
    assert http.post("/api/v1/users", headers=admin, json=body).status_code == 201
    return name


def login_token(http: httpx.Client, username: str) -> str:
    r = http.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def fits(page: Page, width: int) -> None:
    assert page.get_by_role("heading", level=1).count() == 1
    assert serious_violations(page) == [], page.url
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{page.url} overflows at {width} px: {scroll}"


def test_a_coordinator_previews_fixes_and_publishes_a_definition(
    browser: Browser, stack: Any, http: httpx.Client, as_role: dict[str, dict[str, str]]
) -> None:
    base = stack.urls["gateway"]
    coordinator = account(http, as_role["admin"], "coordinator")
    gestor = account(http, as_role["admin"], "gestor")
    for size, label in ((PHONE, "movil"), (DESKTOP, "escritorio")):
        ctx = browser.new_context(bypass_csp=True, locale="es-CO", viewport=size)
        page = ctx.new_page()
        try:
            sign_in(page, base, coordinator, PASSWORD)
            page.get_by_role("navigation", name="Secciones").get_by_role("link", name="Flujos").click()
            page.wait_for_url(f"{base}/app/flujos")
            assert page.get_by_role("img", name="transiciones; empieza en «Diagnóstico»", exact=False).count() >= 1
            table = page.get_by_role("table", name="Transiciones de Unidad productiva", exact=False).first
            row = table.get_by_role("row").filter(has_text="formular_plan")
            assert "diagnostico.completo == true" in row.inner_text()
            fits(page, size["width"])
            screenshot(page, f"flujos-{label}")

            page.get_by_role("link", name="Editar y publicar una nueva versión").first.click()
            source = page.get_by_label("Definición (YAML)")
            assert "component: gi.unidad_productiva" in source.input_value()
            broken = example("gi_unidad_productiva").replace("to: aprobacion", "to: revision", 1)
            source.fill(broken)
            page.get_by_role("button", name="Vista previa").click()
            summary = page.get_by_role("alert")
            assert "transitions.enviar_aprobacion" in summary.inner_text(), summary.inner_text()
            assert source.get_attribute("aria-invalid") == "true"
            assert "e-definicion" in (source.get_attribute("aria-describedby") or "")
            assert source.input_value() == broken  # what was typed is kept
            fits(page, size["width"])
            screenshot(page, f"flujo-editor-errores-{label}")

            relabelled = example("gi_unidad_productiva").replace(
                "label: Unidad productiva (Generación de Ingresos)", f"label: Unidad productiva ({label})", 1
            )
            source.fill(relabelled)
            page.get_by_role("button", name="Vista previa").click()
            preview = page.get_by_role("region", name=f"Vista previa: Unidad productiva ({label})", exact=False)
            assert preview.count() == 1 and "Aún no está publicada" in preview.inner_text()
            assert preview.locator("svg").count() == 1
            fits(page, size["width"])
            page.get_by_role("button", name="Publicar").click()
            page.wait_for_url(f"{base}/app/flujos?publicada=*")
            assert "Publicada la versión gi.unidad_productiva v" in page.get_by_role("status").first.inner_text()
            assert page.get_by_role("heading", name=f"Unidad productiva ({label})", exact=False).count() == 1
        finally:
            ctx.close()

    ctx = browser.new_context(locale="es-CO")
    page = ctx.new_page()
    try:
        sign_in(page, base, gestor, PASSWORD)
        assert page.get_by_role("navigation", name="Secciones").get_by_role("link", name="Flujos").count() == 0
        for path in ("/app/flujos", "/app/flujos/editor"):
            reply = page.goto(f"{base}{path}")
            assert reply is not None and reply.status == 403, path
    finally:
        ctx.close()


def test_a_coordinator_gives_the_cosignature_from_the_up_page_and_the_requester_cannot(
    browser: Browser, stack: Any, http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]
) -> None:
    base, admin = stack.urls["gateway"], as_role["admin"]
    gestor = account(http, admin, "gestor")
    coordinator = account(http, admin, "coordinator")
    as_gestor = {"Authorization": "Bearer " + login_token(http, gestor)}
    unit, _ = new_unit(http, as_gestor, community["id"])
    path = f"{UNITS}/{unit['id']}"
    http.post(f"{path}/diagnostico", headers=as_gestor, json={"complete": True})
    http.post(f"{path}/etapa", headers=as_gestor, json={"transition": "formular_plan", "expected_version": 1})
    http.put(f"{path}/plan", headers=as_gestor, json={"content": content_to_mapping(content())})
    sent = http.post(
        f"{path}/etapa", headers=as_gestor, json={"transition": "enviar_aprobacion", "expected_version": 2}
    )
    assert sent.status_code == 200, sent.text
    for who, may_sign in ((gestor, False), (coordinator, True)):
        for size, label in ((PHONE, "movil"), (DESKTOP, "escritorio")):
            ctx = browser.new_context(bypass_csp=True, locale="es-CO", viewport=size)
            page = ctx.new_page()
            try:
                sign_in(page, base, who, PASSWORD)
                page.goto(f"{base}/app/unidades/{unit['id']}")
                tasks = page.get_by_role("table", name="Tareas que el flujo de trabajo creó para esta unidad")
                row = tasks.get_by_role("row").filter(has_text="Aprobar el plan de acción")
                assert "Firma conjunta" in row.inner_text() and "Coordinador(a)" in row.inner_text()
                button = row.get_by_role("button", name="Dar la firma conjunta")
                assert button.count() == (1 if may_sign and label == "movil" else 0) or not may_sign or label != "movil"
                fits(page, size["width"])
                if may_sign and label == "movil":
                    button.click()
                    page.wait_for_url("**?hecho=firma")
                    assert page.get_by_role("status").inner_text() == "Firma conjunta registrada."
                    assert f"Firmada por {coordinator}" in row.inner_text()
                    assert row.get_by_role("button").count() == 0
                    screenshot(page, "unidad-firma-conjunta-movil")
            finally:
                ctx.close()
    (task,) = http.get(f"{path}/tareas", headers=as_gestor).json()["tasks"]
    assert task["done_by"] == coordinator
