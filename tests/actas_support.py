"""Stand-ins for the actas service's ports that are outside the unit under test:
the beneficiaries directory (another service) and the event relay."""

from __future__ import annotations

from collections.abc import Sequence

from services.actas.service_layer.ports import Person


class FakeDirectory:
    """The beneficiaries service as a dict of known people and households."""

    def __init__(self, people: Sequence[Person] = (), families: Sequence[str] = ()) -> None:
        self.people_by_id = {p.beneficiary_id: p for p in people}
        self.families = set(families) | {p.family_id for p in people if p.family_id}

    def people(self, beneficiary_ids: Sequence[str], fresh: bool = True) -> dict[str, Person]:
        return {i: self.people_by_id[i] for i in beneficiary_ids if i in self.people_by_id}

    def family_name(self, family_id: str) -> str | None:
        return f"Hogar {family_id}" if family_id in self.families else None

    def community_name(self, community_id: str) -> str:
        return f"Comunidad {community_id}" if community_id else ""


class RecordingRelay:
    def __init__(self) -> None:
        self.flushed: list[tuple[str, str]] = []

    def flush(self, collection: str, aggregate_id: str) -> None:
        self.flushed.append((collection, aggregate_id))


def person(n: int, family_id: str = "fam1", enrolled: dict[str, str] | None = None) -> Person:
    return Person(f"p{n}", family_id, "com1", f"Persona {n}", f"CC {1000 + n}", enrolled or {})


def visit(signers: list[str], family_id: str = "fam1", **overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "fecha": "2026-11-20",
        "lugar": "Nuevo Roche",
        "hogar": family_id,
        "motivo": "seguimiento",
        "situacion_encontrada": "Sin novedad",
        "personas_presentes": 2,
        "firmantes": signers,
    }
    values.update(overrides)
    return values
