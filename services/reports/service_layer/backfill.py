"""Rebuilding the projection from the owners' current records (``crm-reports-backfill``).

The consumer keeps the projection from the moment its queue exists; what happened
before (a deployment that adds this service to a running system, a projection
dropped to change its shape) is read back here, through the same idempotent steps
the events take, so running it while events flow, or twice, is harmless:

- every community, then every person of each (the beneficiaries service), then the
  household of each person with its head;
- every sealed acta, newest first (the actas service), as its ``acta_sealed``;
- every productive unit of each community (the income service), as the
  ``productive_unit_registered``, ``stage_changed`` and ``followup_recorded`` its
  record stands for (a follow-up takes its day from its acta's seal, read above).

A household nobody belongs to has no record here to be found through (the
beneficiaries service lists people, not households): it joins the projection with
its next event.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from services.reports.domain.facts import Person
from services.reports.service_layer.ports import Projection
from services.reports.service_layer.projection import ProjectionHandlers


class Records(Protocol):
    """The owners' records, read as a platform service."""

    def communities(self) -> list[tuple[str, str]]:
        """(id, name) of every community."""
        ...

    def members(self, community_id: str) -> Iterator[Person]: ...

    def household(self, family_id: str) -> tuple[str, str, str] | None:
        """(community id, name, registered on) of a household, None if unknown."""
        ...

    def sealed_actas(self) -> Iterator[dict[str, Any]]:
        """Every sealed acta as its ``acta_sealed`` payload, newest first."""
        ...

    def units(self, community_ids: list[str]) -> Iterator[list[tuple[str, dict[str, Any]]]]:
        """Every productive unit of these communities, as its income events."""
        ...


@dataclass
class Backfilled:
    communities: int = 0
    people: int = 0
    households: int = 0
    actas: int = 0
    units: int = 0
    seen_families: set[str] = field(default_factory=set, repr=False)


def backfill(store: Projection, handlers: ProjectionHandlers, records: Records) -> Backfilled:
    done = Backfilled()
    communities = records.communities()
    for community_id, name in communities:
        store.save_community(community_id, name)
        done.communities += 1
        for person in records.members(community_id):
            store.save_person(person)
            done.people += 1
            if person.family_id and person.family_id not in done.seen_families:
                done.seen_families.add(person.family_id)
                found = records.household(person.family_id)
                if found is not None:
                    store.save_household(person.family_id, *found)
                    done.households += 1
    for family_id in sorted(done.seen_families):
        store.refresh_head(family_id)
    for payload in records.sealed_actas():
        handlers.handle("actas", "acta_sealed", payload)
        done.actas += 1
    for events in records.units([c for c, _ in communities]):
        for event_type, payload in events:
            handlers.handle("income", event_type, payload)
        done.units += 1
    return done
