"""Trainings (capacitaciones) of a UP or a community: one record per session with
its attendance; compliance per person is computed on reading."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from crm_platform import errors as vocabulary
from crm_platform.clock import Clock
from services.income.domain import trainings
from services.income.service_layer.handlers import UnitNotFound
from services.income.service_layer.ports import Directory, TrainingStore, UnitStore


class TrainingHandlers:
    def __init__(self, store: TrainingStore, units: UnitStore, directory: Directory, clock: Clock) -> None:
        self.store, self.units, self.directory, self.clock = store, units, directory, clock

    def record(
        self,
        *,
        unit_id: str,
        community_id: str,
        topic: str,
        held_at: datetime | None,
        attendance: Mapping[str, bool],
        by: str,
    ) -> dict[str, Any]:
        trainings.check_training(unit_id, community_id, topic, attendance)
        if unit_id and self.units.get(unit_id) is None:
            raise UnitNotFound(unit_id)
        known = self.directory.people(list(attendance))
        unknown = sorted(set(attendance) - set(known))
        if unknown:
            raise vocabulary.InvalidArgument({"attendance": f"Persona no registrada: {', '.join(unknown)}"})
        doc = {
            "_id": uuid.uuid4().hex,
            "unit_id": unit_id,
            "community_id": community_id,
            "topic": topic.strip(),
            "held_at": held_at or self.clock.now(),
            "attendance": [{"beneficiary_id": b, "present": bool(p)} for b, p in sorted(attendance.items())],
            "recorded_by": by,
        }
        self.store.insert(doc)
        return doc

    def sessions(self, unit_id: str, community_id: str) -> tuple[list[dict[str, Any]], list[trainings.Compliance]]:
        found = self.store.find(unit_id, community_id)
        per_session = [{a["beneficiary_id"]: a["present"] for a in t["attendance"]} for t in found]
        return found, trainings.compliance(per_session)
