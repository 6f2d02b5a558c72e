"""Dates as a Colombian reader reads them: "6 de diciembre de 2026", in Colombian
time (America/Bogota). Shared by the PDF of an acta and the public verification page."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

TIMEZONE = ZoneInfo("America/Bogota")
MONTHS = (
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
)


def local(moment: datetime) -> datetime:
    """``moment`` in Colombian time; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(TIMEZONE)


def spanish_date(day: date | datetime) -> str:
    """ "6 de diciembre de 2026" (a datetime is first taken to Colombian time)."""
    if isinstance(day, datetime):
        day = local(day)
    return f"{day.day} de {MONTHS[day.month - 1]} de {day.year}"


def spanish_datetime(moment: datetime) -> str:
    """ "6 de diciembre de 2026, 10:32 (hora de Colombia)"."""
    return f"{spanish_date(moment)}, {local(moment):%H:%M} (hora de Colombia)"
