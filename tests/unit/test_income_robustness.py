"""Whatever arrives, the income domain answers with a field-named refusal or a
result, never another exception (which the gateway would turn into a 5xx), and it
keeps full precision where the default decimal context would round."""

from __future__ import annotations

import decimal
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.income.domain.errors import PlanInvalid
from services.income.domain.finance import FinancialModel
from services.income.domain.finance_math import analyse
from services.income.domain.plan_io import content_from_mapping
from tests.unit.income_builders import model, month

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=True),
    st.sampled_from(["", "12", "-3", "1e999999999", "1e-999999999", "NaN", "abc", "0.5", " 7 "]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.sampled_from(["name", "score", "units"]), st.integers(), max_size=2),
)
month_data = st.fixed_dictionaries({k: junk for k in ("units", "price", "variable_cost", "fixed_costs")})
model_data = st.fixed_dictionaries(
    {
        "investment": junk,
        "funding": st.one_of(junk, st.fixed_dictionaries({"own_funds": junk, "seed_capital": junk})),
        "months": st.one_of(junk, st.lists(st.one_of(month_data, junk), max_size=40)),
        "annual_discount_rate": junk,
    }
)


@settings(max_examples=200, deadline=None)
@given(data=model_data)
def test_any_financial_input_is_a_model_or_a_named_refusal(data: dict[str, Any]) -> None:
    try:
        parsed = FinancialModel.parse(data)
    except PlanInvalid as refused:
        assert refused.fields and all(isinstance(why, str) and why for why in refused.fields.values())
    else:
        analyse(parsed)


@settings(max_examples=200, deadline=None)
@given(
    data=st.dictionaries(
        st.sampled_from(["profile", "canvas", "archetype", "exploration", "proposal", "finance"]),
        st.one_of(
            junk,
            st.dictionaries(
                st.sampled_from(["factors", "channels", "description", "paths", "errc", "proposal", "competitors"]),
                st.one_of(junk, st.lists(junk, max_size=3), st.text(max_size=20)),
                max_size=4,
            ),
        ),
        max_size=6,
    )
)
def test_any_plan_input_is_content_or_a_named_refusal(data: dict[str, Any]) -> None:
    try:
        content_from_mapping(data)
    except PlanInvalid as refused:
        assert refused.fields


def test_projections_keep_digits_the_default_context_would_round() -> None:
    units, price = "123456789.123", "999999999999.12345"
    months = [month(units=units, price=price, variable_cost=0, fixed_costs=0) for _ in range(12)]
    with decimal.localcontext(decimal.Context(prec=28)):
        result = analyse(model(months=months, investment="1", funding={"own_funds": "1"}))
    wide = decimal.Context(prec=100)
    exact = wide.multiply(wide.multiply(Decimal(units), Decimal(price)), 12)
    assert result.total_sales == exact
    assert len(exact.as_tuple().digits) > 28
