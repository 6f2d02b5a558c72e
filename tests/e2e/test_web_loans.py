"""The microcredit pages (Créditos) in a real browser, against the real stack: a
coordinator creates a product (a bad field refused beside it first); a gestor
requests a loan from a UP's page, seeing the schedule preview; a coordinator who
registered a loan gets no approval button and a 409 on a forged approval, another
coordinator approves and disburses; the schedule table has one row per installment
and its principal column sums to the principal; a bad repayment amount shows the
service's message beside the field; a repayment form submitted twice posts once;
the portfolio shows PAR with a drill-down to the loans, its chart, and the close of
business; an auditor sees no form and gets 403 on forged POSTs and on the form pages.
axe-core and no horizontal overflow at phone and desktop widths."""

from __future__ import annotations

import io
import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from playwright.sync_api import Browser, Page

from tests.e2e.test_gateway_income import new_unit
from tests.e2e.test_web_app import PASSWORD, base
from tests.e2e.test_web_income import check_page, open_as
from tests.e2e.web_support import DESKTOP, PHONE, browser

__all__ = ["base", "browser"]  # fixtures, imported for pytest
API = "/api/v1"


@pytest.fixture(scope="module")
def people(http: httpx.Client, as_role: dict[str, dict[str, str]]) -> dict[str, str]:
    names = {}
    for role, kind in (("coordinator", "coord_a"), ("coordinator", "coord_b"), ("gestor", "gestor"),
                       ("income_adviser", "adviser"), ("auditor", "auditor")):  # fmt: skip
        name = f"web-cr-{kind}-{uuid.uuid4().hex[:6]}"
        body = {"username": name, "password": PASSWORD, "role": role, "full_name": f"Persona Crédito {kind}"}
        assert http.post("/api/v1/users", headers=as_role["admin"], json=body).status_code == 201
        names[kind] = name
    return names


@pytest.fixture(scope="module")
def unit(http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]) -> dict[str, Any]:
    created, owners = new_unit(http, as_role["gestor"], community["id"])
    return {**created, "owners": owners}


@pytest.fixture(scope="module")
def flow(browser: Browser, base: str, people: dict[str, str], unit: dict[str, Any]) -> dict[str, str]:
    """A product created in the browser by a coordinator, and a loan requested by a gestor."""
    page = open_as(browser, base, people["coord_a"])
    code = f"micro-{uuid.uuid4().hex[:6]}"
    try:
        page.goto(f"{base}/app/creditos")
        page.get_by_role("link", name="Productos de crédito").click()
        page.get_by_role("link", name="Crear un producto de crédito").click()
        page.get_by_label("Código").fill(code)
        page.get_by_label("Nombre", exact=True).fill("Microcrédito productivo")
        page.get_by_label("Número de cuotas").fill("0")
        page.get_by_label("Tasa nominal anual (%)").fill("24")
        with page.expect_response(lambda r: r.request.method == "POST") as sent:
            page.get_by_role("button", name="Crear el producto").click()
        assert sent.value.status == 400
        installments = page.get_by_label("Número de cuotas")
        assert installments.get_attribute("aria-invalid") == "true"
        assert "entre 1 y 360" in page.locator("#e-f-installments").inner_text()
        assert page.get_by_label("Código").input_value() == code  # kept as typed
        installments.fill("6")
        page.get_by_label("Cuotas en múltiplos de (pesos)").fill("100")
        page.get_by_role("button", name="Crear el producto").click()
        page.wait_for_url("**/app/creditos/productos?hecho=creado")
        assert page.get_by_role("heading", name=f"Microcrédito productivo ({code})").count() == 1
    finally:
        page.context.close()

    page = open_as(browser, base, people["gestor"])
    try:
        page.goto(f"{base}/app/unidades/{unit['id']}")
        card = page.get_by_role("region", name="Créditos")
        assert "aún no tiene créditos" in card.inner_text()
        card.get_by_role("link", name="Solicitar un crédito").click()
        page.get_by_label("Producto de crédito").select_option(code)
        page.get_by_label("Titular que recibe el crédito").select_option(unit["owners"][0])
        page.get_by_label("Monto solicitado").fill("1.200.000")
        page.get_by_role("button", name="Ver el plan de pagos").click()
        preview = page.get_by_role("table", name="Plan de pagos previsto: 6 cuotas")
        assert preview.locator("tbody tr").count() == 6
        assert preview.locator("tfoot td").first.inner_text() == "$ 1.200.000"
        page.get_by_role("button", name="Solicitar el crédito").click()
        page.wait_for_url("**/app/creditos/*?hecho=solicitado*")
        loan_id = page.url.split("/app/creditos/")[1].split("?")[0]
        assert page.get_by_role("button", name="Aprobar el crédito").count() == 0  # a gestor does not approve
    finally:
        page.context.close()
    return {"code": code, "loan": loan_id}


