"""Productive units (UP) as the reports projection keeps them, and the UPA rule
(pure: no I/O).

A ``Unit`` is merged from the income service's events and the actas' seals, each
step commutative and idempotent, so any order of arrival and any redelivery leave
the same record:

- ``productive_unit_registered``: name, household, owners, community, sector, kind
  (the same on every redelivery);
- ``stage_changed``: one stage entry per workflow version (``stages``); the current
  stage is the highest version's, and ``implemented_on`` is the earliest day it
  entered implementación or a later stage (``IMPLEMENTED``);
- ``followup_recorded``: one follow-up per acta (operating, monthly sales);
- ``acta_sealed`` of a follow-up acta: the day that follow-up happened (the acta's
  capture day in Colombia, not the day the event arrived). A follow-up whose sealed
  acta the projection has not seen yet has no day and counts nowhere.

**The UPA rule** (``active_on``): a UP is active on day D when its latest follow-up
dated within the ``window`` days ending on D (D - window + 1 .. D, as the coverage
KPIs count days) reports it operating with monthly sales above zero. Follow-ups
after D are not seen. Same-day follow-ups are ordered by the acta's capture
instant, then by acta id. The denominator is every UP that reached implementation
by D; a UP closed afterwards stays in it (it was supported and is not active).

**Owners' sex** (the ``sexo`` disaggregation): the owners' common sex; ``mixto``
when owners of different sexes are known; ``sin_dato`` when any owner's sex is
unknown and the known ones agree. Each UP is counted in exactly one group, so the
groups add up to the total.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

FOLLOWUP_TEMPLATE = "seguimiento_unidad_productiva"
# implementación and every stage after it (crm_platform/workflow/examples/gi_unidad_productiva.yaml):
# capitalización is the alternative to implementación after approval.
IMPLEMENTED = frozenset({"implementacion", "capitalizacion", "fortalecimiento", "seguimiento", "graduada"})
UNKNOWN = "sin_dato"
MIXED = "mixto"
DEFAULT_WINDOW = 90


@dataclass(frozen=True)
class Followup:
    acta_id: str
    operating: bool
    monthly_sales: str  # COP, decimal text
    day: str | None = None  # the sealed acta's Colombian day; None until its seal is seen
    at: str = ""  # the acta's capture instant (ISO): orders follow-ups of one day

    @property
    def positive(self) -> bool:
        """Operating with sales above zero."""
        return self.operating and sales_of(self.monthly_sales) > 0

    def sort_key(self) -> tuple[str, str, str]:
        return (self.day or "", self.at, self.acta_id)


@dataclass(frozen=True)
class Unit:
    id: str
    name: str = ""
    family_id: str = ""
    owner_ids: tuple[str, ...] = ()
    community_id: str = ""
    sector: str = ""
    kind: str = ""
    registered_on: str = ""
    # version -> (stage, day entered); version 0: the stage it was registered in.
    stages: Mapping[int, tuple[str, str]] = field(default_factory=dict)
    owner_sexes: Mapping[str, str] = field(default_factory=dict)
    followups: Mapping[str, Followup] = field(default_factory=dict)

    @property
    def stage(self) -> str:
        return self.stages[max(self.stages)][0] if self.stages else ""

    @property
    def implemented_on(self) -> str | None:
        days = [day for stage, day in self.stages.values() if stage in IMPLEMENTED and day]
        return min(days) if days else None

    @property
    def sex(self) -> str:
        return sex_of(self.owner_ids, self.owner_sexes)


def sales_of(text: str) -> Decimal:
    try:
        value = Decimal(str(text or "0"))
    except InvalidOperation:
        return Decimal(0)
    return value if value.is_finite() else Decimal(0)


def sex_of(owner_ids: Iterable[str], sexes: Mapping[str, str]) -> str:
    known = {sexes.get(o) or UNKNOWN for o in owner_ids}
    if not known:
        return UNKNOWN
    definite = known - {UNKNOWN}
    if len(definite) > 1:
        return MIXED
    if UNKNOWN in known or not definite:
        return UNKNOWN
    return definite.pop()


# -- merging events (commutative, idempotent) -----------------------------------------
def registered(unit: Unit, payload: Mapping[str, Any], day: str) -> Unit:
    stages = dict(unit.stages)
    stages.setdefault(0, (str(payload.get("stage") or ""), day))
    return replace(
        unit,
        name=str(payload.get("name") or ""),
        family_id=str(payload.get("family_id") or ""),
        owner_ids=tuple(str(o) for o in payload.get("owner_ids") or []),
        community_id=str(payload.get("community_id") or ""),
        sector=str(payload.get("sector") or ""),
        kind=str(payload.get("kind") or ""),
        registered_on=day,
        stages=stages,
    )


def stage_entered(unit: Unit, version: int, stage: str, day: str) -> Unit:
    return replace(unit, stages={**unit.stages, int(version): (stage, day)})


def owners_known(unit: Unit, owner_ids: Iterable[str]) -> Unit:
    """Owners named by an event that arrived before the registration."""
    if unit.owner_ids:
        return unit
    return replace(unit, owner_ids=tuple(owner_ids))


def with_sexes(unit: Unit, sexes: Mapping[str, str]) -> Unit:
    return replace(unit, owner_sexes={**unit.owner_sexes, **sexes})


def followup_recorded(unit: Unit, acta_id: str, operating: bool, monthly_sales: str) -> Unit:
    found = unit.followups.get(acta_id)
    followup = Followup(acta_id, bool(operating), str(monthly_sales or "0"))
    if found is not None:
        followup = replace(followup, day=found.day, at=found.at)
    return replace(unit, followups={**unit.followups, acta_id: followup})


def acta_dated(unit: Unit, acta_id: str, day: str, at: str) -> Unit:
    """The day of a follow-up's sealed acta (the follow-up is recorded already)."""
    found = unit.followups.get(acta_id)
    if found is None:
        return unit
    return replace(unit, followups={**unit.followups, acta_id: replace(found, day=day, at=at)})


# -- the UPA rule ------------------------------------------------------------------------
def window_start(as_of: date, window: int) -> str:
    return (as_of - timedelta(days=window - 1)).isoformat()


def reached_implementation(unit: Unit, as_of: date) -> bool:
    day = unit.implemented_on
    return day is not None and day <= as_of.isoformat()


def evidence(followups: Iterable[Followup], as_of: date, window: int) -> Followup | None:
    """The latest dated follow-up within the window ending on ``as_of``, if any."""
    start, end = window_start(as_of, window), as_of.isoformat()
    inside = [f for f in followups if f.day and start <= f.day <= end]
    return max(inside, key=Followup.sort_key) if inside else None


def latest(followups: Iterable[Followup], as_of: date) -> Followup | None:
    """The latest dated follow-up on or before ``as_of`` (what the denominator shows)."""
    seen = [f for f in followups if f.day and f.day <= as_of.isoformat()]
    return max(seen, key=Followup.sort_key) if seen else None


def active_on(followups: Iterable[Followup], as_of: date, window: int = DEFAULT_WINDOW) -> Followup | None:
    """The follow-up that makes a UP active on ``as_of`` (its latest one in the
    window, operating with sales), or None when it is not active."""
    found = evidence(followups, as_of, window)
    return found if found is not None and found.positive else None


def is_active(unit: Unit, as_of: date, window: int = DEFAULT_WINDOW) -> bool:
    return reached_implementation(unit, as_of) and active_on(unit.followups.values(), as_of, window) is not None
