"""The income pages (Unidades productivas) in a real browser, against the real
stack: a gestor registers a UP from its household (field errors first), sees it
on the board and the list, moves its stage and sees a failing guard's message;
with a plan drafted, submitted and approved by a coordinator, the UP shows the
figures, the verdict and the charts, and the link to its signed PDF "Plan de
Acción"; the list's XLSX opens; an auditor sees no
form and gets 403 by URL and by POST. axe-core at phone and desktop widths."""

from __future__ import annotations

import io
import uuid
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from playwright.sync_api import Browser, Page

from gateway.web import plan_form
from services.income.domain.plan_io import content_to_mapping
from tests.e2e.test_gateway_income import household
from tests.e2e.test_web_app import PASSWORD, base
from tests.e2e.web_support import DESKTOP, PHONE, browser, screenshot, serious_violations, sign_in
from tests.helpers import eventually
from tests.unit.income_builders import content

__all__ = ["base", "browser"]  # fixtures, imported for pytest
UNITS = "/api/v1/unidades-productivas"


@pytest.fixture(scope="module")
def people(http: httpx.Client, as_role: dict[str, dict[str, str]]) -> dict[str, str]:
    names = {}
    for role in ("gestor", "coordinator", "auditor"):
        name = f"web-gi-{role}-{uuid.uuid4().hex[:6]}"
        body = {"username": name, "password": PASSWORD, "role": role, "full_name": f"Persona GI {role.title()}"}
        assert http.post("/api/v1/users", headers=as_role["admin"], json=body).status_code == 201
        names[role] = name
    return names


@pytest.fixture(scope="module")
def home(http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]) -> dict[str, Any]:
    family_id, owners = household(http, as_role["gestor"], community["id"])
    return {"family": family_id, "owners": owners, "community": community["id"]}


def open_as(browser: Browser, base: str, username: str, size: Any = DESKTOP) -> Page:
    ctx = browser.new_context(bypass_csp=True, locale="es-CO", viewport=size, accept_downloads=True)
    page = ctx.new_page()
    sign_in(page, base, username, PASSWORD)
    return page


def check_page(page: Page, label: str, width: int) -> None:
    assert page.get_by_role("heading", level=1).count() == 1
    assert serious_violations(page) == [], (page.url, label)
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{page.url} overflows at {width} px: {scroll}"
    screenshot(page, f"income-{label}-{page.url.split('/app/')[-1].replace('/', '-').split('?')[0] or 'x'}")


