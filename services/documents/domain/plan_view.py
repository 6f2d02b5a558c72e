"""What the PDF of an action plan takes: one approved version of a productive
unit's Fluye plan with the names it shows instead of ids.

The plan's content is the income domain's own value (``PlanContent``: the six
parts, each optional so a plan missing one still renders); the viability verdict
is the income service's (its rule is configured there), as check messages. Every
string may come from user input: the renderer draws it as plain text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.income.domain.plan import PlanContent


@dataclass(frozen=True)
class VerdictView:
    viable: bool
    label: str  # "Viable" or "No viable"
    checks: tuple[tuple[bool, str], ...]  # (passed, the Spanish sentence that says so)


@dataclass(frozen=True)
class PlanView:
    unit_id: str
    unit_name: str
    household: str  # the household's name (its id when unknown)
    owners: tuple[str, ...]  # the owners' names
    community: str
    sector: str  # the sector's label
    kind: str  # "Emprendimiento" or "Fortalecimiento"
    version: int
    status: str  # "approved" for every document this service stores
    approved_by: str
    approved_at: datetime | None
    content: PlanContent
    verdict: VerdictView | None = None  # None without a financial model
    based_on: int = 0  # the approved version this one revises (0: none)


def plan_document_id(unit_id: str, version: int) -> str:
    """The id of the record of one plan version's PDF."""
    return f"{unit_id}:v{version}"


def parse_plan_document_id(document_id: str) -> tuple[str, int]:
    unit_id, _, version = document_id.rpartition(":v")
    if not unit_id or not version.isdigit():
        raise ValueError(f"not a plan document id: {document_id!r}")
    return unit_id, int(version)


def plan_object_key(unit_id: str, version: int) -> str:
    return f"planes/{unit_id}/v{version}.pdf"
