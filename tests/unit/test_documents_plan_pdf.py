"""The PDF "Plan de Acción" of an approved plan version: Spanish headings, the
figures the income domain computes (money as ``format_cop`` writes it), the
charts, the verdict; a version missing parts still renders and says so."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from pypdf import PdfReader

from services.documents.domain.errors import RenderFailed
from services.documents.domain.plan_rendering import render_plan_pdf
from services.documents.domain.plan_view import (
    PlanView,
    VerdictView,
    parse_plan_document_id,
    plan_document_id,
    plan_object_key,
)
from services.income.domain.finance_math import analyse
from services.income.domain.fluye import PART_LABELS, PATH_LABELS
from services.income.domain.money import format_cop
from services.income.domain.plan import PlanContent
from tests.unit.income_builders import AT, content, model


def plan_view(**changes: object) -> PlanView:
    found = PlanView(
        unit_id="up-1",
        unit_name="Panadería Ñapa & Cía <b>",
        household="Hogar Epieyú Uriana",
        owners=("Yolanda Epieyú", "José Uriana"),
        community="Nuevo Roche",
        sector="Alimentos y bebidas",
        kind="Emprendimiento",
        version=2,
        status="approved",
        approved_by="coordinadora.ana",
        approved_at=AT,
        content=content(),
        verdict=VerdictView(
            True,
            "Viable",
            ((True, "El VPN es $ 1.234.567; cumple el mínimo de $ 0"), (True, "La inversión se recupera en el mes 9")),
        ),
        based_on=1,
    )
    return replace(found, **changes)  # type: ignore[arg-type]


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def squashed(text: str) -> str:
    """Text without line breaks or runs of spaces (wrapped cells break anywhere)."""
    return " ".join(text.split())


def test_the_plan_pdf_shows_every_part_the_figures_and_the_verdict_in_spanish() -> None:
    pdf = render_plan_pdf(plan_view())
    assert pdf.startswith(b"%PDF-")
    text = squashed(text_of(pdf))
    assert "Plan de Acción" in text
    for heading in PART_LABELS.values():
        assert heading in text, heading
    for label in ("Dictamen de viabilidad", "Resultado: Viable", "Aprobado por", "coordinadora.ana", "Titulares"):
        assert label in text, label
    assert "Panadería Ñapa & Cía <b>" in text  # user text drawn as-is
    assert "Yolanda Epieyú, José Uriana" in text and "Hogar Epieyú Uriana" in text
    assert "revisa la versión 1" in text
    npv = analyse(model()).npv
    assert f"Valor presente neto (VPN) {format_cop(npv)}" in text
    assert format_cop(npv) != "$ 0"
    assert "Inversión inicial $ 3.000.000" in text and "Aporte de capital semilla $ 2.000.000" in text
    assert "El VPN es $ 1.234.567; cumple el mínimo de $ 0" in text
    assert PATH_LABELS[next(iter(PATH_LABELS))] in text and "Matriz ERIC" in text
    assert "Panadería del centro" in text and "Objetivo" in text  # curve names in the legends and tables
    assert "Página 1 de" in text


def test_a_not_viable_verdict_lists_the_failed_checks() -> None:
    verdict = VerdictView(False, "No viable", ((False, "La inversión no se recupera dentro de la proyección"),))
    text = squashed(text_of(render_plan_pdf(plan_view(verdict=verdict))))
    assert "Resultado: No viable" in text and "No cumple La inversión no se recupera dentro de la proyección" in text


def test_a_plan_without_optional_parts_still_renders_and_says_what_is_missing() -> None:
    bare = plan_view(content=PlanContent(canvas=content().canvas), verdict=None, owners=(), based_on=0)
    text = squashed(text_of(render_plan_pdf(bare)))
    assert text.count("Esta versión del plan no incluye esta parte.") == 5
    assert "Sin modelo financiero no hay dictamen de viabilidad." in text
    assert "Familias del barrio" in text and "revisa la versión" not in text


def test_a_rendering_failure_is_a_render_failed_never_a_partial_pdf() -> None:
    broken = plan_view(unit_name=None)
    with pytest.raises(RenderFailed, match="plan up-1 v2"):
        render_plan_pdf(broken)


def test_plan_document_ids_and_keys() -> None:
    assert plan_document_id("u-9", 3) == "u-9:v3"
    assert parse_plan_document_id("u-9:v3") == ("u-9", 3)
    assert plan_object_key("u-9", 3) == "planes/u-9/v3.pdf"
    with pytest.raises(ValueError):
        parse_plan_document_id("u-9")