def test_a_gestor_registers_a_unit_sees_it_on_the_board_and_a_failing_guard_shows_its_message(
    browser: Browser, base: str, people: dict[str, str], home: dict[str, Any]
) -> None:
    page = open_as(browser, base, people["gestor"])
    try:
        page.goto(f"{base}/app/hogares/{home['family']}")
        page.get_by_role("link", name="Registrar una unidad productiva").click()
        # Nothing typed: the service's messages beside the name and the owners.
        with page.expect_response(lambda r: r.request.method == "POST") as sent:
            page.get_by_role("button", name="Registrar unidad productiva").click()
        assert sent.value.status == 400
        name = page.get_by_label("Nombre de la unidad productiva")
        assert name.get_attribute("aria-invalid") == "true"
        assert "Escriba el nombre" in page.locator("#e-f-name").inner_text()
        assert page.locator("#e-f-owner_ids").count() == 1
        assert page.get_by_role("alert").filter(has_text="Revise los datos").count() == 1

        unit_name = f"Panadería {uuid.uuid4().hex[:6]}"
        name.fill(unit_name)
        page.get_by_role("checkbox").first.check()
        page.get_by_label("Sector").select_option("agroindustria")
        page.get_by_label("Tipo").select_option("emprendimiento")
        page.get_by_role("button", name="Registrar unidad productiva").click()
        page.wait_for_url("**/app/unidades/*?hecho=registrada")
        unit_url = page.url.split("?")[0]
        assert page.get_by_role("status").inner_text() == "Unidad productiva registrada en la etapa de diagnóstico."
        assert page.get_by_role("heading", level=1).inner_text() == unit_name
        assert page.locator("dd").filter(has_text="Diagnóstico").count() == 1
        assert page.locator(f"a[href='/app/hogares/{home['family']}']").count() == 1
        assert page.locator(f"a[href='/app/personas/{home['owners'][0]}']").count() == 1

        page.goto(f"{base}/app/unidades/tablero?comunidad={home['community']}")
        column = page.get_by_role("region", name="Diagnóstico", exact=False)
        assert column.get_by_role("link", name=unit_name).count() == 1
        assert column.locator(".badge").inner_text() == "1"

        page.goto(unit_url)
        # The diagnosis is not complete yet: the workflow's guard refuses, naming itself.
        with page.expect_response(lambda r: r.request.method == "POST") as sent:
            page.get_by_role("button", name="Pasar a formulación del plan").click()
        assert sent.value.status == 409
        assert "diagnostico_completo" in page.get_by_role("alert").inner_text()
        page.get_by_label("El diagnóstico está completo").check()
        page.get_by_label("Notas del diagnóstico").fill("Panadería familiar con horno propio")
        page.get_by_role("button", name="Guardar diagnóstico").click()
        page.wait_for_url("**?hecho=diagnostico")
        assert page.locator("dd").filter(has_text="Completo: Panadería familiar").count() == 1
        page.get_by_role("button", name="Pasar a formulación del plan").click()
        page.wait_for_url("**?hecho=etapa")
        assert page.locator("dd").filter(has_text="Formulación del plan").count() == 1
        assert page.locator("tbody tr").filter(has_text="Formulación del plan (Fluye)").count() == 1
        with page.expect_response(lambda r: r.request.method == "POST") as sent:
            page.get_by_role("button", name="Enviar el plan a aprobación").click()
        assert sent.value.status == 409
        refused = page.get_by_role("alert")
        assert "necesita un plan de acción formulado" in refused.inner_text()
        assert "plan_formulado" in refused.inner_text()
        assert page.locator("dd").filter(has_text="Formulación del plan").count() == 1  # nothing changed

        # A transition that needs a reason: none given is the service's message beside the field.
        page.get_by_label("Motivo para «Cerrar»").evaluate("e => e.removeAttribute('required')")
        with page.expect_response(lambda r: r.request.method == "POST") as sent:
            page.get_by_role("button", name="Cerrar", exact=True).click()
        assert sent.value.status == 400
        reason = page.get_by_label("Motivo para «Cerrar»")
        assert reason.get_attribute("aria-invalid") == "true"
        assert page.locator("#e-motivo-cerrar").inner_text() != ""
    finally:
        page.context.close()

    for size, label in ((PHONE, "movil"), (DESKTOP, "escritorio")):
        page = open_as(browser, base, people["gestor"], size)
        try:
            for path in (
                "/app/unidades",
                f"/app/unidades/tablero?comunidad={home['community']}",
                unit_url.split(base)[-1],
                f"/app/unidades/nueva?hogar={home['family']}",
            ):
                reply = page.goto(f"{base}{path}")
                assert reply is not None and reply.status == 200, path
                check_page(page, label, size["width"])
        finally:
            page.context.close()


