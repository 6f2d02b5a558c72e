"""The desk form of a new acta, generated from its template's typed fields.

``fields`` describes each field for the template (the input it needs, its
options, bounds); ``read_values`` turns the submitted form back into the JSON
values the actas service validates. Parsing is lenient on purpose: what cannot be
read as the field's type is passed on as text, so the message beside the field
is the service's own (``"Personas presentes: debe ser un número"``), never a
second set of rules kept here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from crm_platform.proto_gen.crm.actas.v1 import actas_pb2 as apb

PREFIX = "v_"
# Inputs of each field type (the template partial renders one block per kind).
KINDS = {
    "text": "text",
    "number": "number",
    "date": "date",
    "single_choice": "radio",
    "multiple_choice": "checkbox",
    "beneficiary_ref": "person",
    "family_ref": "family",
    "gps_point": "gps",
    "photo": "photo",
    "signature_list": "signers",
}
LONG_TEXT = 300  # text fields allowing more than this get a textarea
# A text field with this code names a productive unit (the G.I. follow-up acta,
# ``seguimiento_unidad_productiva@2``): the form offers the community's UPs by name.
UNIT_FIELD = "unidad_productiva"


def latest_versions(templates: list[apb.Template]) -> list[apb.Template]:
    """One template per code, its newest version: a new acta is captured on it (older
    versions stay valid for actas already captured, and for kiosks not yet synced)."""
    newest: dict[str, apb.Template] = {}
    for t in templates:
        if t.code not in newest or t.version > newest[t.code].version:
            newest[t.code] = t
    return [t for t in templates if newest[t.code] is t]


@dataclass
class Field:
    code: str
    label: str
    kind: str
    required: bool
    options: list[tuple[str, str]] = field(default_factory=list)
    minimum: float | None = None
    maximum: float | None = None
    max_length: int = 0

    @property
    def name(self) -> str:
        return PREFIX + self.code

    @property
    def long(self) -> bool:
        return self.kind == "text" and self.max_length > LONG_TEXT

    @property
    def step(self) -> str:
        """The number input's step: any decimal unless both bounds are whole."""
        whole = all(b is None or float(b).is_integer() for b in (self.minimum, self.maximum))
        return "1" if whole and self.minimum is not None and self.maximum is not None else "any"


def fields(template: apb.Template) -> list[Field]:
    out = []
    for spec in template.fields:
        out.append(
            Field(
                code=spec.code,
                label=spec.label,
                kind="unit" if spec.code == UNIT_FIELD and spec.type == "text" else KINDS.get(spec.type, "text"),
                required=spec.required,
                options=list(zip(spec.options, list(spec.option_labels) or list(spec.options), strict=False)),
                minimum=spec.minimum if spec.HasField("minimum") else None,
                maximum=spec.maximum if spec.HasField("maximum") else None,
                max_length=spec.max_length,
            )
        )
    return out


def _number(text: str) -> Any:
    """An int or finite float, or the text as typed (the service names the problem)."""
    text = text.strip().replace(",", ".")
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return text
    return value if math.isfinite(value) else text


def read_values(form: FormData, specs: list[Field], photos: dict[str, dict[str, str]]) -> dict[str, Any]:
    """The template's values from a submitted form; an empty field is left out
    (a required one is then the service's "campo obligatorio")."""
    values: dict[str, Any] = {}
    for spec in specs:
        raw = str(form.get(spec.name, "") or "").strip()
        if spec.kind in ("checkbox", "signers"):
            chosen = [str(v) for v in form.getlist(spec.name) if str(v)]
            if chosen:
                values[spec.code] = chosen
        elif spec.kind == "number":
            if raw:
                values[spec.code] = _number(raw)
        elif spec.kind == "gps":
            point = {
                key: _number(str(form.get(f"{spec.name}_{suffix}", "") or ""))
                for key, suffix in (("lat", "lat"), ("lon", "lon"), ("accuracy_m", "precision"))
                if str(form.get(f"{spec.name}_{suffix}", "") or "").strip()
            }
            if point:
                values[spec.code] = point
        elif spec.kind == "photo":
            if spec.code in photos:
                values[spec.code] = photos[spec.code]
        elif raw:
            values[spec.code] = raw
    return values


def typed(form: FormData) -> dict[str, list[str]]:
    """What the user typed, to fill the form again after an error: every value
    of each name (a checkbox group has several; the template takes the first of
    the others)."""
    return {key: [v for v in form.getlist(key) if isinstance(v, str)] for key in form if key.startswith(PREFIX)}
