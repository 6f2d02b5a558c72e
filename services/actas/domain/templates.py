"""Acta templates: typed, versioned field definitions, and validation of the
values captured against the exact template version an acta was filled with."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from services.actas.domain.errors import FieldsInvalid, TemplateInvalid

_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
MAX_TEXT = 4000


class FieldType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    BENEFICIARY_REF = "beneficiary_ref"
    FAMILY_REF = "family_ref"
    GPS_POINT = "gps_point"
    PHOTO = "photo"
    SIGNATURE_LIST = "signature_list"


@dataclass(frozen=True)
class FieldSpec:
    code: str
    label: str
    type: FieldType
    required: bool = True
    options: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    max_length: int = MAX_TEXT


@dataclass(frozen=True)
class Template:
    code: str
    version: int
    title: str
    fields: tuple[FieldSpec, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        problems = []
        if not _CODE.match(self.code):
            problems.append(f"código de plantilla inválido {self.code!r}")
        if self.version < 1:
            problems.append("la versión debe ser 1 o mayor")
        seen: set[str] = set()
        for spec in self.fields:
            if not _CODE.match(spec.code):
                problems.append(f"código de campo inválido {spec.code!r}")
            if spec.code in seen:
                problems.append(f"campo repetido {spec.code!r}")
            seen.add(spec.code)
            choice = spec.type in (FieldType.SINGLE_CHOICE, FieldType.MULTIPLE_CHOICE)
            if choice and not spec.options:
                problems.append(f"el campo {spec.code!r} necesita opciones")
        if problems:
            raise TemplateInvalid("; ".join(problems))

    @property
    def key(self) -> str:
        return f"{self.code}@{self.version}"

    def validate(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The normalised values, or FieldsInvalid naming every bad field."""
        errors: dict[str, str] = {}
        specs = {s.code: s for s in self.fields}
        for unknown in sorted(set(values) - set(specs)):
            errors[unknown] = f"Campo desconocido en la plantilla {self.key}"
        non_finite = {path.partition(".")[0] for path in non_finite_numbers(values)}
        clean: dict[str, Any] = {}
        for spec in self.fields:
            raw = values.get(spec.code)
            if spec.code in non_finite:
                errors[spec.code] = f"{spec.label}: no admite NaN ni infinito; use un número finito"
                continue
            if _empty(raw):
                if spec.required:
                    errors[spec.code] = f"{spec.label}: campo obligatorio"
                continue
            try:
                clean[spec.code] = _CHECKS[spec.type](spec, raw)
            except ValueError as exc:
                errors[spec.code] = f"{spec.label}: {exc}"
        if errors:
            raise FieldsInvalid(errors)
        return clean


def non_finite_numbers(value: Any, path: str = "") -> list[str]:
    """The dotted paths (``ubicacion.lat``, ``lista.0``) of every NaN or infinite
    number in ``value``, however deeply nested: JSON and the canonical form of an
    acta have no place for them."""
    if isinstance(value, float):
        return [] if math.isfinite(value) else [path]
    if isinstance(value, Mapping):
        items: Any = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return []
    return [found for key, item in items for found in non_finite_numbers(item, f"{path}.{key}" if path else str(key))]


def _empty(raw: Any) -> bool:
    return raw is None or raw == "" or raw == [] or raw == {}


def _text(spec: FieldSpec, raw: Any) -> str:
    if not isinstance(raw, str):
        raise ValueError("debe ser texto")
    value = raw.strip()
    if len(value) > spec.max_length:
        raise ValueError(f"supera {spec.max_length} caracteres")
    return value


def _number(spec: FieldSpec, raw: Any) -> int | float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or (isinstance(raw, float) and not math.isfinite(raw)):
        raise ValueError("debe ser un número")
    if spec.minimum is not None and raw < spec.minimum:
        raise ValueError(f"debe ser al menos {spec.minimum:g}")
    if spec.maximum is not None and raw > spec.maximum:
        raise ValueError(f"debe ser como máximo {spec.maximum:g}")
    return raw


def _date(spec: FieldSpec, raw: Any) -> str:
    if not isinstance(raw, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        raise ValueError("fecha inválida; use AAAA-MM-DD")
    try:
        return date.fromisoformat(raw).isoformat()
    except ValueError:
        raise ValueError("fecha inexistente") from None


def _single(spec: FieldSpec, raw: Any) -> str:
    if raw not in spec.options:
        raise ValueError(f"opción no permitida {raw!r}; use una de: {', '.join(spec.options)}")
    return str(raw)


def _multiple(spec: FieldSpec, raw: Any) -> list[str]:
    if not isinstance(raw, list):
        raise ValueError("debe ser una lista de opciones")
    wrong = [v for v in raw if v not in spec.options]
    if wrong:
        raise ValueError(f"opciones no permitidas {wrong!r}; use: {', '.join(spec.options)}")
    return sorted(set(raw), key=spec.options.index)


def _reference(spec: FieldSpec, raw: Any) -> str:
    if not isinstance(raw, str) or not _ID.match(raw):
        raise ValueError("identificador inválido")
    return raw


def _gps(spec: FieldSpec, raw: Any) -> dict[str, float]:
    if not isinstance(raw, Mapping) or set(raw) - {"lat", "lon", "accuracy_m"} or not {"lat", "lon"} <= set(raw):
        raise ValueError("debe tener lat y lon (y opcionalmente accuracy_m)")
    point = {k: raw[k] for k in ("lat", "lon", "accuracy_m") if k in raw}
    for key, value in point.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError(f"{key} debe ser un número")
    if not -90 <= point["lat"] <= 90:
        raise ValueError("latitud fuera de rango (-90 a 90)")
    if not -180 <= point["lon"] <= 180:
        raise ValueError("longitud fuera de rango (-180 a 180)")
    if point.get("accuracy_m", 0) < 0:
        raise ValueError("la precisión no puede ser negativa")
    return {k: float(v) for k, v in point.items()}


def _photo(spec: FieldSpec, raw: Any) -> dict[str, str]:
    if not isinstance(raw, Mapping) or not _SHA256.match(str(raw.get("sha256", ""))):
        raise ValueError("debe referenciar un adjunto por su sha256")
    return {"sha256": str(raw["sha256"]), "content_type": str(raw.get("content_type", "image/jpeg"))}


def _signature_list(spec: FieldSpec, raw: Any) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(v, str) and _ID.match(v) for v in raw):
        raise ValueError("debe ser una lista de identificadores de participantes")
    if len(set(raw)) != len(raw):
        raise ValueError("hay participantes repetidos")
    return list(raw)


_CHECKS = {
    FieldType.TEXT: _text,
    FieldType.NUMBER: _number,
    FieldType.DATE: _date,
    FieldType.SINGLE_CHOICE: _single,
    FieldType.MULTIPLE_CHOICE: _multiple,
    FieldType.BENEFICIARY_REF: _reference,
    FieldType.FAMILY_REF: _reference,
    FieldType.GPS_POINT: _gps,
    FieldType.PHOTO: _photo,
    FieldType.SIGNATURE_LIST: _signature_list,
}