def test_an_approved_plan_shows_its_figures_and_charts_and_the_list_exports_to_xlsx(
    browser: Browser, base: str, http: httpx.Client, as_role: dict[str, dict[str, str]],
    people: dict[str, str], home: dict[str, Any],
) -> None:  # fmt: skip
    gestor = as_role["gestor"]
    body = {
        "name": f"Tienda {uuid.uuid4().hex[:6]}",
        "family_id": home["family"],
        "owner_ids": home["owners"],
        "community_id": home["community"],
        "sector": "agroindustria",
        "kind": "fortalecimiento",
    }
    unit = http.post(UNITS, headers=gestor, json=body).json()
    path = f"{UNITS}/{unit['id']}"
    diagnosed = http.post(f"{path}/diagnostico", headers=gestor, json={"complete": True, "notes": "Lista"})
    assert diagnosed.status_code == 200, diagnosed.text
    moved = http.post(
        f"{path}/etapa",
        headers=gestor,
        json={"transition": "formular_plan", "expected_version": diagnosed.json()["version"]},
    )
    assert moved.status_code == 200, moved.text
    values = plan_form.values_of(content_to_mapping(content()))
    page = open_as(browser, base, people["gestor"])
    try:
        page.goto(f"{base}/app/unidades/{unit['id']}")
        page.get_by_role("link", name="Formular el plan").click()
        assert page.get_by_role("heading", level=1).inner_text().startswith("Plan de acción (Fluye)")
        for name, value in values.items():
            page.locator(f'[name="{name}"]').fill(value)
        score = page.locator('[name="profile.factors[0].score"]')
        score.fill("11")  # out of 0-10: the service refuses it by name
        with page.expect_response(lambda r: r.request.method == "POST") as sent:
            page.get_by_role("button", name="Guardar borrador").click()
        assert sent.value.status == 400
        assert score.get_attribute("aria-invalid") == "true"
        described = score.get_attribute("aria-describedby") or ""
        assert described and page.locator(f"[id='{described}']").inner_text() != ""
        assert page.locator('[name="canvas.channels"]').input_value() == values["canvas.channels"]  # kept
        assert page.locator('[name="finance.months[23].price"]').input_value() == values["finance.months[23].price"]
        assert http.get(f"{path}/plan", headers=gestor).status_code == 404  # nothing saved
        assert serious_violations(page) == []

        score.fill(values["profile.factors[0].score"])
        activities = "\n".join(f"Actividad {n}: " + "hornear y repartir " * 12 for n in range(3))  # > 300 chars
        page.locator('[name="canvas.key_activities"]').fill(activities)
        page.get_by_role("button", name="Guardar borrador").click()
        page.wait_for_url("**?hecho=guardado")
        assert page.locator('[name="canvas.key_activities"]').input_value() == activities.replace(" \n", "\n").strip()
        assert page.get_by_role("status").inner_text() == "Borrador guardado."
        assert page.locator('[name="finance.months[23].units"]').input_value() == values["finance.months[23].units"]
        assert page.get_by_role("button", name="Aprobar el plan").count() == 0  # a gestor does not decide
        page.get_by_role("button", name="Enviar a aprobación").click()
        page.wait_for_url("**?hecho=enviado")
        assert "Enviado a aprobación" in page.locator("main").inner_text()
        assert page.get_by_role("button", name="Guardar borrador").count() == 0  # in review: not editable
    finally:
        page.context.close()

    page = open_as(browser, base, people["coordinator"])
    try:
        page.goto(f"{base}/app/unidades/{unit['id']}/plan")
        page.get_by_role("button", name="Aprobar el plan").click()
        page.wait_for_url("**?hecho=aprobado")
        assert page.get_by_role("status").inner_text() == "Plan aprobado."
    finally:
        page.context.close()
    assert http.get(f"{path}/plan", headers=gestor).json()["status"] == "approved"

    # The approved version's signed PDF: offered on the UP's page once stored (the
    # documents service makes it from the approval event), and on the plan's page.
    page = open_as(browser, base, people["gestor"])
    try:
        pdf_link = page.get_by_role("link", name="Descargar Plan de Acción (PDF firmado)")

        def offered() -> bool:
            page.goto(f"{base}/app/unidades/{unit['id']}")
            return pdf_link.count() == 1

        eventually(offered, timeout=30, interval=1)
        href = pdf_link.get_attribute("href")
        assert href == f"/app/unidades/{unit['id']}/plan/pdf?version=1"
        assert "El PDF se está generando" not in page.locator("main").inner_text()
        pdf = page.request.get(f"{base}{href}")  # a redirect to a time-limited link of the object store
        assert pdf.status == 200 and pdf.body().startswith(b"%PDF-")
        page.goto(f"{base}/app/unidades/{unit['id']}/plan")
        assert pdf_link.get_attribute("href") == href
    finally:
        page.context.close()

    for size, label in ((PHONE, "movil"), (DESKTOP, "escritorio")):
        page = open_as(browser, base, people["coordinator"], size)
        try:
            page.goto(f"{base}/app/unidades/{unit['id']}")
            text = page.locator("main").inner_text()
            assert "Versión 1 · Aprobado" in text
            for figure in ("Valor presente neto (VPN)", "Periodo de recuperación", "Punto de equilibrio"):
                assert figure in text
            assert page.locator(".badge.ok").count() == 1  # the default rule finds the builders' plan viable
            images = page.locator("figure img")
            assert images.count() == 3
            for image in images.all():
                image.scroll_into_view_if_needed()
                image.evaluate("i => i.decode()")
                assert image.evaluate("i => i.naturalWidth") > 0, image.get_attribute("src")
            page.get_by_text("Ver los datos en una tabla").last.click()
            assert page.get_by_role("table", name="Flujo de caja mensual").locator("tbody tr").count() >= 13
            check_page(page, label, size["width"])
            page.goto(f"{base}/app/unidades/{unit['id']}/plan")  # the editor of the approved plan
            assert page.locator('[name="finance.investment"]').input_value() == values["finance.investment"]
            check_page(page, label, size["width"])
        finally:
            page.context.close()

    page = open_as(browser, base, people["coordinator"])
    try:
        page.goto(f"{base}/app/unidades?comunidad={home['community']}&tipo=fortalecimiento")
        assert page.get_by_role("link", name=body["name"]).count() == 1
        assert page.get_by_role("status").inner_text() == "1 unidad productiva."  # CountUnits, same filters
        with page.expect_download() as download:
            page.get_by_role("link", name="Excel (XLSX)").click()
        sheet = load_workbook(io.BytesIO(download.value.path().read_bytes())).active
        assert sheet is not None
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0][:5] == ("Unidad productiva", "Comunidad", "Sector", "Tipo", "Etapa")
        assert [r[0] for r in rows[1:]] == [body["name"]]  # the filter applies to the export
        assert rows[1][3] == "Fortalecimiento" and rows[1][4] == "Formulación del plan (Fluye)"
    finally:
        page.context.close()


