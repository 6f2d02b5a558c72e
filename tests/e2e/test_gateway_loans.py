"""End to end through the HTTP gateway and the real crm-income process: a loan
product, a loan of a productive unit approved by another person, disbursed,
repaid (a retried repayment posts once), prepaid, rescheduled, written off with
another person's approval, its delinquency clock paused and resumed; the portfolio indicators drilling down to the loan,
the close of business, and bad input answered with 400 naming the field."""

from __future__ import annotations

import functools
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.e2e.test_gateway_income import new_unit
from tests.helpers import eventually

API = "/api/v1"
TODAY = datetime.now(ZoneInfo("America/Bogota")).date()


def product(http: httpx.Client, headers: dict[str, str]) -> str:
    code = f"micro-{uuid.uuid4().hex[:6]}"
    body = {"code": code, "name": "Microcrédito productivo", "frequency": "mensual", "installments": 6,
            "annual_rate": "24", "installment_multiple": 100, "reminder_days": 5}  # fmt: skip
    created = http.post(f"{API}/productos-credito", headers=headers, json=body)
    assert created.status_code == 201, created.text
    assert created.json()["buckets"][0] == {"from_days": 1, "to_days": 30, "label": "1-30"}
    return code


def disbursed_loan(
    http: httpx.Client, as_role: dict[str, dict[str, str]], community_id: str, code: str, days_ago: int = 95
) -> dict[str, Any]:
    gestor, coordinator = as_role["gestor"], as_role["coordinator"]
    unit, owners = new_unit(http, gestor, community_id)
    body = {"unit_id": unit["id"], "borrower_id": owners[0], "product_code": code, "principal": "1200000"}
    created = http.post(f"{API}/creditos", headers=gestor, json=body)
    assert created.status_code == 201, created.text
    loan = created.json()
    assert loan["status"] == "solicitado" and loan["owner_ids"] == owners
    approved = http.post(f"{API}/creditos/{loan['id']}/aprobacion", headers=coordinator, json={})
    assert approved.status_code == 200, approved.text
    on = (TODAY - timedelta(days=days_ago)).isoformat()
    disbursed = http.post(f"{API}/creditos/{loan['id']}/desembolsos", headers=coordinator, json={"on": on})
    assert disbursed.status_code == 200, disbursed.text
    return dict(disbursed.json())


def test_a_loan_is_approved_by_another_person_disbursed_and_repaid_once_per_key(
    http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]
) -> None:
    gestor, coordinator, admin = as_role["gestor"], as_role["coordinator"], as_role["admin"]
    wrong = {"code": "x", "name": "x", "frequency": "anual", "installments": 0, "annual_rate": "abc"}
    bad = http.post(f"{API}/productos-credito", headers=coordinator, json=wrong)
    assert bad.status_code == 400
    assert {"frequency", "installments", "annual_rate"} <= set(bad.json()["fields"])
    assert http.post(f"{API}/productos-credito", headers=gestor, json={}).status_code in (400, 403)
    code = product(http, coordinator)
    assert code in [p["code"] for p in http.get(f"{API}/productos-credito", headers=gestor).json()["products"]]

    unit, owners = new_unit(http, gestor, community["id"])
    body = {"unit_id": unit["id"], "borrower_id": owners[0], "product_code": code, "principal": "1200000"}
    loan = http.post(f"{API}/creditos", headers=coordinator, json=body).json()
    own = http.post(f"{API}/creditos/{loan['id']}/aprobacion", headers=coordinator, json={})
    assert own.status_code == 409  # four eyes: not the person who registered it
    assert http.post(f"{API}/creditos/{loan['id']}/aprobacion", headers=admin, json={}).status_code == 200
    on = (TODAY - timedelta(days=95)).isoformat()
    reply = http.post(f"{API}/creditos/{loan['id']}/desembolsos", headers=admin, json={"on": on})
    assert reply.status_code == 200, reply.text
    loan = reply.json()
    assert loan["status"] == "activo" and len(loan["installments"]) == 6
    assert loan["balances"]["principal_outstanding"] == "1200000"
    assert loan["arrears"]["days_past_due"] > 0 and loan["arrears"]["bucket"] != ""
    first = loan["installments"][0]["total"]

    pay = {"amount": first, "idempotency_key": f"caja-{uuid.uuid4().hex[:6]}"}
    paid = http.post(f"{API}/creditos/{loan['id']}/pagos", headers=gestor, json=pay)
    assert paid.status_code == 200, paid.text
    again = http.post(f"{API}/creditos/{loan['id']}/pagos", headers=gestor, json=pay)
    assert again.status_code == 200
    assert [p["kind"] for p in again.json()["postings"]] == ["desembolso", "pago"]
    assert again.json()["installments"][0]["state"] == "pagada"
    assert Decimal(again.json()["balances"]["principal_outstanding"]) < 1_200_000

    for amount, field in (("0", "amount"), ("-1", "amount"), ("99999999999", "amount")):
        refused = http.post(f"{API}/creditos/{loan['id']}/pagos", headers=gestor, json={"amount": amount})
        assert refused.status_code == 400 and field in refused.json()["fields"], refused.text
    future = (TODAY + timedelta(days=3)).isoformat()
    refused = http.post(f"{API}/creditos/{loan['id']}/pagos", headers=gestor, json={"amount": "1000", "on": future})
    assert refused.status_code == 400 and "on" in refused.json()["fields"]
    assert http.get(f"{API}/creditos/no-existe", headers=gestor).status_code == 404

    listed = http.get(f"{API}/creditos", headers=gestor, params={"community_id": community["id"], "limit": 500})
    assert loan["id"] in [x["id"] for x in listed.json()["loans"]]
    indicators = http.get(f"{API}/cartera/indicadores", headers=gestor, params={"group_by": "comunidad"})
    assert indicators.status_code == 200, indicators.text
    mine = [g for g in indicators.json()["groups"] if g["key"] == community["id"]]
    assert mine and loan["id"] in mine[0]["loan_ids"]
    assert Decimal(indicators.json()["totals"]["principal_outstanding"]) > 0

    # The household's and the borrower's timelines get the disbursement and the one repayment.
    def told(subject: str) -> list[str] | None:
        entries = http.get(f"/api/v1/{subject}/timeline", headers=as_role["auditor"]).json()["entries"]
        found = [e["summary"] for e in entries if e["kind"].startswith("loan_") and e["source_id"] == unit["id"]]
        return found if len(found) == 2 else None

    for subject in (f"families/{unit['family_id']}", f"beneficiaries/{owners[0]}"):
        summaries = eventually(functools.partial(told, subject), timeout=30)
        assert summaries is not None, subject
        assert sorted(s.split(":")[0] for s in summaries) == ["Desembolso de un crédito", "Pago de un crédito"]
        assert any(s.endswith("$ 1.200.000") for s in summaries), summaries


