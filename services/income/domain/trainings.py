"""Trainings (capacitaciones): attendance per person and compliance bands.

Compliance of a person is the share of the sessions they were called to that they
attended: at least 80 % ``cumple``, at least 50 % ``parcial``, otherwise
``no_cumple``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from crm_platform import errors as vocabulary

COMPLIES = Decimal("0.80")
PARTIAL = Decimal("0.50")
BAND_LABELS = {"cumple": "Cumple", "parcial": "Parcial", "no_cumple": "No cumple"}
MAX_TOPIC = 200


def band(attended: int, sessions: int) -> str:
    if sessions <= 0:
        return "no_cumple"
    share = Decimal(attended) / Decimal(sessions)
    if share >= COMPLIES:
        return "cumple"
    if share >= PARTIAL:
        return "parcial"
    return "no_cumple"


@dataclass(frozen=True)
class Compliance:
    beneficiary_id: str
    sessions: int
    attended: int

    @property
    def percent(self) -> Decimal:
        if self.sessions == 0:
            return Decimal(0)
        return (Decimal(100) * self.attended / self.sessions).quantize(Decimal("0.1"), ROUND_HALF_UP)

    @property
    def band(self) -> str:
        return band(self.attended, self.sessions)


def compliance(sessions: Iterable[Mapping[str, bool]]) -> list[Compliance]:
    """Per person, over the sessions they appear in (each session: person -> present)."""
    called: dict[str, int] = {}
    attended: dict[str, int] = {}
    for session in sessions:
        for person, present in session.items():
            called[person] = called.get(person, 0) + 1
            attended[person] = attended.get(person, 0) + (1 if present else 0)
    return [Compliance(p, called[p], attended[p]) for p in sorted(called)]


def check_training(unit_id: str, community_id: str, topic: str, attendance: Mapping[str, bool]) -> None:
    problems: dict[str, str] = {}
    if bool(unit_id.strip()) == bool(community_id.strip()):
        problems["unit_id"] = "Indique la unidad productiva o la comunidad (una de las dos)"
    if not topic.strip():
        problems["topic"] = "Escriba el tema de la capacitación"
    elif len(topic) > MAX_TOPIC:
        problems["topic"] = f"El tema admite hasta {MAX_TOPIC} caracteres"
    if not attendance:
        problems["attendance"] = "Registre la asistencia de al menos una persona"
    if problems:
        raise vocabulary.InvalidArgument(problems)
