"""Keeping the productive units (UP) of the projection from the income service's
events and the follow-up actas' seals (``domain.units``: each merge commutes and
is idempotent, so any order and any redelivery leave the same record).

- ``productive_unit_registered``, ``stage_changed``, ``followup_recorded``: the
  UP's facts, stage entries and follow-ups; the owners' sex is read from the
  projection's people, or from the beneficiaries service (and stored) for an
  owner the projection has not seen yet;
- ``acta_sealed`` of a ``seguimiento_unidad_productiva`` acta: its capture day,
  kept by acta id and given to the follow-up it evidences (whichever of the two
  arrives first, the second finds the first: each writes its own record, then
  reads the other's);
- a person's event (``on_person``): the sex of the UPs they own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from crm_platform.access import template_code
from services.reports.domain import facts
from services.reports.domain import units as U
from services.reports.service_layer.ports import Directory, Projection

INCOME_EVENTS = ("productive_unit_registered", "stage_changed", "followup_recorded")


@dataclass
class UnitHandlers:
    store: Projection
    directory: Directory

    def handle(self, event_type: str, payload: dict[str, Any]) -> dict[str, str | int | bool]:
        unit_id = str(payload["unit_id"])
        owners = [str(o) for o in payload.get("owner_ids") or []]
        day = facts.local_day(str(payload["occurred_at"]))
        if event_type == "productive_unit_registered":
            self.store.change_unit(unit_id, lambda u: U.registered(u, payload, day))
        elif event_type == "stage_changed":
            version, stage = int(payload["version"]), str(payload["to_stage"])
            self.store.change_unit(unit_id, lambda u: U.owners_known(U.stage_entered(u, version, stage, day), owners))
        elif event_type == "followup_recorded":
            acta_id, operating, sales = str(payload["acta_id"]), bool(payload["operating"]), payload["monthly_sales"]
            self.store.change_unit(
                unit_id, lambda u: U.owners_known(U.followup_recorded(u, acta_id, operating, str(sales)), owners)
            )
            dated = self.store.followup_acta(acta_id)
            if dated is not None:
                self.store.change_unit(unit_id, lambda u: U.acta_dated(u, acta_id, *dated))
        self._sexes(unit_id, owners)
        return {"crm.reports.unit": unit_id}

    def on_followup_acta(self, payload: dict[str, Any]) -> bool:
        """An ``acta_sealed`` of a follow-up acta (corrections too: each is a sealed acta)."""
        if template_code(str(payload.get("template_key") or "")) != U.FOLLOWUP_TEMPLATE:
            return False
        acta_id, at = str(payload["acta_id"]), str(payload["captured_at"])
        day = facts.local_day(at)
        self.store.save_followup_acta(acta_id, day, at)
        for unit_id in self.store.units_with_followup(acta_id):
            self.store.change_unit(unit_id, lambda u: U.acta_dated(u, acta_id, day, at))
        return True

    def on_owner(self, person: facts.Person) -> None:
        for unit_id in self.store.units_owned_by(person.id):
            self.store.change_unit(unit_id, lambda u: U.with_sexes(u, {person.id: person.sex or U.UNKNOWN}))

    def _sexes(self, unit_id: str, owners: Iterable[str]) -> None:
        unit = self.store.unit(unit_id)
        if unit is None:
            return
        missing = [o for o in (unit.owner_ids or tuple(owners)) if o not in unit.owner_sexes]
        if not missing:
            return
        known = self.store.people(missing)
        for owner in missing:
            if owner not in known:
                person = self.directory.person(owner)
                if person is not None:
                    self.store.save_person(person)
                    known[owner] = person
        sexes = {o: (known[o].sex or U.UNKNOWN) for o in missing if o in known}
        if sexes:
            self.store.change_unit(unit_id, lambda u: U.with_sexes(u, sexes))
