"""The new-acta form of the web app: fields from a template's typed fields, and
the submitted form read back into the values the actas service validates."""

from __future__ import annotations

import math

from starlette.datastructures import FormData

from crm_platform.proto_gen.crm.actas.v1 import actas_pb2 as apb
from gateway.web import acta_form


def template() -> apb.Template:
    return apb.Template(
        code="visita",
        version=1,
        key="visita@1",
        title="Visita",
        fields=[
            apb.TemplateField(code="fecha", label="Fecha", type="date", required=True),
            apb.TemplateField(code="personas", label="Personas", type="number", minimum=1, maximum=30),
            apb.TemplateField(code="horas", label="Horas", type="number", minimum=0.5, maximum=12),
            apb.TemplateField(
                code="motivo", label="Motivo", type="single_choice", options=["si", "no"], option_labels=["Sí", "No"]
            ),
            apb.TemplateField(code="ejes", label="Ejes", type="multiple_choice", options=["a", "b", "c"]),
            apb.TemplateField(code="ubicacion", label="Ubicación", type="gps_point"),
            apb.TemplateField(code="fotos", label="Fotos", type="photo"),
            apb.TemplateField(code="firmantes", label="Firmantes", type="signature_list"),
            apb.TemplateField(code="notas", label="Notas", type="text", max_length=4000),
        ],
    )


def test_each_type_gets_its_input_with_bounds_and_readable_options() -> None:
    specs = {f.code: f for f in acta_form.fields(template())}
    assert [specs[c].kind for c in ("fecha", "motivo", "ejes", "ubicacion", "fotos", "firmantes")] == [
        "date",
        "radio",
        "checkbox",
        "gps",
        "photo",
        "signers",
    ]
    assert (specs["personas"].minimum, specs["personas"].maximum, specs["personas"].step) == (1, 30, "1")
    assert specs["horas"].step == "any"  # half hours are allowed
    assert specs["motivo"].options == [("si", "Sí"), ("no", "No")]
    assert specs["notas"].long and specs["fecha"].name == "v_fecha"


def test_the_form_is_read_back_typed_and_what_cannot_be_read_goes_on_as_typed() -> None:
    specs = acta_form.fields(template())
    form = FormData(
        [
            ("v_fecha", "2026-12-05"),
            ("v_personas", "3"),
            ("v_horas", "1,5"),  # a decimal comma, as typed in Colombia
            ("v_motivo", "si"),
            ("v_ejes", "a"),
            ("v_ejes", "c"),
            ("v_ubicacion_lat", "11.5444"),
            ("v_ubicacion_lon", "-72.9"),
            ("v_ubicacion_precision", ""),
            ("v_firmantes", "p1"),
            ("v_firmantes", "p2"),
            ("v_notas", "  "),
        ]
    )
    photo = {"sha256": "a" * 64, "content_type": "image/jpeg"}
    values = acta_form.read_values(form, specs, {"fotos": photo})
    assert values == {
        "fecha": "2026-12-05",
        "personas": 3,
        "horas": 1.5,
        "motivo": "si",
        "ejes": ["a", "c"],
        "ubicacion": {"lat": 11.5444, "lon": -72.9},
        "fotos": photo,
        "firmantes": ["p1", "p2"],
    }  # blank fields are left out: the service says which are required
    odd = acta_form.read_values(FormData([("v_personas", "tres"), ("v_horas", "inf")]), specs, {})
    assert odd == {"personas": "tres", "horas": "inf"}  # the service's "debe ser un número"
    assert not any(isinstance(v, float) and not math.isfinite(v) for v in odd.values())


def test_what_was_typed_is_kept_by_name_with_every_value_of_a_group() -> None:
    form = FormData([("csrf", "x"), ("v_ejes", "a"), ("v_ejes", "b"), ("v_fecha", "2026-12-05")])
    assert acta_form.typed(form) == {"v_ejes": ["a", "b"], "v_fecha": ["2026-12-05"]}
