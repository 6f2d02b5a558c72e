"""UPA end to end, with no event forged: a productive unit registered through the
API, diagnosed, its plan approved by a coordinator, moved to implementation, and a
follow-up acta (operating, with sales) signed by its owner and sealed. The income
service attaches the follow-up, the reports service counts it; Inicio shows the
UPA section beside the 43 % and the 10-15 % with its chart, and the KPI page
drills down to the unit and to the acta that evidences it (axe-core at phone
and desktop widths)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext

from services.income.domain.plan_io import content_to_mapping
from tests.e2e.test_gateway_income import UNITS, new_unit, seal_followup
from tests.e2e.test_web_app import PASSWORD, base, context
from tests.e2e.test_web_kpis import coordinator
from tests.e2e.web_support import DESKTOP, PHONE, browser, screenshot, serious_violations, sign_in
from tests.helpers import eventually
from tests.unit.income_builders import content

__all__ = ["base", "browser", "context", "coordinator"]  # fixtures, imported for pytest
API = "/api/v1/indicadores"


def step(http: httpx.Client, headers: dict[str, str], path: str, body: dict[str, Any], method: str = "post") -> Any:
    reply = http.request(method.upper(), path, headers=headers, json=body)
    assert reply.status_code == 200, (path, reply.text)
    return reply.json()


@pytest.fixture(scope="module")
def active_unit(http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]) -> dict[str, str]:
    """A UP in implementation with a sealed follow-up that says it operates with sales."""
    gestor, coordinator = as_role["gestor"], as_role["coordinator"]
    unit, owners = new_unit(http, gestor, community["id"])
    path = f"{UNITS}/{unit['id']}"
    step(http, gestor, f"{path}/diagnostico", {"complete": True, "notes": "Horno propio"})
    step(http, gestor, f"{path}/etapa", {"transition": "formular_plan", "expected_version": 1})
    plan = step(http, gestor, f"{path}/plan", {"content": content_to_mapping(content())}, method="put")
    submitted = step(http, gestor, f"{path}/plan/envio", {"expected_revision": plan["revision"]})
    step(http, gestor, f"{path}/etapa", {"transition": "enviar_aprobacion", "expected_version": 2})
    step(http, coordinator, f"{path}/plan/aprobacion", {"expected_revision": submitted["revision"]})
    started = step(http, coordinator, f"{path}/etapa", {"transition": "iniciar_implementacion", "expected_version": 3})
    assert started["stage"] == "implementacion"
    acta = seal_followup(http, gestor, unit["id"], owners[0])
    return {"unit": unit["id"], "acta": acta["id"], "community": community["id"], "name": unit["name"]}


def counted(http: httpx.Client, headers: dict[str, str], unit: dict[str, str]) -> dict[str, str] | None:
    """The unit's row in the numerator's drill-down, once the reports service counts it."""
    params: dict[str, str | int] = {"por": "comunidad", "clave": unit["community"], "parte": "numerator", "limite": 200}
    reply = http.get(f"{API}/upa/registros", headers=headers, params=params)
    assert reply.status_code == 200, reply.text
    return next((r["fields"] for r in reply.json()["records"] if r["id"] == unit["unit"]), None)


def test_the_api_counts_the_unit_with_its_acta_and_serves_the_series(
    http: httpx.Client, as_role: dict[str, dict[str, str]], active_unit: dict[str, str]
) -> None:
    row = eventually(lambda: counted(http, as_role["auditor"], active_unit), timeout=60, interval=0.5)
    assert row is not None and row["acta_id"] == active_unit["acta"]
    assert (row["operating"], row["monthly_sales"], row["stage"]) == ("Sí", "1250000", "implementacion")

    def group() -> dict[str, Any] | None:  # values come from the periodic snapshot: poll, bounded
        value = http.get(f"{API}/upa", headers=as_role["coordinator"], params={"por": "comunidad"}).json()
        found = next((g for g in value["groups"] if g["key"] == active_unit["community"]), None)
        return found if found and found["numerator"] >= 1 else None

    found = eventually(group, timeout=30, interval=0.5)
    assert found is not None
    assert (found["numerator"], found["denominator"], found["value"]) == (1, 1, 100.0)
    series = http.get(f"{API}/upa/serie", headers=as_role["gestor"], params={"meses": 6})
    assert series.status_code == 200, series.text
    points = series.json()["points"]
    assert len(points) == 6 and points[-1]["total"]["numerator"] >= 1
    bad = http.get(f"{API}/upa/serie", headers=as_role["gestor"], params={"meses": 1})
    assert bad.status_code == 400 and "meses" in bad.json()["fields"], bad.text
    assert http.get(f"{API}/upa/serie", headers=as_role["psychosocial"]).status_code == 403


def test_inicio_shows_upa_beside_its_references_and_the_kpi_page_drills_down_to_the_unit_and_its_acta(
    browser: Browser, context: BrowserContext, base: str, coordinator: str, active_unit: dict[str, str],
    http: httpx.Client, as_role: dict[str, dict[str, str]],
) -> None:  # fmt: skip
    eventually(lambda: counted(http, as_role["coordinator"], active_unit), timeout=60, interval=0.5)
    for size, label in ((PHONE, "movil"), (DESKTOP, "escritorio")):
        ctx = browser.new_context(bypass_csp=True, locale="es-CO", viewport=size)
        page = ctx.new_page()
        try:
            sign_in(page, base, coordinator, PASSWORD)
            section = page.get_by_role("region", name="Unidades productivas activas (UPA)")
            text = section.inner_text()
            assert "43,0" in text and "10 a 15" in text and "caso de estudio" in text, text
            chart = section.get_by_role("img", name="Gráfico de líneas", exact=False)
            chart.scroll_into_view_if_needed()
            chart.evaluate("i => i.decode()")
            assert chart.evaluate("i => i.naturalWidth") > 0
            assert serious_violations(page) == [], label
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= size["width"], f"Inicio overflows at {size['width']} px: {width}"
            screenshot(page, f"inicio-upa-{label}")
        finally:
            ctx.close()

    page = context.new_page()
    sign_in(page, base, coordinator, PASSWORD)
    page.goto(f"{base}/app/indicadores/upa?por=comunidad&clave={active_unit['community']}")
    assert page.get_by_role("heading", level=1).inner_text() == "Unidades productivas activas (UPA)"
    assert serious_violations(page) == []
    assert page.locator(f"a[href='/app/unidades/{active_unit['unit']}']").count() == 1
    evidence = page.locator(f"a[href='/app/actas/{active_unit['acta']}']")
    assert evidence.count() == 1
    evidence.click()
    page.wait_for_url(f"{base}/app/actas/{active_unit['acta']}")
    assert page.get_by_role("heading", level=1).count() == 1
    page.goto(f"{base}/app/indicadores/upa?por=sector")
    assert "Agroindustria" in page.locator("table").first.inner_text()  # the sector's name, not its code
    with page.expect_download() as download:
        page.goto(f"{base}/app/")
        page.get_by_role("region", name="Unidades productivas activas (UPA)").get_by_role("link", name="CSV").click()
    first = download.value.path().read_text(encoding="utf-8-sig").splitlines()[0]
    assert first == "Mes,UPA (%),UP activas,UP en implementación"