def active(http: httpx.Client, as_role: dict[str, dict[str, str]], loan_id: str) -> None:
    """The loan approved and disbursed (through the API when the browser test that does
    it did not run first)."""
    admin = as_role["admin"]
    if http.get(f"{API}/creditos/{loan_id}", headers=admin).json()["status"] == "solicitado":
        assert http.post(f"{API}/creditos/{loan_id}/aprobacion", headers=admin, json={}).status_code == 200
        assert http.post(f"{API}/creditos/{loan_id}/desembolsos", headers=admin, json={}).status_code == 200


def form_data(page: Page, action: str) -> dict[str, str | float | bool]:
    """The fields of one of the loan page's forms, as the browser would post them."""
    data: dict[str, str | float | bool] = page.locator(f"form[action$='/{action}']").evaluate(
        "f => Object.fromEntries(new FormData(f).entries())"
    )
    return data


def test_approval_by_another_coordinator_disbursement_schedule_and_a_repayment_posted_once(
    browser: Browser, base: str, http: httpx.Client, as_role: dict[str, dict[str, str]],
    people: dict[str, str], unit: dict[str, Any], flow: dict[str, str],
) -> None:  # fmt: skip
    loan_url = f"{base}/app/creditos/{flow['loan']}"
    # A coordinator who registers a loan may not approve it: no button, and a forged POST is 409.
    page = open_as(browser, base, people["coord_a"])
    try:
        page.goto(f"{base}/app/unidades/{unit['id']}/creditos/nuevo")
        page.get_by_label("Producto de crédito").select_option(flow["code"])
        page.get_by_label("Titular que recibe el crédito").select_option(unit["owners"][1])
        page.get_by_label("Monto solicitado").fill("600000")
        page.get_by_role("button", name="Solicitar el crédito").click()
        page.wait_for_url("**?hecho=solicitado*")
        own_url = page.url.split("?")[0]
        assert page.get_by_role("button", name="Aprobar el crédito").count() == 0
        csrf = page.locator("input[name=csrf]").first.input_value()
        forged = page.request.post(f"{own_url}/aprobar", form={"csrf": csrf}, max_redirects=0)
        assert forged.status == 409
        assert "Quien aprueba debe ser otra persona que quien registró el crédito" in forged.text()
    finally:
        page.context.close()

    page = open_as(browser, base, people["coord_b"])
    try:
        page.goto(loan_url)
        page.get_by_role("button", name="Aprobar el crédito").click()
        page.wait_for_url("**?hecho=aprobar*")
        assert page.get_by_role("status").inner_text() == "Crédito aprobado."
        page.get_by_role("button", name="Registrar el desembolso").click()
        page.wait_for_url("**?hecho=desembolso*")
        schedule = page.get_by_role("table", name="Plan de pagos: 6 cuotas")
        assert schedule.locator("tbody tr").count() == 6
        footer = schedule.locator("tfoot td").all_inner_texts()
        assert footer[0] == "$ 1.200.000"  # the principal column sums to the principal
        loan = http.get(f"{API}/creditos/{flow['loan']}", headers=as_role["gestor"]).json()
        assert [p["kind"] for p in loan["postings"]] == ["desembolso"]
        interest = sum(Decimal(i["interest"]) for i in loan["installments"])
        assert footer[1] == f"$ {interest:,}".replace(",", ".")
    finally:
        page.context.close()

    first = Decimal(loan["installments"][0]["total"])
    page = open_as(browser, base, people["gestor"])
    try:
        page.goto(loan_url)
        assert page.get_by_role("button", name="Registrar el desembolso").count() == 0  # not a gestor's
        amount = page.get_by_label("Monto del pago")
        amount.fill("0")
        with page.expect_response(lambda r: r.request.method == "POST") as sent:
            page.get_by_role("button", name="Registrar el pago").click()
        assert sent.value.status == 400
        amount = page.get_by_label("Monto del pago")
        assert amount.get_attribute("aria-invalid") == "true"
        assert page.locator("#e-f-pago-amount").inner_text() != ""
        assert page.get_by_role("alert").filter(has_text="Revise los datos").count() == 1

        amount.fill(f"{int(first):,}".replace(",", "."))
        sent_twice = form_data(page, "pago")
        page.get_by_role("button", name="Registrar el pago").click()
        page.wait_for_url("**?hecho=pago*")
        again = page.request.post(f"{loan_url}/pago", form=sent_twice)  # the same form, submitted again
        assert again.ok
        loan = http.get(f"{API}/creditos/{flow['loan']}", headers=as_role["gestor"]).json()
        assert [p["kind"] for p in loan["postings"]] == ["desembolso", "pago"]
        assert loan["installments"][0]["state"] == "pagada"
        page.goto(loan_url)
        ledger = page.get_by_role("table", name="Movimientos del crédito", exact=False)
        assert ledger.locator("tbody tr").count() == 2
        assert (
            page.get_by_role("table", name="Plan de pagos: 6 cuotas")
            .locator("tbody tr")
            .first.locator("td")
            .last.inner_text()
            == "Pagada"
        )
    finally:
        page.context.close()