def test_a_reader_sees_no_forms_and_gets_403_by_url_and_by_post(
    browser: Browser, base: str, http: httpx.Client, as_role: dict[str, dict[str, str]],
    people: dict[str, str], home: dict[str, Any],
) -> None:  # fmt: skip
    body = {
        "name": "Huerta",
        "family_id": home["family"],
        "owner_ids": home["owners"][:1],
        "community_id": home["community"],
        "sector": "agroindustria",
        "kind": "emprendimiento",
    }
    unit = http.post(UNITS, headers=as_role["gestor"], json=body).json()
    page = open_as(browser, base, people["auditor"])
    try:
        page.goto(f"{base}/app/unidades/{unit['id']}")
        assert page.get_by_role("heading", level=1).inner_text() == "Huerta"
        assert page.locator("main form").count() == 0
        assert page.get_by_role("link", name="Registrar unidad productiva").count() == 0
        page.goto(f"{base}/app/unidades")
        assert page.get_by_role("link", name="Registrar unidad productiva").count() == 0
        for path in (f"/app/unidades/nueva?hogar={home['family']}", f"/app/unidades/{unit['id']}/plan"):
            reply = page.goto(f"{base}{path}")
            assert reply is not None and reply.status == 403, path
        posts: list[tuple[str, dict[str, str | float | bool]]] = [
            (f"{base}/app/unidades/{unit['id']}/etapa", {"transition": "cerrar", "version": "1", "reason": "x"}),
            (f"{base}/app/unidades/nueva", {"family_id": str(home["family"]), "name": "Otra"}),
            (f"{base}/app/unidades/{unit['id']}/plan", {"profile.factors[0].name": "Oficio"}),
            (f"{base}/app/unidades/{unit['id']}/plan/envio", {"revision": "1"}),
            (f"{base}/app/unidades/{unit['id']}/plan/aprobacion", {"revision": "1"}),
        ]
        for url, form in posts:
            assert page.request.post(url, form=form).status == 403
        after = http.get(f"{UNITS}/{unit['id']}", headers=as_role["gestor"]).json()
        assert (after["stage"], after.get("plan_version", 0)) == ("diagnostico", 0)
    finally:
        page.context.close()


