"""The pure parts of the microcredit pages: the schedule preview is the loan domain's
own schedule, the product form's text is read into the service's request, figures
read as a person reads them, and which forms a loan's page offers to whom."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from crm_platform.proto_gen.crm.income.v1 import loans_pb2 as pb
from gateway.web import loan_support as ls
from gateway.web.loan_detail import offered
from gateway.web.loan_products import DEFAULTS, buckets_of, product_request
from services.income.domain.loans.product import Frequency, LoanProduct
from services.income.domain.loans.schedule import generate

PRODUCT = pb.LoanProduct(
    code="micro", name="Micro", frequency="mensual", installments=6, annual_rate="24",
    interest_method="saldo_decreciente", amortization="cuotas_iguales", interest_period="igual_al_periodo",
    installment_multiple=100, overpayment="refuse",
    allocation=["penalidades", "cargos", "interes", "capital"],
    buckets=[pb.Bucket(from_days=1, to_days=30), pb.Bucket(from_days=31, to_days=0)],
)  # fmt: skip


def test_the_preview_is_the_domain_schedule_and_its_principal_sums_to_the_amount() -> None:
    schedule, problems = ls.preview(PRODUCT, "1.200.000", "2026-01-15", "")
    assert problems == {} and schedule is not None
    rows = ls.schedule_rows(schedule)
    assert len(rows) == 6
    assert ls.totals(rows)["principal"] == "1200000"
    domain = LoanProduct("micro", "Micro", Frequency.MONTHLY, 6, Decimal(24), installment_multiple=100)
    expected = generate(domain, Decimal(1_200_000), schedule.disbursed_on)
    assert [r["total"] for r in rows] == [str(i.total) for i in expected.installments]
    assert rows[0]["due_date"] == "2026-02-15"


def test_a_preview_names_the_bad_field() -> None:
    assert ls.preview(PRODUCT, "abc", "", "")[1].keys() == {"principal"}
    assert ls.preview(PRODUCT, "-5", "", "")[1].keys() == {"principal"}
    assert ls.preview(PRODUCT, "1000000", "2026-13-01", "")[1].keys() == {"disbursed_on"}
    early = ls.preview(PRODUCT, "1000000", "2026-03-01", "2026-02-01")[1]
    assert "first_due_on" in early


def test_the_product_form_is_read_into_the_request_and_unreadable_fields_are_named() -> None:
    values = {name: "" for name in ("code", "name", "annual_rate", "min_amount", "max_amount", "move_to_business_day")}
    values.update(DEFAULTS, code="m1", name="M", installments="6", annual_rate="24,5", min_amount="$ 100.000")
    message, problems = product_request(values)
    assert problems == {} and message is not None
    assert (message.installments, message.annual_rate, message.min_amount) == (6, "24,5", "100000")
    assert [(b.from_days, b.to_days) for b in message.buckets] == [(1, 30), (31, 60), (61, 90), (91, 180), (181, 0)]
    assert list(message.allocation) == ["penalidades", "cargos", "interes", "capital"]
    _, problems = product_request({**values, "installments": "seis", "buckets": "1-30, x"})
    assert problems.keys() == {"installments", "buckets"}
    assert buckets_of("1-30, 31+") is not None and buckets_of("treinta") is None


def test_figures_as_a_person_reads_them() -> None:
    assert ls.percent("0.1234") == "12,34\u00a0%"
    assert ls.percent("") == "—"
    assert ls.bucket_label("") == "Al día" and ls.bucket_label("31-60") == "31 a 60 días"
    assert ls.days_late("2026-01-01", date(2026, 1, 31)) == 30
    assert ls.days_late("", date(2026, 1, 31)) == 0


def staff(role: str, username: str = "ana") -> Any:
    return SimpleNamespace(user=SimpleNamespace(role=role, username=username))


def loan(status: str, **overrides: object) -> SimpleNamespace:
    values: dict[str, object] = {"status": status, "created_by": "ana", "write_off_requested_by": "",
                                 "principal": "1000", "balances": SimpleNamespace(disbursed="0")}  # fmt: skip
    values.update(overrides)
    return SimpleNamespace(**values)


def test_a_loan_page_offers_each_form_to_the_roles_and_states_that_admit_it() -> None:
    requested = loan("solicitado")
    assert offered(staff("coordinator", "ana"), requested)["aprobar"] is False  # four eyes: her own request
    assert offered(staff("coordinator", "luis"), requested)["aprobar"] is True
    assert offered(staff("gestor", "luis"), requested)["aprobar"] is False
    running = loan("activo", balances=SimpleNamespace(disbursed="1000"))
    gestor = offered(staff("gestor", "luis"), running)
    assert gestor["pago"] and gestor["prepago"] and gestor["castigo"] and gestor["pausa"]
    assert not (gestor["reprogramar"] or gestor["desembolso"] or gestor["castigo-aprobar"])
    assert not any(offered(staff("auditor", "luis"), running).values())
    asked = loan("activo", write_off_requested_by="ana", balances=SimpleNamespace(disbursed="1000"))
    assert offered(staff("coordinator", "ana"), asked)["castigo-aprobar"] is False
    assert offered(staff("coordinator", "luis"), asked)["castigo-aprobar"] is True
    assert offered(staff("coordinator", "luis"), loan("activo", balances=SimpleNamespace(disbursed="400")))[
        "desembolso"
    ]  # a tranche is left
    assert not any(offered(staff("admin", "luis"), loan("pagado")).values())
