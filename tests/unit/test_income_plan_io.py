"""A plan's content travels as plain data and back; bad data is refused with every
field named under its part."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.income.domain.errors import PlanInvalid
from services.income.domain.plan import PlanContent
from services.income.domain.plan_io import content_from_mapping, content_to_mapping
from services.income.domain.viability import ViabilityRule, assess
from tests.unit.income_builders import content, model, model_data


def test_content_survives_a_round_trip_through_plain_data() -> None:
    original = content()
    data = content_to_mapping(original)
    assert data["finance"]["investment"] == "3000000"
    assert data["exploration"]["errc"]["raise"] == ["Frescura"]
    assert content_from_mapping(data) == original


def test_absent_parts_stay_absent_as_in_a_draft() -> None:
    assert content_from_mapping({}) == PlanContent()
    assert content_from_mapping({"canvas": None}).canvas is None


def test_errors_of_every_part_are_reported_at_once_under_their_part() -> None:
    data = content_to_mapping(content())
    data["profile"]["factors"][1]["score"] = "11"
    data["proposal"]["factors"] = ["Precio", "Precio", "Cercanía"]
    data["finance"]["months"][3]["price"] = "-5"
    data["canvas"]["channels"] = []
    with pytest.raises(PlanInvalid) as caught:
        content_from_mapping(data)
    assert set(caught.value.fields) == {
        "profile.factors[1].score",
        "proposal.factors[1]",
        "finance.months[3].price",
        "canvas.channels",
    }


def test_form_text_becomes_scores_and_one_entry_per_line() -> None:
    data = content_to_mapping(content())
    data["profile"]["factors"][0]["score"] = " 7 "
    data["canvas"]["channels"] = "Venta en la puerta\n\n  Pedidos por WhatsApp \n"
    read = content_from_mapping(data)
    assert read.profile is not None and read.profile.factors[0].score == 7
    assert read.canvas is not None and read.canvas.channels == ("Venta en la puerta", "Pedidos por WhatsApp")


def test_a_part_of_the_wrong_shape_or_an_unknown_part_is_named() -> None:
    with pytest.raises(PlanInvalid) as caught:
        content_from_mapping({"canvas": ["pan"], "septima": {}})
    assert set(caught.value.fields) == {"canvas", "septima"}


def test_assessment_gives_the_figures_and_the_verdict_at_the_models_rate() -> None:
    result = assess(model(), ViabilityRule(irr_above_discount_rate=True))
    assert result.verdict.viable
    assert result.analysis.payback_month == 12
    steep = assess(
        model(**{**model_data(), "annual_discount_rate": "4.9"}), ViabilityRule(irr_above_discount_rate=True)
    )
    assert not steep.verdict.viable
    assert steep.analysis.npv < Decimal(0)
