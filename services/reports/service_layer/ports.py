"""What the reports use cases need from the outside: the projection store, the
directory of people (the beneficiaries service) and the value evaluator."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import date, datetime
from typing import Any, Protocol

from services.reports.domain.facts import Person, Visit
from services.reports.domain.units import Unit


class Projection(Protocol):
    """The facts the consumers keep. Every write is idempotent: replaying an event
    leaves the projection as it was."""

    def save_community(self, community_id: str, name: str) -> None: ...

    def save_household(self, family_id: str, community_id: str, name: str, registered_on: str) -> None: ...

    def person(self, person_id: str) -> Person | None: ...

    def people(self, ids: Sequence[str]) -> dict[str, Person]: ...

    def save_person(self, person: Person) -> bool:
        """Store ``person`` unless a newer version is stored; whether it was stored."""
        ...

    def refresh_head(self, family_id: str) -> None:
        """Record who heads ``family_id`` now, from the people stored."""
        ...

    def participations_of(self, person_id: str) -> list[tuple[str, str]]:
        """(participation id, day) of every participation of ``person_id``."""
        ...

    def set_participation_profile(self, participation_id: str, sex: str, age_band: str) -> None: ...

    def record_visit(self, visit: Visit) -> None:
        """The visit's participations (inserted once) and its households' visit days."""
        ...

    def unit(self, unit_id: str) -> Unit | None: ...

    def change_unit(self, unit_id: str, change: Callable[[Unit], Unit]) -> Unit:
        """Apply the pure ``change`` to the stored UP (a new one if absent), atomically."""
        ...

    def units_owned_by(self, person_id: str) -> list[str]: ...

    def units_with_followup(self, acta_id: str) -> list[str]: ...

    def save_followup_acta(self, acta_id: str, day: str, at: str) -> None: ...

    def followup_acta(self, acta_id: str) -> tuple[str, str] | None:
        """(day, capture instant) of a sealed follow-up acta, None if not seen yet."""
        ...


class Directory(Protocol):
    def person(self, person_id: str) -> Person | None:
        """The person's current state, None if there is no such person; raises
        ``crm_platform.errors.Unavailable`` when the directory does not answer."""
        ...


Counts = dict[str, int]


class Evaluator(Protocol):
    def count(self, source: str, where: Mapping[str, Any], as_of: date, by: str) -> Counts:
        """Records of ``source`` satisfying ``where`` on ``as_of``, per group of ``by``
        (one key, "", when ``by`` is empty)."""
        ...

    def records(
        self, source: str, where: Mapping[str, Any], as_of: date, by: str, key: str, after: str, limit: int
    ) -> list[dict[str, str]]:
        """A page (by id, after ``after``) of the records behind one group."""
        ...

    def series(self, source: str, where: Mapping[str, Any], days: Sequence[date]) -> list[int]:
        """The overall count on each of ``days``."""
        ...

    def reading_once(self) -> AbstractContextManager[None]:
        """A scope (one refresh) in which the evaluator may keep what it read."""
        ...

    def community_names(self) -> dict[str, str]: ...


class Snapshots(Protocol):
    def get(self, key: str) -> tuple[dict[str, Any], datetime] | None: ...

    def put(self, key: str, value: dict[str, Any], computed_at: datetime) -> None: ...
