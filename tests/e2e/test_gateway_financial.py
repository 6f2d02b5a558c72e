"""End to end through the HTTP gateway and the real income service: a UP's
financial statements recorded period by period, read back with their ratios and
trends, corrected with the revision read (a stale one is 409), a period already
recorded refused naming the period, bad input refused naming each field with
nothing written, the sales of a sealed follow-up acta taken "de acta", and the
roles that may only read refused a write."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.test_gateway_income import UNITS, followups, new_unit, seal_followup
from tests.helpers import eventually


def figures(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sales": "10000000",
        "cost_of_sales": "6000000",
        "operating_expenses": 2500000,  # a JSON number is read as written
        "current_assets": "3000000",
        "non_current_assets": "7000000",
        "current_liabilities": "1000000",
        "non_current_liabilities": "2000000",
    }
    body.update(overrides)
    return body


def test_statements_are_recorded_read_back_with_ratios_and_corrected_with_the_revision_read(
    http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]
) -> None:
    gestor, coordinator = as_role["gestor"], as_role["coordinator"]
    unit, _ = new_unit(http, gestor, community["id"])
    path = f"{UNITS}/{unit['id']}/estados-financieros"

    first = http.put(f"{path}/2026-09", headers=gestor, json=figures(equity="7000000", notes="Primer cierre"))
    assert first.status_code == 200, first.text
    s = first.json()
    assert (s["period"], s["kind"], s["label"], s["revision"]) == ("2026-09", "mensual", "septiembre de 2026", 1)
    assert (s["start_date"], s["end_date"], s["loans_as_of"]) == ("2026-09-01", "2026-09-30", "2026-09-30")
    assert (s["gross_profit"], s["net_income"], s["total_assets"], s["total_liabilities"], s["equity"]) == (
        "4000000",
        "1500000",
        "10000000",
        "3000000",
        "7000000",
    )
    assert s["loan_liabilities"] == "0"  # no loans adapter yet: nothing "de créditos"
    assert s["ratios"] == {
        "gross_margin": "0.4000",
        "net_margin": "0.1500",
        "current_ratio": "3.0000",
        "debt_ratio": "0.3000",
    }
    assert (s["figures"]["operating_expenses"], s["sales_source"], s["notes"]) == ("2500000", "asesor", "Primer cierre")

    second = http.put(f"{path}/2026-10", headers=gestor, json=figures(sales="0", cost_of_sales="0"))
    assert second.status_code == 200, second.text
    assert second.json()["ratios"]["gross_margin"] == "" and second.json()["ratios"]["net_margin"] == ""
    quarter = http.put(f"{path}/2026-t3", headers=coordinator, json=figures(sales="30000000", cost_of_sales="15000000"))
    assert quarter.status_code == 200 and quarter.json()["period"] == "2026-T3", quarter.text

    # Corrected with the revision read; the same stale revision again is 409; nothing else moves.
    corrected = http.put(f"{path}/2026-10", headers=coordinator, json=figures(sales="8000000", expected_revision=1))
    assert corrected.status_code == 200 and corrected.json()["revision"] == 2, corrected.text
    assert corrected.json()["ratios"]["gross_margin"] == "0.2500"
    stale = http.put(f"{path}/2026-10", headers=gestor, json=figures(sales="1", expected_revision=1))
    assert stale.status_code == 409 and "versión" in stale.json()["error"], stale.text
    twice = http.put(f"{path}/2026-09", headers=gestor, json=figures())
    assert twice.status_code == 400 and "Ya hay un estado financiero" in twice.json()["fields"]["period"], twice.text

    listed = http.get(path, headers=as_role["auditor"])
    assert listed.status_code == 200, listed.text
    found = listed.json()
    assert [(x["period"], x["revision"]) for x in found["statements"]] == [
        ("2026-09", 1),
        ("2026-T3", 1),
        ("2026-10", 2),
    ]
    gross = next(t for t in found["trends"] if t["ratio"] == "gross_margin" and t["kind"] == "mensual")
    assert [(p["period"], p["value"], p["change"], p["direction"]) for p in gross["points"]] == [
        ("2026-09", "0.4000", "", ""),
        ("2026-10", "0.2500", "-0.1500", "baja"),
    ]
    assert gross["last_direction"] == "baja" and gross["label"] == "Margen bruto"
    assert {t["kind"] for t in found["trends"]} == {"mensual", "trimestral"}
    assert (found["offers"], found["loan_liabilities_today"]) == ([], "0")


def test_bad_input_is_400_naming_each_field_and_nothing_is_written(
    http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]
) -> None:
    gestor = as_role["gestor"]
    unit, _ = new_unit(http, gestor, community["id"])
    path = f"{UNITS}/{unit['id']}/estados-financieros"
    refusals = {
        "2026-13": (figures(), "period"),
        "2026-Q4": (figures(), "period"),
        "2026-08": (figures(cost_of_sales="-1"), "cost_of_sales"),
        "2026-07": (figures(current_assets=12.5), "current_assets"),
        "2026-06": (figures(sales=""), "sales"),
        "2026-05": (figures(equity="1"), "equity"),
        "2026-04": (figures(sales_from_actas=True, sales=""), "sales_from_actas"),
        "2026-03": (figures(sales=True), "sales"),
        "2026-02": (figures(unknown="x"), "unknown"),
        "2099-01": (figures(), "period"),
    }
    for period, (body, field) in refusals.items():
        reply = http.put(f"{path}/{period}", headers=gestor, json=body)
        assert reply.status_code == 400, (period, reply.text)
        assert field in reply.json()["fields"], (period, reply.json())
    assert (
        "no puede ser negativo"
        in http.put(f"{path}/2026-08", headers=gestor, json=figures(cost_of_sales="-1")).json()["fields"][
            "cost_of_sales"
        ]
    )
    assert http.get(path, headers=gestor).json()["statements"] == []
    assert http.put(f"{UNITS}/no-existe/estados-financieros/2026-01", headers=gestor, json=figures()).status_code == 404
    assert http.get(f"{UNITS}/no-existe/estados-financieros", headers=gestor).status_code == 404
    for role in ("auditor", "psychosocial"):
        assert http.put(f"{path}/2026-01", headers=as_role[role], json=figures()).status_code == 403
    assert http.get(path, headers=as_role["psychosocial"]).status_code == 200


def test_the_sales_of_a_sealed_followup_acta_are_offered_and_taken_de_acta(
    http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]
) -> None:
    gestor = as_role["gestor"]
    unit, (owner, _) = new_unit(http, gestor, community["id"])
    acta = seal_followup(http, gestor, unit["id"], owner)  # visited 2026-11-21, sales 1,250,000
    assert eventually(lambda: followups(http, gestor, unit["id"]), timeout=30)
    path = f"{UNITS}/{unit['id']}/estados-financieros"
    offers = http.get(path, headers=gestor).json()["offers"]
    assert [(o["period"], o["amount"], o["complete"], o["source"]) for o in offers] == [
        ("2026-11", "1250000", True, f"de acta {acta['id']}"),
        ("2026-T4", "1250000", False, f"de acta {acta['id']}"),
    ]
    assert offers[1]["missing_months"] == ["2026-10", "2026-12"]
    differs = http.put(f"{path}/2026-11", headers=gestor, json=figures(sales="999", sales_from_actas=True))
    assert differs.status_code == 400 and "$ 1.250.000" in differs.json()["fields"]["sales"], differs.text
    taken = http.put(f"{path}/2026-11", headers=gestor, json=figures(sales="", sales_from_actas=True, equity=""))
    assert taken.status_code == 200, taken.text
    s = taken.json()
    assert (s["figures"]["sales"], s["sales_source"], s["sales_acta_ids"]) == ("1250000", "acta", [acta["id"]])
    assert s["ratios"]["gross_margin"] == "-3.8000"  # (1,250,000 - 6,000,000) / 1,250,000
