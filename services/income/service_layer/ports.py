"""What the income use cases need from the outside: the store of productive units
(one document per UP, with its plan versions, follow-ups and outbox, so every
command is one conditional write), the store of trainings, and the directory of
people (the beneficiaries service)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

UnitDoc = dict[str, Any]


@dataclass(frozen=True)
class UnitFilter:
    """What a list or a count of UPs asks for (an empty value: any)."""

    community_id: str = ""
    stage: str = ""
    sector: str = ""
    kind: str = ""


@dataclass(frozen=True)
class UnitCursor:
    """Where a page of the newest-first list ends: the last UP's registration time
    and id (the order is ``created_at`` then ``_id``, both descending)."""

    created_at: datetime
    unit_id: str


class UnitStore(Protocol):
    def get(self, unit_id: str) -> UnitDoc | None: ...

    def insert(self, doc: UnitDoc, events: Sequence[Mapping[str, Any]]) -> None: ...

    def replace(
        self, doc: UnitDoc, expected_rev: int, events: Sequence[Mapping[str, Any]], moved_from: str = ""
    ) -> bool:
        """Write ``doc`` and add ``events`` to its outbox, only if the stored one
        still has revision ``expected_rev``. ``moved_from``: the stage the stored
        document had (read at ``expected_rev``) when this write changes it, so the
        counts per stage move in the same write."""
        ...

    def find(self, what: UnitFilter, limit: int, after: UnitCursor | None = None) -> list[UnitDoc]:
        """The newest UPs matching ``what`` (registered after ``after`` in the list's
        order: older), at most ``limit``, without history, plans or follow-ups."""
        ...

    def count(self, what: UnitFilter) -> dict[str, int]:
        """UPs matching ``what`` per stage (stages with none may be left out)."""
        ...


class TrainingStore(Protocol):
    def insert(self, doc: Mapping[str, Any]) -> None: ...

    def find(self, unit_id: str, community_id: str) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Person:
    beneficiary_id: str
    family_id: str
    community_id: str
    sex: str = ""  # female | male | intersex | "" (not recorded)


class Directory(Protocol):
    def people(self, beneficiary_ids: Sequence[str]) -> dict[str, Person]:
        """The people that exist, by id (unknown ids are absent)."""
        ...


@dataclass(frozen=True)
class FollowUpActa:
    """What a sealed ``seguimiento_unidad_productiva`` acta says about a UP."""

    acta_id: str
    template_key: str
    values: Mapping[str, Any]
    gestor_id: str
    sealed_at: str


class ActaSource(Protocol):
    def followup(self, acta_id: str) -> FollowUpActa: ...


class Relay(Protocol):
    def flush(self, collection: str, aggregate_id: str) -> None: ...


class LoanBalances(Protocol):
    """What a UP owes on the programme's loans: the financial statements show it
    as liabilities "de créditos", apart from those the adviser types."""

    def outstanding(self, unit_id: str, on: date) -> Decimal:
        """The outstanding principal of every loan of ``unit_id`` at the end of
        day ``on``, in COP (whole pesos, never negative; 0 without loans)."""
        ...


class StatementStore(Protocol):
    """One document per UP and period (``<unit_id>/<period>``) with its ``rev``."""

    def get(self, unit_id: str, period: str) -> dict[str, Any] | None: ...

    def insert(self, doc: Mapping[str, Any]) -> bool:
        """False when the UP already has a statement of that period."""
        ...

    def replace(self, doc: Mapping[str, Any], expected_rev: int) -> bool:
        """Write ``doc`` only if the stored one still has revision ``expected_rev``."""
        ...

    def find(self, unit_id: str) -> list[dict[str, Any]]: ...
