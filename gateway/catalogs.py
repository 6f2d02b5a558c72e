"""The code lists of the API with their Spanish labels: published at
``GET /api/v1/catalogos`` and in the OpenAPI (each field's enum and description),
and accepted on input either as the code (``female``) or as the label people see
(``Mujer``, ``mujer``, ``MUJER``; case and accents do not matter).

The codes are the services' own vocabularies; the checks at the bottom keep the
two from drifting apart.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Query
from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from crm_platform.access import USER_ROLES
from services.actas.domain.model import FINGERS as ACTA_FINGERS
from services.actas.domain.model import MATCH_MODES
from services.beneficiaries.domain import entities
from services.beneficiaries.domain.normalise import ID_TYPE_NAMES

# Longer than any code or label: the rest is refused before it reaches a service.
MAX_CODE_LENGTH = 60


@dataclass(frozen=True)
class Entry:
    code: str
    label: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Catalog:
    name: str
    title: str
    entries: tuple[Entry, ...]

    @property
    def codes(self) -> list[str]:
        return [e.code for e in self.entries]

    def to_code(self, raw: Any) -> Any:
        """The code a code or label names; anything else unchanged (the service
        that owns the field refuses it, naming the field)."""
        if not isinstance(raw, str):
            return raw
        return self._lookup().get(fold(raw), raw)

    def _lookup(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for entry in self.entries:
            for name in (entry.code, entry.label, *entry.aliases):
                out[fold(name)] = entry.code
        return out

    def description(self) -> str:
        pairs = "; ".join(f"`{e.code}`: {e.label}" for e in self.entries)
        return (
            f"{self.title}. Códigos: {pairs}. También se acepta la etiqueta en español, sin distinguir "
            f"mayúsculas ni tildes. Lista completa en GET /api/v1/catalogos ({self.name})."
        )


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().replace("_", " ").split())


_SIDES = (("right", "derecho"), ("left", "izquierdo"))
_FINGERS = (("thumb", "pulgar"), ("index", "índice"), ("middle", "medio"), ("ring", "anular"), ("little", "meñique"))

CATALOGS: dict[str, Catalog] = {
    c.name: c
    for c in (
        Catalog(
            "sexo",
            "Sexo",
            (
                Entry("female", "Mujer", ("femenino", "f")),
                Entry("male", "Hombre", ("masculino", "m")),
                Entry("intersex", "Intersexual"),
            ),
        ),
        Catalog(
            "parentesco",
            "Parentesco con el jefe o la jefa de hogar",
            (
                Entry("head", "Jefe o jefa de hogar", ("jefe de hogar", "jefa de hogar", "jefe", "jefa")),
                Entry("spouse", "Cónyuge o compañero(a)", ("conyuge", "esposo", "esposa", "compañero", "compañera")),
                Entry("child", "Hijo(a)", ("hijo", "hija")),
                Entry("parent", "Padre o madre", ("padre", "madre")),
                Entry("sibling", "Hermano(a)", ("hermano", "hermana")),
                Entry("grandchild", "Nieto(a)", ("nieto", "nieta")),
                Entry("grandparent", "Abuelo(a)", ("abuelo", "abuela")),
                Entry("other_relative", "Otro pariente"),
                Entry("non_relative", "No pariente"),
            ),
        ),
        Catalog(
            "nivel_educativo",
            "Nivel educativo",
            (
                Entry("none", "Ninguno"),
                Entry("primary", "Primaria"),
                Entry("secondary", "Secundaria", ("bachillerato",)),
                Entry("technical", "Técnico"),
                Entry("technological", "Tecnológico"),
                Entry("university", "Universitario"),
                Entry("postgraduate", "Posgrado", ("postgrado",)),
            ),
        ),
        Catalog(
            "tipo_documento",
            "Tipo de documento de identidad",
            tuple(Entry(code, name.capitalize()) for code, name in ID_TYPE_NAMES.items()),
        ),
        Catalog(
            "consentimiento",
            "Tipo de consentimiento",
            (
                Entry("data_processing", "Tratamiento de datos"),
                Entry("biometrics", "Datos biométricos", ("biometria",)),
                Entry("notifications", "Notificaciones"),
            ),
        ),
        Catalog(
            "dedo",
            "Dedo",
            tuple(
                Entry(f"{side}_{finger}", f"{finger_es.capitalize()} {side_es}")
                for side, side_es in _SIDES
                for finger, finger_es in _FINGERS
            ),
        ),
        Catalog(
            "canal",
            "Canal de contacto",
            (
                Entry("whatsapp", "WhatsApp"),
                Entry("sms", "SMS", ("mensaje de texto",)),
                Entry("email", "Correo electrónico", ("correo",)),
            ),
        ),
        Catalog(
            "metodo_firma",
            "Cómo firma la persona",
            (
                Entry("fingerprint", "Huella", ("huella dactilar",)),
                Entry("handwritten", "Firma manuscrita", ("manuscrita",)),
                Entry("refused", "Se negó a firmar", ("se nego", "no firma")),
                Entry("electronic", "Firma electrónica del gestor", ("electronica",)),
            ),
        ),
        Catalog(
            "modo_huella",
            "Cómo se comparó la huella",
            (Entry("verify_1_1", "Verificación 1:1"), Entry("identify_1_n", "Identificación 1:N")),
        ),
        Catalog(
            "rol",
            "Rol de la cuenta",
            (
                Entry("admin", "Administrador(a)", ("administrador", "administradora")),
                Entry("coordinator", "Coordinador(a)", ("coordinador", "coordinadora")),
                Entry("gestor", "Gestor(a)", ("gestora",)),
                Entry("income_adviser", "Asesor(a) de generación de ingresos", ("asesor", "asesora", "asesor g.i.")),
                Entry("psychosocial", "Profesional psicosocial", ("psicosocial",)),
                Entry("auditor", "Auditor(a)", ("auditora",)),
            ),
        ),
        Catalog(
            "estado_acta",
            "Estado del acta",
            (Entry("draft", "Borrador"), Entry("signed", "Firmada"), Entry("sealed", "Sellada")),
        ),
    )
}


def describe(name: str) -> str:
    return CATALOGS[name].description()


def _mapper(catalog: Catalog, each: bool) -> Callable[[Any], Any]:
    if each:
        return lambda value: [catalog.to_code(v) for v in value] if isinstance(value, list) else value
    return catalog.to_code


def code(name: str, optional: bool = False, strict: bool = False) -> Any:
    """An input type: a code of catalog ``name`` or its label, turned into the code.
    ``optional``: the empty text (no value) is allowed too. ``strict``: any other
    value is refused here (400 naming the field); otherwise the service that owns
    the field judges it."""
    catalog = CATALOGS[name]
    codes: list[Any] = ([""] if optional else []) + catalog.codes
    checks: list[Any] = [BeforeValidator(_mapper(catalog, each=False))]
    if strict:
        checks.append(AfterValidator(_only(codes)))
    return Annotated[
        str,
        *checks,
        Field(max_length=MAX_CODE_LENGTH, description=catalog.description(), json_schema_extra={"enum": codes}),
    ]


def param(name: str, where: Callable[..., Any] = Query, optional: bool = True) -> Any:
    """A query (or, with ``where=Path``, path) parameter: a code of catalog
    ``name`` or its label, turned into the code."""
    catalog = CATALOGS[name]
    codes: list[Any] = ([""] if optional else []) + catalog.codes
    return Annotated[
        str,
        BeforeValidator(_mapper(catalog, each=False)),
        where(max_length=MAX_CODE_LENGTH, description=catalog.description(), json_schema_extra={"enum": codes}),
    ]


def _only(codes: list[Any]) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in codes:
            raise PydanticCustomError(
                "catalog_code", "Valor no permitido; use uno de: {codes}", {"codes": ", ".join(codes)}
            )
        return value

    return check


def codes(name: str) -> Any:
    """An input type: a list of codes (or labels) of catalog ``name``."""
    catalog = CATALOGS[name]
    return Annotated[
        list[Annotated[str, Field(max_length=MAX_CODE_LENGTH, json_schema_extra={"enum": list[Any](catalog.codes)})]],
        BeforeValidator(_mapper(catalog, each=True)),
        Field(description=catalog.description()),
    ]


# The codes are the services' vocabularies, label for label.
assert set(CATALOGS["sexo"].codes) == entities.SEXES
assert set(CATALOGS["parentesco"].codes) == entities.RELATIONSHIPS
assert set(CATALOGS["nivel_educativo"].codes) == entities.EDUCATION_LEVELS
assert set(CATALOGS["consentimiento"].codes) == entities.CONSENT_KINDS
assert set(CATALOGS["dedo"].codes) == entities.FINGERS == set(ACTA_FINGERS)
assert tuple(CATALOGS["canal"].codes) == entities.CONTACT_CHANNELS
assert set(CATALOGS["modo_huella"].codes) == MATCH_MODES
assert tuple(CATALOGS["rol"].codes) == USER_ROLES
