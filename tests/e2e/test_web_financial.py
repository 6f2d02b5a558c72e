"""A UP's financial statements page in a real browser, against the real stack: a
gestor reaches it from the UP, a negative amount is refused with the service's
message beside the field (the values typed kept, nothing saved), a period is
saved, a second one and a quarter arrive, and the page shows the table of
periods and the ratio trends as SVG charts with their data tables; a period is
corrected through its own link; an auditor reads the page without a form and
gets 403 on a POST. axe-core at phone and desktop widths."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser

from tests.e2e.test_gateway_financial import figures
from tests.e2e.test_web_app import base
from tests.e2e.test_web_income import check_page, home, open_as, people
from tests.e2e.web_support import DESKTOP, PHONE, browser

__all__ = ["base", "browser", "home", "people"]  # fixtures, imported for pytest
UNITS = "/api/v1/unidades-productivas"


@pytest.fixture(scope="module")
def unit(http: httpx.Client, as_role: dict[str, dict[str, str]], home: dict[str, Any]) -> dict[str, Any]:
    body = {
        "name": f"Tienda {uuid.uuid4().hex[:6]}",
        "family_id": home["family"],
        "owner_ids": home["owners"],
        "community_id": home["community"],
        "sector": "agroindustria",
        "kind": "fortalecimiento",
    }
    created = http.post(UNITS, headers=as_role["gestor"], json=body)
    assert created.status_code == 201, created.text
    return dict(created.json())


def test_a_gestor_records_periods_and_sees_the_table_and_the_ratio_charts(
    browser: Browser, base: str, http: httpx.Client, as_role: dict[str, dict[str, str]],
    people: dict[str, str], unit: dict[str, Any],
) -> None:  # fmt: skip
    api = f"{UNITS}/{unit['id']}/estados-financieros"
    page = open_as(browser, base, people["gestor"])
    try:
        page.goto(f"{base}/app/unidades/{unit['id']}")
        page.get_by_role("link", name="Ver los estados financieros").click()
        assert page.get_by_role("heading", level=1).inner_text() == f"Estados financieros de {unit['name']}"
        assert "Aún no hay estados financieros registrados." in page.locator("main").inner_text()

        page.get_by_role("textbox", name="Periodo").fill("2026-09")
        for name, value in figures(cost_of_sales="-6.000.000").items():
            page.locator(f'[name="{name}"]').fill(str(value))
        with page.expect_response(lambda r: r.request.method == "POST") as sent:
            page.get_by_role("button", name="Guardar estado financiero").click()
        assert sent.value.status == 400
        cost = page.get_by_label("Costo de ventas")
        assert cost.get_attribute("aria-invalid") == "true"
        assert "no puede ser negativo" in page.locator("#e-f-cost_of_sales").inner_text()
        assert page.get_by_role("alert").filter(has_text="Revise los datos").count() == 1
        assert page.get_by_label("Ventas", exact=True).input_value() == "10000000"  # kept as typed
        assert http.get(api, headers=as_role["gestor"]).json()["statements"] == []  # nothing saved

        cost.fill("$ 6.000.000")  # as a person writes pesos
        page.get_by_role("button", name="Guardar estado financiero").click()
        page.wait_for_url("**?hecho=guardado*")
        assert page.get_by_role("status").inner_text() == "Estado financiero guardado."
    finally:
        page.context.close()

    gestor = as_role["gestor"]
    assert http.put(f"{api}/2026-10", headers=gestor, json=figures(cost_of_sales="7000000")).status_code == 200
    assert http.put(f"{api}/2026-T3", headers=gestor, json=figures(sales="0", cost_of_sales="0")).status_code == 200

    for size, label in ((PHONE, "movil"), (DESKTOP, "escritorio")):
        page = open_as(browser, base, people["gestor"], size)
        try:
            page.goto(f"{base}/app/unidades/{unit['id']}/estados-financieros")
            table = page.get_by_role("table", name="Estado de resultados y balance general por periodo")
            headers = table.locator("thead th").all_inner_texts()
            assert [h.split("\n")[0] for h in headers] == [
                "Concepto",
                "septiembre de 2026",
                "3.º trimestre de 2026",
                "octubre de 2026",
            ]
            gross = table.locator("tbody tr").filter(has_text="Margen bruto (%)").locator("td").all_inner_texts()
            assert gross == ["40,00 %", "No definido", "30,00 %"]
            loans = table.locator("tbody tr").filter(has_text="Pasivos de créditos").locator("td").first.inner_text()
            assert loans.split("\n") == ["$ 0", "al 2026-09-30"]
            assert "Margen bruto: 30,00 % en 2026-10 · baja (-10,00 puntos)" in page.locator("main").inner_text()
            images = page.locator("figure img")
            assert images.count() == 3
            for image in images.all():
                image.scroll_into_view_if_needed()
                image.evaluate("i => i.decode()")
                assert image.evaluate("i => i.naturalWidth") > 0, image.get_attribute("src")
            page.get_by_text("Ver los datos en una tabla").first.click()
            margins = page.get_by_role("table", name="Márgenes bruto y neto (mensual)")
            assert margins.locator("tbody tr").count() == 4  # two months, two ratios
            check_page(page, f"estados-{label}", size["width"])
            page.goto(f"{base}/app/unidades/{unit['id']}/estados-financieros?serie=trimestral")
            assert page.locator("figure img").count() == 2  # no sales in the quarter: no margins chart
            assert page.get_by_role("heading", name="Razón corriente (trimestral)").count() == 1
        finally:
            page.context.close()

    page = open_as(browser, base, people["coordinator"])
    try:
        page.goto(f"{base}/app/unidades/{unit['id']}/estados-financieros")
        page.get_by_role("link", name="Corregir octubre de 2026").click()
        assert page.get_by_role("heading", name="Corregir el periodo 2026-10").count() == 1
        assert page.get_by_role("textbox", name="Periodo").get_attribute("readonly") is not None
        assert page.get_by_label("Costo de ventas").input_value() == "7000000"
        page.get_by_label("Costo de ventas").fill("6500000")
        page.get_by_role("button", name="Guardar estado financiero").click()
        page.wait_for_url("**?hecho=guardado*")
    finally:
        page.context.close()
    october = http.get(api, headers=gestor).json()["statements"][-1]
    assert (october["period"], october["revision"], october["figures"]["cost_of_sales"]) == ("2026-10", 2, "6500000")


def test_a_reader_sees_the_statements_without_a_form_and_a_post_is_403(
    browser: Browser, base: str, http: httpx.Client, as_role: dict[str, dict[str, str]],
    people: dict[str, str], unit: dict[str, Any],
) -> None:  # fmt: skip
    page = open_as(browser, base, people["auditor"])
    try:
        reply = page.goto(f"{base}/app/unidades/{unit['id']}/estados-financieros")
        assert reply is not None and reply.status == 200
        assert page.locator("main form").count() == 0
        assert page.get_by_role("link", name="Corregir", exact=False).count() == 0
        posted = page.request.post(
            f"{base}/app/unidades/{unit['id']}/estados-financieros", form={"period": "2026-08", "sales": "1"}
        )
        assert posted.status == 403
        missing = page.goto(f"{base}/app/unidades/no-existe/estados-financieros")
        assert missing is not None and missing.status == 404
    finally:
        page.context.close()
    periods = [
        s["period"]
        for s in http.get(f"{UNITS}/{unit['id']}/estados-financieros", headers=as_role["gestor"]).json()["statements"]
    ]
    assert "2026-08" not in periods
