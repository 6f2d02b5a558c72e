"""Acta templates validate captured values against their exact version."""

from __future__ import annotations

from typing import Any

import pytest

from services.actas.domain.catalogue import CATALOGUE, by_key
from services.actas.domain.errors import FieldsInvalid, TemplateInvalid
from services.actas.domain.templates import FieldSpec, FieldType, Template

VISIT = by_key()["visita_domiciliaria@1"]
FOLLOW_UP = by_key()["seguimiento_unidad_productiva@1"]
SHA = "ab" * 32


def visit(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "fecha": "2026-11-20",
        "lugar": "Lote 12, Nuevo Roche",
        "ubicacion": {"lat": 11.0, "lon": -72.75, "accuracy_m": 8},
        "hogar": "f1a2",
        "motivo": "seguimiento",
        "situacion_encontrada": "  Hogar completo, huerta activa.  ",
        "personas_presentes": 4,
        "fotos": {"sha256": SHA},
        "firmantes": ["b1", "b2"],
    }
    values.update(overrides)
    return values


def test_valid_values_are_normalised() -> None:
    clean = VISIT.validate(visit())
    assert clean["situacion_encontrada"] == "Hogar completo, huerta activa."
    assert clean["ubicacion"] == {"lat": 11.0, "lon": -72.75, "accuracy_m": 8.0}
    assert clean["fotos"] == {"sha256": SHA, "content_type": "image/jpeg"}


def test_every_bad_field_is_named_at_once() -> None:
    with pytest.raises(FieldsInvalid) as err:
        VISIT.validate(
            visit(
                fecha="20/11/2026",
                personas_presentes="cuatro",
                motivo="fiesta",
                ubicacion={"lat": 95, "lon": 0},
                extra="?",
                firmantes=["b1", "b1"],
                hogar=None,
            )
        )
    assert set(err.value.errors) == {
        "fecha",
        "personas_presentes",
        "motivo",
        "ubicacion",
        "extra",
        "firmantes",
        "hogar",
    }
    assert "latitud fuera de rango" in err.value.errors["ubicacion"]
    assert "obligatorio" in err.value.errors["hogar"]
    assert "desconocido" in err.value.errors["extra"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("personas_presentes", 0, "al menos 1"),
        ("personas_presentes", True, "número"),
        ("personas_presentes", float("nan"), "número"),
        ("ubicacion", {"lat": 0, "lon": 181}, "longitud"),
        ("ubicacion", {"lat": 0}, "lat y lon"),
        ("fecha", "2026-02-30", "inexistente"),
        ("fotos", {"sha256": "xyz"}, "sha256"),
        ("lugar", "x" * 201, "supera 200"),
    ],
)
def test_each_type_refuses_what_it_cannot_hold(field: str, value: Any, message: str) -> None:
    with pytest.raises(FieldsInvalid) as err:
        VISIT.validate(visit(**{field: value}))
    assert message in err.value.errors[field]


def test_optional_fields_may_be_absent_and_multiple_choice_is_deduplicated_in_option_order() -> None:
    values = {
        "fecha": "2026-11-20",
        "lugar": "Vereda",
        "titular": "b9",
        "estado": "activa",
        "ventas_mes": 1_250_000,
        "aspectos_revisados": ["credito", "inventario", "credito"],
        "observaciones": "Bien",
        "firmantes": ["b9"],
    }
    assert FOLLOW_UP.validate(values)["aspectos_revisados"] == ["inventario", "credito"]
    with pytest.raises(FieldsInvalid) as err:
        FOLLOW_UP.validate({**values, "aspectos_revisados": ["magia"]})
    assert "magia" in err.value.errors["aspectos_revisados"]


def test_inconsistent_templates_are_refused() -> None:
    with pytest.raises(TemplateInvalid, match="repetido"):
        Template("x", 1, "X", (FieldSpec("a", "A", FieldType.TEXT), FieldSpec("a", "A", FieldType.TEXT)))
    with pytest.raises(TemplateInvalid, match="opciones"):
        Template("x", 1, "X", (FieldSpec("a", "A", FieldType.SINGLE_CHOICE),))
    with pytest.raises(TemplateInvalid, match="versión"):
        Template("x", 0, "X")


def test_the_seed_catalogue_has_the_programme_acta_types_each_with_signatures() -> None:
    codes = {t.code for t in CATALOGUE}
    assert codes == {
        "visita_domiciliaria",
        "capacitacion",
        "asamblea_comunitaria",
        "seguimiento_unidad_productiva",
        "orientacion_fes",
        "intervencion_psicosocial",
    }
    for template in CATALOGUE:
        assert any(f.type is FieldType.SIGNATURE_LIST and f.required for f in template.fields), template.key
