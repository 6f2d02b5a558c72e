"""A productive unit's stage runs on the shared workflow engine: one instance per
UP (instance id = UP id) on the published ``gi.unidad_productiva`` definition.

Which write is the truth. The engine's instance is the single source of the
stage: a transition is the engine's one conditional write (state, guard values,
history entry and actions together). The UP document holds a *projection* of it
(``stage``, ``version`` = the instance's version, ``history``, ``workflow``: the
definition version and the last history number applied) so lists and boards
read one collection, plus the ``stage_changed`` event, stored in the same write
as the projected stage. A transaction across the two collections was not chosen:
the engine (shared kit code) commits a transition as its own one conditional
write, and the projection can always be rebuilt from the instance. (The counts
per stage, which cannot be rebuilt from one document, do move in a transaction
with the projection write: ``adapters/unit_counts.py``.)

Why three writes and not two. Without the marker nothing durable would say that
a projection is owed after a crash between 2 and 3: the UP would look settled.
The one other place written atomically with the transition is the engine's own
outbox (a "project" action, which the sweeper would replay), but the runner then
clears it in one more instance write: the same count, plus a dependency of the
engine on the projection. ``benchmarks/bench_workflow.py`` measures the cost.

Nothing is half-written, even after a crash:
1. before calling the engine, the UP gets a pending marker (``workflow_pending``,
   a token and its time), in a conditional write;
2. the engine transitions (or refuses: a guard, a stale version);
3. the projection applies every history entry newer than the one it has, and
   removes the token, in one conditional write on the document's revision (with
   the counts per stage moved in the same transaction when the stage changes:
   ``adapters/unit_counts.py``).
A crash between 2 and 3 leaves the token: reading the UP, or the periodic
``repair`` (in crm-income), re-projects it from the instance once the token is
older than ``SETTLE`` (longer than any engine call may take). Projections are
idempotent (by history number) and never go backwards. A stale caller gets
``Aborted`` (409) from either side: the UP's version check, or the engine's.

The instance data the guards read is rebuilt from the UP's facts at each
transition (``facts``): plan (version, aprobado, viable), diagnostico (completo),
capitalizacion (monto, whole COP), seguimiento (operando, ventas_mensuales).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from crm_platform import errors as vocabulary
from crm_platform.clock import Clock
from crm_platform.workflow import errors as flow_errors
from crm_platform.workflow.engine import WorkflowEngine
from crm_platform.workflow.model import Instance, Transition
from services.income.domain.stages import STAGE_LABELS, GuardFailed
from services.income.service_layer.ports import Relay, UnitDoc, UnitStore

COMPONENT = "gi.unidad_productiva"
UNITS = "units"
SETTLE = timedelta(seconds=30)
ATTEMPTS = 5


class StageFlow:
    def __init__(self, engine: WorkflowEngine, store: UnitStore, relay: Relay, clock: Clock) -> None:
        self.engine, self.store, self.relay, self.clock = engine, store, relay, clock

    # -- reading ---------------------------------------------------------------------------
    def allowed(self, doc: UnitDoc) -> list[str]:
        return [t.name for t in self.options(doc)]

    def options(self, doc: UnitDoc) -> list[Transition]:
        """The transitions leaving the UP's stage in the definition it runs on."""
        version = (doc.get("workflow") or {}).get("definition_version")
        try:
            definition = self.engine.definition(COMPONENT, version)
        except flow_errors.DefinitionNotFound:
            return []
        return list(definition.available(doc["stage"]))

    def needs_repair(self, doc: UnitDoc, now: datetime) -> bool:
        """No instance yet, or a marker older than ``SETTLE`` (an interrupted transition)."""
        pending = doc.get("workflow_pending") or []
        return "workflow" not in doc or any(p["at"] < now - SETTLE for p in pending)

    def instance(self, doc: UnitDoc, by: str) -> Instance:
        """The UP's instance; started (in the UP's stage) if it has none yet."""
        try:
            return self.engine.get(doc["_id"])
        except flow_errors.InstanceNotFound:
            pass
        try:
            started = self.engine.start(COMPONENT, doc["_id"], {}, by)
        except vocabulary.AlreadyExists:
            return self.engine.get(doc["_id"])
        if doc["stage"] != started.state:  # a UP older than the engine: put it where it is
            return self.engine.migrate(
                doc["_id"], started.definition_version, {started.state: doc["stage"]}, by, started.version
            )
        return started

    # -- writing ---------------------------------------------------------------------------
    def move(
        self, doc: UnitDoc, transition: str, facts: Mapping[str, Any], by: str, reason: str, acta_id: str
    ) -> UnitDoc:
        """Steps 1-3 of the module's contract; returns the projected document."""
        self.instance(doc, by)
        token = uuid.uuid4().hex
        self._mark(doc["_id"], token)
        try:
            self.engine.transition(doc["_id"], transition, by, dict(facts), doc["version"], reason, acta_id)
        except flow_errors.GuardFailed as exc:
            raise GuardFailed(exc.guard, exc.message, exc.values) from None
        except flow_errors.VersionConflict:
            raise self._stale(doc) from None
        finally:
            projected = self.project(doc["_id"], token)
        return projected

    def migrate(self, doc: UnitDoc, to_version: int, state_map: Mapping[str, str], by: str) -> UnitDoc:
        """Move the UP's instance to another version of its definition (a coordinator's decision)."""
        self.instance(doc, by)
        self.engine.definition(COMPONENT, to_version)  # an unknown version: NotFound, before any write
        token = uuid.uuid4().hex
        self._mark(doc["_id"], token)
        try:
            self.engine.migrate(doc["_id"], to_version, state_map, by, doc["version"])
        except flow_errors.VersionConflict:
            raise self._stale(doc) from None
        finally:
            projected = self.project(doc["_id"], token)
        return projected

    def _stale(self, doc: UnitDoc) -> vocabulary.Aborted:
        current = self.engine.get(doc["_id"]).version
        return vocabulary.Aborted(
            f"La unidad productiva cambió mientras la editaba (usted vio la versión {doc['version']}, "
            f"la actual es {current}): vuelva a cargarla",
            fields={"expected_version": f"actual: {current}"},
        )

    def project(self, unit_id: str, token: str = "") -> UnitDoc:
        """Apply the instance's newer history to the UP document (see the contract)."""
        for _ in range(ATTEMPTS):
            instance = self.engine.get(unit_id)
            read_at = self.clock.now()
            doc = self.store.get(unit_id)
            if doc is None:
                raise vocabulary.NotFound(f"Unidad productiva no encontrada: {unit_id}")
            rev, applied, stored_stage = doc["rev"], (doc.get("workflow") or {}).get("seq", -1), doc["stage"]
            pending = doc.get("workflow_pending") or []
            kept = [p for p in pending if p["token"] != token and p["at"] >= read_at - SETTLE]
            newer = [h for h in instance.history if h.seq > applied and h.kind != "start"]
            if not newer and len(kept) == len(pending) and applied >= instance.seq:
                return doc
            events = []
            for entry in newer:
                events.append(self._apply(doc, entry, instance))
            if instance.seq > applied:
                doc["stage"], doc["version"] = instance.state, instance.version
                doc["workflow"] = {"definition_version": instance.definition_version, "seq": instance.seq}
            doc["workflow_pending"], doc["rev"] = kept, rev + 1
            if self.store.replace(doc, rev, events, moved_from=stored_stage):
                if events:
                    self.relay.flush(UNITS, unit_id)
                return doc
        raise vocabulary.Aborted("La unidad productiva cambia demasiado rápido: intente de nuevo")

    def _apply(self, doc: UnitDoc, entry: Any, instance: Instance) -> dict[str, Any]:
        reason, acta_id = entry.reason or "", entry.acta_id or ""
        transition = entry.transition or entry.kind
        if entry.to_state == "cerrada":
            doc["closing_reason"] = reason
        doc["history"].append(
            {"transition": transition, "from_stage": entry.from_state or "", "to_stage": entry.to_state,
             "by": entry.actor, "at": entry.at, "reason": reason, "acta_id": acta_id}
        )  # fmt: skip
        payload = {
            "unit_id": doc["_id"], "unit_name": doc["name"], "family_id": doc["family_id"],
            "owner_ids": list(doc["owner_ids"]), "transition": transition, "from_stage": entry.from_state or "",
            "to_stage": entry.to_state, "to_stage_label": STAGE_LABELS.get(entry.to_state, entry.to_state),
            "version": entry.seq + 1, "reason": reason, "occurred_at": entry.at.isoformat(), "by": entry.actor,
        }  # fmt: skip
        return {"id": f"{doc['_id']}:{entry.seq}:stage_changed", "type": "stage_changed", "payload": payload,
                "created_at": self.clock.now()}  # fmt: skip

    def _mark(self, unit_id: str, token: str) -> None:
        for _ in range(ATTEMPTS):
            doc = self.store.get(unit_id)
            if doc is None:
                raise vocabulary.NotFound(f"Unidad productiva no encontrada: {unit_id}")
            rev = doc["rev"]
            doc["workflow_pending"] = [*(doc.get("workflow_pending") or []), {"token": token, "at": self.clock.now()}]
            doc["rev"] = rev + 1
            if self.store.replace(doc, rev, []):
                return
        raise vocabulary.Aborted("La unidad productiva cambia demasiado rápido: intente de nuevo")
