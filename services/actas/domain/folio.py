"""Folios: the human number of a sealed acta, ``PREFIX-YYYY-NNNNNN`` (for example
``VD-2026-000123``), what a Colombian auditor cites instead of the acta's id.

One counter per template prefix and year (the year of sealing, Colombian time);
the repository increments it inside the transaction that seals the acta, so a
folio is unique (a unique index backs it), never changes once sealed, and a seal
that aborts consumes no number (the increment rolls back with it): the numbers of
a prefix and year have no gaps.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

TIMEZONE = ZoneInfo("America/Bogota")
DIGITS = 6

# Template code -> prefix. A template not listed gets the initials of its code's words.
PREFIXES: dict[str, str] = {
    "visita_domiciliaria": "VD",
    "capacitacion": "CA",
    "asamblea_comunitaria": "AC",
    "seguimiento_unidad_productiva": "UP",
    "orientacion_fes": "FES",
    "intervencion_psicosocial": "IP",
}


def prefix(template_key: str) -> str:
    code = template_key.split("@", 1)[0]
    return PREFIXES.get(code) or "".join(word[:1] for word in code.split("_") if word).upper() or "ACTA"


def year(moment: datetime) -> int:
    """The year a folio belongs to: the sealing date's, in Colombian time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(TIMEZONE).year


def counter_key(template_key: str, moment: datetime) -> str:
    """The counter a folio is drawn from, e.g. ``"VD-2026"``."""
    return f"{prefix(template_key)}-{year(moment)}"


def format_folio(counter: str, number: int) -> str:
    return f"{counter}-{number:0{DIGITS}d}"