def test_a_followup_acta_opened_from_the_up_names_it_and_offers_only_the_newest_template(
    browser: Browser, base: str, http: httpx.Client, as_role: dict[str, dict[str, str]], people: dict[str, str],
    home: dict[str, Any],
) -> None:  # fmt: skip
    body = {
        "name": f"Tienda {uuid.uuid4().hex[:6]}", "family_id": home["family"], "owner_ids": home["owners"][:1],
        "community_id": home["community"], "sector": "comercio", "kind": "emprendimiento",
    }  # fmt: skip
    unit = http.post(UNITS, headers=as_role["gestor"], json=body)
    assert unit.status_code == 201, unit.text
    page = open_as(browser, base, people["gestor"], PHONE)
    try:
        page.goto(f"{base}/app/unidades/{unit.json()['id']}")
        page.get_by_role("link", name="Registrar un seguimiento (nueva acta)").click()
        kinds = page.get_by_label("Tipo de acta", exact=True).locator("option").all_inner_texts()
        assert kinds.count("Acta de seguimiento a unidad productiva") == 1, kinds  # v2 only, not v1 too
        chosen = page.get_by_label("Tipo de acta", exact=True).evaluate("s => s.selectedOptions[0].value")
        assert chosen == "seguimiento_unidad_productiva@2"
        assert page.get_by_label(body["name"], exact=False).count() == 0  # not a participant
        field = page.get_by_label("Código de la unidad productiva")
        assert field.evaluate("s => s.tagName") == "SELECT"
        assert field.evaluate("s => s.selectedOptions[0].textContent") == body["name"]
        assert field.input_value() == unit.json()["id"]
        participants = page.get_by_role("group", name="Participantes elegidos (desmarque para quitar)")
        assert participants.get_by_role("checkbox").count() == 1
        check_page(page, "movil", PHONE["width"])
    finally:
        page.context.close()
    # An auditor reads the UP but captures no acta: no link.
    page = open_as(browser, base, people["auditor"])
    try:
        page.goto(f"{base}/app/unidades/{unit.json()['id']}")
        assert page.get_by_role("link", name="Registrar un seguimiento (nueva acta)").count() == 0
    finally:
        page.context.close()


def test_a_gestor_records_a_training_session_from_the_up_page_with_errors_beside_the_fields(
    browser: Browser, base: str, http: httpx.Client, as_role: dict[str, dict[str, str]], people: dict[str, str],
    home: dict[str, Any],
) -> None:  # fmt: skip
    body = {
        "name": f"Taller {uuid.uuid4().hex[:6]}", "family_id": home["family"], "owner_ids": home["owners"],
        "community_id": home["community"], "sector": "comercio", "kind": "fortalecimiento",
    }  # fmt: skip
    unit = http.post(UNITS, headers=as_role["gestor"], json=body).json()
    page = open_as(browser, base, people["gestor"], PHONE)
    try:
        page.goto(f"{base}/app/unidades/{unit['id']}")
        form = page.locator("form[action$='/capacitaciones']")
        form.get_by_label("Tema de la sesión").fill("   ")  # passes the browser's check, not the service's
        form.get_by_label("Fecha").fill("2026-11-20")
        form.get_by_role("checkbox").first.check()
        with page.expect_response(lambda r: r.request.method == "POST") as sent:
            form.get_by_role("button", name="Registrar sesión").click()
        assert sent.value.status == 400
        topic = page.get_by_label("Tema de la sesión")
        assert "Escriba el tema" in page.locator("#e-tema").inner_text()
        assert topic.get_attribute("aria-invalid") == "true"
        assert page.get_by_label("Fecha").input_value() == "2026-11-20"  # kept
        topic.fill("Costos y precios")
        check_page(page, "movil", PHONE["width"])
        owners = page.get_by_role("group", name="Asistieron (titulares de la unidad)").get_by_role("checkbox")
        assert owners.count() == len(home["owners"]) and owners.first.is_checked()  # kept
        page.get_by_role("button", name="Registrar sesión").click()
        page.wait_for_url("**hecho=capacitacion**")
        assert page.get_by_role("status").inner_text() == "Sesión de capacitación registrada."
        table = page.get_by_role("table", name="Cumplimiento por persona")
        bands = [row.inner_text() for row in table.locator("tbody tr").all()]
        assert len(bands) == len(home["owners"]) and sum("Cumple" in b and "No cumple" not in b for b in bands) == 1
    finally:
        page.context.close()
    listed = http.get(f"{UNITS}/{unit['id']}/capacitaciones", headers=as_role["gestor"]).json()
    (session,) = listed["trainings"]
    assert session["topic"] == "Costos y precios"
    page = open_as(browser, base, people["auditor"])
    try:
        page.goto(f"{base}/app/unidades/{unit['id']}")
        assert page.locator("form[action$='/capacitaciones']").count() == 0
    finally:
        page.context.close()
