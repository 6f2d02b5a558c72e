"""KPIs through the gateway: the JSON routes (``/api/v1/indicadores``) and the
Indicadores pages in a real browser, with axe-core at phone and desktop widths.
The household and visit come from ``test_web_app``'s fixtures (a sealed home visit
signed by the head of a new household)."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from playwright.sync_api import Browser, BrowserContext

from tests.e2e.test_web_app import PASSWORD, base, context, records
from tests.e2e.web_support import DESKTOP, PHONE, browser, screenshot, serious_violations, sign_in
from tests.helpers import eventually

__all__ = ["base", "browser", "context", "records"]  # fixtures, imported for pytest
API = "/api/v1/indicadores"


@pytest.fixture(scope="module")
def coordinator(http: httpx.Client, as_role: dict[str, dict[str, str]]) -> str:
    name = f"web-kpi-{uuid.uuid4().hex[:6]}"
    body = {"username": name, "password": PASSWORD, "role": "coordinator", "full_name": "Coordinadora KPI"}
    assert http.post("/api/v1/users", headers=as_role["admin"], json=body).status_code == 201
    return name


def coverage_of(http: httpx.Client, headers: dict[str, str], community_id: str) -> dict[str, Any] | None:
    reply = http.get(f"{API}/cobertura_30d", headers=headers, params={"por": "comunidad"})
    assert reply.status_code == 200, reply.text
    return next((g for g in reply.json()["groups"] if g["key"] == community_id and g["numerator"] >= 1), None)


def test_the_kpi_routes_give_values_groups_and_records_to_readers_and_field_errors_for_bad_input(
    http: httpx.Client, as_role: dict[str, dict[str, str]], records: dict[str, str]
) -> None:
    coordinator = as_role["coordinator"]
    listed = http.get(API, headers=coordinator)
    assert listed.status_code == 200, listed.text
    codes = [k["code"] for k in listed.json()["kpis"]]
    assert {"cobertura_30d", "cobertura_90d", "hogares_sin_visita", "hogares_sin_jefe"} <= set(codes)
    assert "personas_sin_consentimiento" in codes and "participaciones" in codes

    group = eventually(lambda: coverage_of(http, coordinator, records["community"]), timeout=30, interval=0.5)
    assert group is not None and group["denominator"] >= 1 and 0 < group["value"] <= 100

    drill = http.get(
        f"{API}/cobertura_30d/registros",
        headers=as_role["gestor"],
        params={"por": "comunidad", "clave": records["community"], "limite": 200},
    )
    assert drill.status_code == 200, drill.text
    assert records["family"] in {r["id"] for r in drill.json()["records"]}

    bad = http.get(f"{API}/cobertura_30d", headers=coordinator, params={"fecha": "31/12/2026"})
    assert bad.status_code == 400 and "fecha" in bad.json()["fields"], bad.text
    bad = http.get(f"{API}/cobertura_30d", headers=coordinator, params={"por": "sexo"})
    assert bad.status_code == 400 and "por" in bad.json()["fields"], bad.text
    assert http.get(f"{API}/no_existe", headers=coordinator).status_code == 404
    assert http.get(API, headers=as_role["psychosocial"]).status_code == 403


def test_inicio_and_the_kpi_page_show_values_chart_table_downloads_and_records_at_both_widths(
    browser: Browser, base: str, coordinator: str, records: dict[str, str], http: httpx.Client,
    as_role: dict[str, dict[str, str]],
) -> None:  # fmt: skip
    eventually(lambda: coverage_of(http, as_role["coordinator"], records["community"]), timeout=30, interval=0.5)
    page_path = f"/app/indicadores/cobertura_30d?por=comunidad&clave={records['community']}"
    for size, label in ((PHONE, "movil"), (DESKTOP, "escritorio")):
        ctx = browser.new_context(bypass_csp=True, locale="es-CO", viewport=size, accept_downloads=True)
        page = ctx.new_page()
        try:
            sign_in(page, base, coordinator, PASSWORD)
            cards = page.locator("ul.kpis li")
            assert cards.count() >= 6
            assert "Hogares sin jefe de hogar" in page.locator("ul.kpis").inner_text()
            for path in ("/app/indicadores", page_path, "/app/indicadores/participaciones?por=edad"):
                reply = page.goto(f"{base}{path}")
                assert reply is not None and reply.status == 200, path
                assert serious_violations(page) == [], (path, label)
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= size["width"], f"{path} overflows at {size['width']} px: {width}"
                screenshot(page, f"indicadores-{label}-{path.split('/')[-1].split('?')[0]}")
        finally:
            ctx.close()


def test_the_kpi_page_drills_down_to_the_household_and_downloads_open(
    context: BrowserContext, base: str, coordinator: str, records: dict[str, str]
) -> None:
    page = context.new_page()
    sign_in(page, base, coordinator, PASSWORD)
    page.goto(f"{base}/app/indicadores/cobertura_30d?por=comunidad")
    chart = page.get_by_role("img", name="Gráfico de barras", exact=False)
    chart.evaluate("i => i.decode()")
    assert chart.evaluate("i => i.naturalWidth") > 0
    group = page.locator(f"a[href*='clave={records['community']}']")  # the community's row of the table
    assert group.count() == 1
    group.click()
    page.wait_for_url(f"**clave={records['community']}**")
    assert page.get_by_role("heading", name="Registros:", exact=False).count() == 1
    page.locator(f"a[href='/app/hogares/{records['family']}']").click()
    page.wait_for_url(f"{base}/app/hogares/{records['family']}")

    page.goto(f"{base}/app/indicadores/cobertura_30d?por=comunidad")
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    rows = list(csv.reader(io.StringIO(download.value.path().read_text(encoding="utf-8-sig"))))
    assert rows[0][:2] == ["Comunidad", "Valor (%)"] and len(rows) >= 2
    with page.expect_download() as download:
        page.get_by_role("link", name="Excel (XLSX)").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(download.value.path().read_bytes())).active
    assert sheet is not None and sheet.cell(1, 1).value == "Comunidad"


def test_a_bad_cut_off_date_is_a_spanish_error_beside_the_field(
    context: BrowserContext, base: str, coordinator: str
) -> None:
    page = context.new_page()
    sign_in(page, base, coordinator, PASSWORD)
    reply = page.goto(f"{base}/app/indicadores/participaciones?fecha=2999-01-01")
    assert reply is not None and reply.status == 400
    field = page.get_by_label("Fecha de corte")
    assert field.get_attribute("aria-invalid") == "true"
    assert "posterior a hoy" in page.locator(f"#{field.get_attribute('aria-describedby')}").inner_text()
    assert page.goto(f"{base}/app/indicadores/no_existe") is not None
    assert page.get_by_role("heading", level=1).inner_text() == "No encontrado"