def test_prepayment_reschedule_write_off_and_the_close_of_business(
    http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]
) -> None:
    gestor, coordinator = as_role["gestor"], as_role["coordinator"]
    code = product(http, coordinator)
    loan = disbursed_loan(http, as_role, community["id"], code, days_ago=20)  # nothing due yet
    before = loan["installments"][1]["total"]
    prepaid = http.post(f"{API}/creditos/{loan['id']}/prepago", headers=gestor,
                        json={"amount": "400000", "mode": "reducir_cuota"})  # fmt: skip
    assert prepaid.status_code == 200, prepaid.text
    assert Decimal(prepaid.json()["installments"][1]["total"]) < Decimal(before)
    bad_mode = http.post(f"{API}/creditos/{loan['id']}/prepago", headers=gestor, json={"amount": "1", "mode": "x"})
    assert bad_mode.status_code == 400 and "mode" in bad_mode.json()["fields"]

    late = disbursed_loan(http, as_role, community["id"], code)
    first_new = (TODAY + timedelta(days=30)).isoformat()
    body = {"from_date": first_new, "installments": 8, "reason": "Cosecha perdida"}
    assert http.post(f"{API}/creditos/{late['id']}/reprogramacion", headers=gestor, json=body).status_code == 403
    rescheduled = http.post(f"{API}/creditos/{late['id']}/reprogramacion", headers=coordinator, json=body)
    assert rescheduled.status_code == 200, rescheduled.text
    assert rescheduled.json()["installments"][-1]["due_date"] > first_new

    paused_loan = disbursed_loan(http, as_role, community["id"], code)
    delinquency_clock(http, gestor, paused_loan)  # before the close: its disbursement is back-dated

    yesterday = (TODAY - timedelta(days=1)).isoformat()
    assert http.post(f"{API}/cartera/cierre", headers=gestor, json={"date": yesterday}).status_code == 403
    today = http.post(f"{API}/cartera/cierre", headers=coordinator, json={"date": TODAY.isoformat()})
    assert today.status_code == 400 and "date" in today.json()["fields"]
    closed = http.post(f"{API}/cartera/cierre", headers=coordinator, json={"date": yesterday})
    assert closed.status_code == 200, closed.text
    assert closed.json()["loans_read"] >= 2
    again = http.post(f"{API}/cartera/cierre", headers=coordinator, json={"date": yesterday})
    assert again.json()["loans_changed"] == 0
    stored = http.get(f"{API}/creditos", headers=gestor, params={"unit_id": late["unit_id"]}).json()["loans"]
    assert stored[0]["bucket"] != ""

    asked = http.post(f"{API}/creditos/{late['id']}/castigo", headers=gestor, json={"reason": "Cierre del negocio"})
    assert asked.status_code == 200, asked.text
    revision = asked.json()["revision"]
    approved = http.post(
        f"{API}/creditos/{late['id']}/castigo/aprobacion", headers=coordinator, json={"expected_revision": revision}
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "castigado"
    assert approved.json()["postings"][-1]["kind"] == "castigo"
    closed_loan = http.post(f"{API}/creditos/{late['id']}/pagos", headers=gestor, json={"amount": "1000"})
    assert closed_loan.status_code == 409


def delinquency_clock(http: httpx.Client, gestor: dict[str, str], loan: dict[str, Any]) -> None:
    """Pausing the clock takes the paused days off; it cannot be paused twice; resuming."""
    start = (TODAY - timedelta(days=10)).isoformat()
    paused = http.post(f"{API}/creditos/{loan['id']}/pausa-mora", headers=gestor, json={"paused": True, "on": start})
    assert paused.status_code == 200, paused.text
    assert paused.json()["arrears"]["paused"] is True
    assert paused.json()["arrears"]["days_past_due"] < loan["arrears"]["days_past_due"]
    twice = http.post(f"{API}/creditos/{loan['id']}/pausa-mora", headers=gestor, json={"paused": True})
    assert twice.status_code == 400
    resumed = http.post(f"{API}/creditos/{loan['id']}/pausa-mora", headers=gestor, json={"paused": False})
    assert resumed.status_code == 200 and resumed.json()["arrears"]["paused"] is False
    as_of = http.get(f"{API}/creditos/{loan['id']}", headers=gestor, params={"as_of": str(date(2000, 1, 1))})
    assert as_of.status_code == 200 and as_of.json()["arrears"]["days_past_due"] == 0
