"""KPI definitions as data: the shipped files load, and a bad file stops the start
with an error naming the file and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crm_platform.config import ConfigError
from services.reports.domain.definitions import DefinitionError, load, load_dir, parse

GOOD: dict[str, Any] = {
    "code": "cobertura_7d",
    "name": "Cobertura (7 días)",
    "unit": "percent",
    "numerator": {"label": "Visitados", "source": "households", "where": {"visited_within_days": 7}},
    "denominator": {"label": "Registrados", "source": "households"},
    "disaggregations": ["comunidad"],
}


def with_(**changes: Any) -> dict[str, Any]:
    return {**GOOD, **changes}


def test_the_shipped_definitions_load_in_display_order_with_the_kpis_the_dashboard_needs() -> None:
    catalog = load_dir()
    assert list(catalog)[:6] == [
        "cobertura_30d",
        "cobertura_90d",
        "hogares_sin_visita",
        "personas_sin_consentimiento",
        "hogares_sin_jefe",
        "participaciones",
    ]
    assert catalog["participaciones"].disaggregations == ("comunidad", "gestor", "sexo", "edad")
    assert catalog["personas_sin_consentimiento"].numerator.where == {"without_consent": "data_processing"}
    assert catalog["hogares_sin_visita"].denominator is None
    # Inicio's data-quality alerts, marked in their files.
    assert {c for c, k in catalog.items() if k.alert} == {"personas_sin_consentimiento", "hogares_sin_jefe"}


@pytest.mark.parametrize(
    ("data", "field_name", "problem"),
    [
        (with_(code="Cobertura 7"), "code", "lower case"),
        (with_(unit="ratio"), "unit", "not one of"),
        (with_(denominator=None), "denominator", "required"),
        (with_(unit="count"), "denominator", "a count has no denominator"),
        (with_(numerator={**GOOD["numerator"], "source": "actas"}), "numerator.source", "'actas' is not one of"),
        (
            with_(numerator={**GOOD["numerator"], "where": {"visited_within_days": 0}}),
            "numerator.where.visited_within_days",
            "number of days",
        ),
        (
            with_(numerator={**GOOD["numerator"], "where": {"within_days": 30}}),
            "numerator.where.within_days",
            "households has no such filter",
        ),
        (
            with_(numerator={"label": "Sin", "source": "people", "where": {"without_consent": "todo"}}),
            "numerator.where.without_consent",
            "'todo' is not one of",
        ),
        (with_(disaggregations=["gestor"]), "disaggregations", "households (numerator) has no 'gestor'"),
        (with_(disaggregations=["color"]), "disaggregations", "'color' is not one of"),
        (with_(colour="azul"), "colour", "unknown field"),
        (with_(name=" "), "name", "required text"),
        (with_(alert="si"), "alert", "true or false"),
        (with_(series_months=1), "series_months", "from 2 to 36"),
        (with_(series_months=True), "series_months", "from 2 to 36"),
        (
            with_(numerator={"label": "UP", "source": "productive_units", "where": {"active_within_days": 0}}),
            "numerator.where.active_within_days",
            "number of days",
        ),
        (
            with_(numerator={"label": "UP", "source": "productive_units", "where": {"reached_implementation": "si"}}),
            "numerator.where.reached_implementation",
            "must be true",
        ),
        (
            with_(
                numerator={"label": "UP", "source": "productive_units"},
                denominator={"label": "UP", "source": "productive_units"},
                disaggregations=["edad"],
            ),
            "disaggregations",
            "productive_units (numerator) has no 'edad'",
        ),
    ],
)
def test_a_bad_definition_names_its_file_and_field(data: dict[str, Any], field_name: str, problem: str) -> None:
    with pytest.raises(DefinitionError) as error:
        parse(data, "kpis/x.yaml")
    assert (error.value.where, error.value.field_name) == ("kpis/x.yaml", field_name)
    assert problem in error.value.problem
    assert str(error.value).startswith("kpis/x.yaml: ")


def test_a_later_module_adds_a_kpi_with_a_file_and_a_duplicate_code_or_bad_yaml_is_refused(tmp_path: Path) -> None:
    import yaml

    first = tmp_path / "a.yaml"
    first.write_text(yaml.safe_dump(GOOD), encoding="utf-8")
    assert list(load([first])) == ["cobertura_7d"]
    second = tmp_path / "b.yaml"
    second.write_text(yaml.safe_dump(GOOD), encoding="utf-8")
    with pytest.raises(DefinitionError, match="defined twice"):
        load([first, second])
    broken = tmp_path / "c.yaml"
    broken.write_text("code: [sin cerrar", encoding="utf-8")
    with pytest.raises(DefinitionError, match=r"c\.yaml: \(document\): not valid YAML"):
        load([broken])


def test_the_service_does_not_start_with_a_bad_definition(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from services.reports import bootstrap

    (tmp_path / "mala.yaml").write_text("code: mala\nname: Mala\nunit: count\n", encoding="utf-8")
    monkeypatch.setenv("REPORTS_KPI_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match=r"mala\.yaml: numerator: required"):
        bootstrap.bootstrap()


def test_upa_is_shipped_with_its_window_parts_disaggregations_and_series() -> None:
    upa = load_dir()["upa"]
    assert upa.name == "Unidades productivas activas (UPA)" and upa.unit == "percent"
    assert upa.numerator.source == "productive_units" and upa.numerator.where == {
        "reached_implementation": True,
        "active_within_days": 90,
    }
    assert upa.denominator is not None and upa.denominator.where == {"reached_implementation": True}
    assert upa.disaggregations == ("comunidad", "sector", "sexo", "tipo") and upa.series_months == 12