def test_the_portfolio_drills_down_to_the_loans_and_a_coordinator_closes_the_day(
    browser: Browser, base: str, http: httpx.Client, as_role: dict[str, dict[str, str]], people: dict[str, str],
    community: dict[str, Any], flow: dict[str, str],
) -> None:  # fmt: skip
    active(http, as_role, flow["loan"])
    page = open_as(browser, base, people["coord_b"])
    try:
        page.goto(f"{base}/app/cartera")
        assert page.get_by_text("PAR30", exact=True).count() >= 1
        table = page.get_by_role("table", name="Indicadores de la cartera por comunidad")
        assert table.locator("thead th").nth(3).inner_text() == "PAR30"
        row = table.locator("tbody tr").filter(has=page.locator(f"a[href*='comunidad={community['id']}']"))
        assert row.count() == 1
        assert row.locator("td").nth(2).inner_text().endswith("%")
        image = page.locator("figure img")
        image.scroll_into_view_if_needed()
        image.evaluate("i => i.decode()")
        assert image.evaluate("i => i.naturalWidth") > 0
        row.get_by_role("link", name="Ver la lista").click()
        assert page.locator(f"a[href='/app/creditos/{flow['loan']}']").count() == 1
        export = page.request.get(f"{base}/app/creditos/exportar.xlsx?comunidad={community['id']}")
        sheet = load_workbook(io.BytesIO(export.body())).active
        assert sheet is not None
        exported = list(sheet.iter_rows(values_only=True))
        assert exported[0][:3] == ("Crédito", "Titular", "Unidad productiva")
        mine = [r for r in exported[1:] if r[0] == flow["loan"]]
        assert len(mine) == 1 and mine[0][5] == "Activo" and mine[0][6] == 1_200_000
        csv = page.request.get(f"{base}/app/cartera/grafica.csv?por=comunidad&indicador=par30")
        assert csv.ok and "PAR30 (%)" in csv.text()

        page.goto(f"{base}/app/cartera?por=sexo")
        assert page.get_by_role("table", name="Indicadores de la cartera por sexo del titular").count() == 1
        page.goto(f"{base}/app/cartera")
        page.get_by_role("button", name="Cerrar el día").click()
        assert page.get_by_role("status").inner_text().startswith("Día cerrado:")
        assert page.get_by_role("heading", name="Cierre del", exact=False).count() == 1
    finally:
        page.context.close()


