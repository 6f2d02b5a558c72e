"""Normalisation and validation of values, pure functions without I/O."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

# Colombian identity documents and the shape of their numbers (after removing
# dots, spaces and dashes). CE, PA and PPT may carry letters.
ID_FORMATS: dict[str, re.Pattern[str]] = {
    "CC": re.compile(r"^[1-9]\d{5,9}$"),
    "TI": re.compile(r"^\d{10,11}$"),
    "RC": re.compile(r"^[0-9A-Z]{8,11}$"),
    "CE": re.compile(r"^[0-9A-Z]{6,10}$"),
    "PPT": re.compile(r"^\d{6,10}$"),
    "PA": re.compile(r"^[0-9A-Z]{5,12}$"),
}
ID_TYPE_NAMES = {
    "CC": "cédula de ciudadanía",
    "TI": "tarjeta de identidad",
    "RC": "registro civil",
    "CE": "cédula de extranjería",
    "PPT": "permiso por protección temporal",
    "PA": "pasaporte",
}
_ID_SEPARATORS = re.compile(r"[\s.\-]")
_SPACES = re.compile(r"\s+")
_NAME_ALLOWED = re.compile(r"^[^\W\d_]+(?:[ '\-][^\W\d_]+)*\.?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_DIGITS = re.compile(r"\D")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

MAX_NAME_LENGTH = 80
EARLIEST_BIRTH_DATE = date(1900, 1, 1)


class InvalidValue(ValueError):
    """A value that cannot be normalised; the message is shown to the user."""


def normalise_id_type(raw: str) -> str:
    value = (raw or "").strip().upper()
    if not value:
        raise InvalidValue("El tipo de documento es obligatorio")
    if value not in ID_FORMATS:
        allowed = ", ".join(ID_FORMATS)
        raise InvalidValue(f"Tipo de documento desconocido {raw!r}; use uno de: {allowed}")
    return value


def normalise_id_number(id_type: str, raw: str) -> str:
    value = _ID_SEPARATORS.sub("", (raw or "").upper())
    if not value:
        raise InvalidValue("El número de documento es obligatorio")
    if not ID_FORMATS[id_type].match(value):
        raise InvalidValue(f"Número de {ID_TYPE_NAMES[id_type]} inválido: {raw!r}")
    return value


def national_id_key(id_type: str, number: str) -> str:
    """The system-wide unique key of an identity document."""
    return f"{id_type}:{number}"


def clean_name(raw: str, field_label: str) -> str:
    value = _SPACES.sub(" ", unicodedata.normalize("NFC", raw or "")).strip()
    if not value:
        raise InvalidValue(f"{field_label} es obligatorio")
    if len(value) > MAX_NAME_LENGTH:
        raise InvalidValue(f"{field_label} supera {MAX_NAME_LENGTH} caracteres")
    if not _NAME_ALLOWED.match(value):
        raise InvalidValue(f"{field_label} contiene caracteres no permitidos")
    return value


def fold(text: str) -> str:
    """Lower-case, accent-free form used for search keys (``Peña`` -> ``pena``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", stripped.casefold()).strip()


def search_tokens(*names: str) -> list[str]:
    """Distinct folded words of a person's names, for prefix search."""
    tokens: list[str] = []
    for name in names:
        for word in re.split(r"[\s'\-]+", fold(name)):
            if word and word not in tokens:
                tokens.append(word)
    return tokens


def parse_birth_date(raw: str, today: date) -> date:
    if not raw:
        raise InvalidValue("La fecha de nacimiento es obligatoria")
    text = raw.strip()
    try:
        if not _ISO_DATE.match(text):
            raise ValueError(text)
        value = date.fromisoformat(text)
    except ValueError:
        raise InvalidValue(f"Fecha inválida {raw!r}; use el formato AAAA-MM-DD") from None
    if value > today:
        raise InvalidValue("La fecha de nacimiento no puede estar en el futuro")
    if value < EARLIEST_BIRTH_DATE:
        raise InvalidValue("La fecha de nacimiento es anterior a 1900")
    return value


def normalise_phone(raw: str, default_country: str = "57") -> str:
    """E.164 form of a phone number; Colombian numbers by default.

    ``300 123 4567`` -> ``+573001234567``; ``+1 (415) 555-0100`` -> ``+14155550100``.
    """
    text = (raw or "").strip()
    if not text:
        raise InvalidValue("El teléfono está vacío")
    international = text.startswith("+") or text.startswith("00")
    digits = _DIGITS.sub("", text)
    if text.startswith("00"):
        digits = digits[2:]
    if not international:
        if default_country == "57" and digits.startswith("57") and len(digits) == 12:
            international = True
        else:
            digits = default_country + digits
    if digits.startswith("57"):
        national = digits[2:]
        # Colombian mobiles: 3XX XXX XXXX; landlines since 2021: 60X XXX XXXX.
        if not (len(national) == 10 and (national[0] == "3" or national.startswith("60"))):
            raise InvalidValue(f"Número de teléfono colombiano inválido: {raw!r}")
    elif not 8 <= len(digits) <= 15:
        raise InvalidValue(f"Número de teléfono inválido: {raw!r}")
    return "+" + digits


def normalise_email(raw: str) -> str:
    value = (raw or "").strip().lower()
    if not _EMAIL.match(value) or len(value) > 254:
        raise InvalidValue(f"Correo electrónico inválido: {raw!r}")
    return value
