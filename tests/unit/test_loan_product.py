"""Loan products: every rule checked at once with the field named, and parsing the
strings the API sends."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.income.domain.loans.product import (
    DEFAULT_ALLOCATION,
    DEFAULT_BUCKETS,
    Allocation,
    Frequency,
    InterestMethod,
    LoanInvalid,
    LoanProduct,
    check_product,
    parse_product,
)

GOOD = {"code": "MC-12", "name": "Microcrédito productivo", "frequency": Frequency.MONTHLY, "installments": 12}


def checked(**values: object) -> LoanProduct:
    return LoanProduct.checked(**{**GOOD, "annual_rate": Decimal(24), **values})


def refused(**values: object) -> dict[str, str]:
    with pytest.raises(LoanInvalid) as caught:
        checked(**values)
    return caught.value.fields


def test_a_good_product_passes() -> None:
    product = checked()
    assert check_product(product) is product
    assert (product.allocation, product.buckets) == (DEFAULT_ALLOCATION, DEFAULT_BUCKETS)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"installments": 0}, "installments"),
        ({"installments": 361}, "installments"),
        ({"annual_rate": Decimal(-1)}, "annual_rate"),
        ({"annual_rate": Decimal("200.01")}, "annual_rate"),
        ({"annual_rate": Decimal("NaN")}, "annual_rate"),
        ({"principal_grace": 12}, "principal_grace"),
        ({"interest_grace": -1}, "interest_grace"),
        ({"interest_free_grace": 12}, "interest_free_grace"),
        ({"installment_multiple": 0}, "installment_multiple"),
        ({"currency_multiple": 100, "currency_digits": 2}, "currency_multiple"),
        ({"buckets": ((1, 30), (32, None))}, "buckets"),
        ({"buckets": ((0, 30), (31, None))}, "buckets"),
        ({"buckets": ((1, 30), (31, 60))}, "buckets"),
        ({"buckets": ()}, "buckets"),
        (
            {"allocation": (Allocation.INTEREST, Allocation.INTEREST, Allocation.FEES, Allocation.PRINCIPAL)},
            "allocation",
        ),
        ({"allocation": (Allocation.INTEREST, Allocation.PRINCIPAL)}, "allocation"),
        ({"overpayment": "keep"}, "overpayment"),
        ({"code": " "}, "code"),
        ({"arrears_grace_days": 400}, "arrears_grace_days"),
    ],
)
def test_each_rule_names_its_field(values: dict[str, object], field: str) -> None:
    fields = refused(**values)
    assert field in fields
    assert fields[field]  # a Spanish message, not empty


def test_every_bad_field_is_reported_at_once() -> None:
    fields = refused(installments=0, annual_rate=Decimal(500), installment_multiple=0, overpayment="x")
    assert {"installments", "annual_rate", "installment_multiple", "overpayment"} <= set(fields)


def test_parse_from_the_api_strings() -> None:
    product = parse_product(
        {
            "code": "MC-6",
            "name": "Semanal",
            "frequency": "semanal",
            "installments": "24",
            "annual_rate": "30,5",
            "interest_method": "flat",
            "principal_grace": "2",
            "installment_multiple": "1000",
            "move_to_business_day": "sí",
            "allocation": "interes,capital,cargos,penalidades",
            "buckets": "1-15,16-45,46-",
            "overpayment": "advance",
        }
    )
    assert product.frequency is Frequency.WEEKLY
    assert product.annual_rate == Decimal("30.5")
    assert product.interest_method is InterestMethod.FLAT
    assert product.move_to_business_day is True
    assert product.allocation[0] is Allocation.INTEREST
    assert product.buckets == ((1, 15), (16, 45), (46, None))


def test_parse_reports_bad_strings_missing_and_unknown_fields() -> None:
    with pytest.raises(LoanInvalid) as caught:
        parse_product(
            {"code": "X", "frequency": "anual", "installments": "doce", "annual_rate": "1e999x", "color": "rojo"}
        )
    assert {"name", "frequency", "installments", "annual_rate", "color"} <= set(caught.value.fields)