def test_every_loan_page_is_accessible_at_phone_and_desktop_widths(
    browser: Browser, base: str, people: dict[str, str], unit: dict[str, Any], flow: dict[str, str]
) -> None:
    paths = [
        "/app/creditos",
        f"/app/creditos/{flow['loan']}",
        "/app/creditos/productos",
        "/app/creditos/productos/nuevo",
        f"/app/unidades/{unit['id']}/creditos/nuevo",
        f"/app/unidades/{unit['id']}",
        "/app/cartera",
        "/app/cartera?por=asesor&indicador=repayment_rate",
    ]
    for size, label in ((PHONE, "movil"), (DESKTOP, "escritorio")):
        page = open_as(browser, base, people["coord_b"], size)
        try:
            for path in paths:
                reply = page.goto(f"{base}{path}")
                assert reply is not None and reply.status == 200, path
                check_page(page, f"creditos-{label}", size["width"])
        finally:
            page.context.close()


def test_an_income_adviser_may_request_but_not_approve_and_an_auditor_only_reads(
    browser: Browser, base: str, http: httpx.Client, as_role: dict[str, dict[str, str]],
    people: dict[str, str], unit: dict[str, Any], flow: dict[str, str],
) -> None:  # fmt: skip
    page = open_as(browser, base, people["adviser"])
    try:
        reply = page.goto(f"{base}/app/unidades/{unit['id']}/creditos/nuevo")
        assert reply is not None and reply.status == 200
        assert page.goto(f"{base}/app/creditos/productos/nuevo").status == 403  # type: ignore[union-attr]
        assert page.goto(f"{base}/app/cartera").status == 200  # type: ignore[union-attr]
        assert page.get_by_role("button", name="Cerrar el día").count() == 0
    finally:
        page.context.close()

    before = http.get(f"{API}/creditos/{flow['loan']}", headers=as_role["gestor"]).json()["postings"]
    page = open_as(browser, base, people["auditor"])
    try:
        reply = page.goto(f"{base}/app/creditos/{flow['loan']}")
        assert reply is not None and reply.status == 200
        assert page.locator("main form").count() == 0
        assert page.get_by_role("table", name="Plan de pagos: 6 cuotas").count() == 1
        page.goto(f"{base}/app/unidades/{unit['id']}")
        assert page.get_by_role("link", name="Solicitar un crédito").count() == 0
        csrf = page.locator("input[name=csrf]").first.input_value()  # the sign-out form's: a valid token
        forged: tuple[tuple[str, dict[str, str | float | bool]], ...] = (
            (f"/app/creditos/{flow['loan']}/pago", {"csrf": csrf, "pago.amount": "1000", "pago.key": "x"}),
            (f"/app/creditos/{flow['loan']}/aprobar", {"csrf": csrf}),
            ("/app/cartera/cierre", {"csrf": csrf, "date": "2026-01-01"}),
            ("/app/creditos/productos/nuevo", {"csrf": csrf, "code": "x"}),
            (f"/app/unidades/{unit['id']}/creditos/nuevo", {"csrf": csrf, "principal": "1"}),
        )
        for path, form in forged:
            assert page.request.post(f"{base}{path}", form=form).status == 403, path
        for path in ("/app/creditos/productos/nuevo", f"/app/unidades/{unit['id']}/creditos/nuevo"):
            assert page.goto(f"{base}{path}").status == 403, path  # type: ignore[union-attr]
        assert page.goto(f"{base}/app/creditos/no-existe").status == 404  # type: ignore[union-attr]
    finally:
        page.context.close()
    after = http.get(f"{API}/creditos/{flow['loan']}", headers=as_role["gestor"]).json()["postings"]
    assert after == before
