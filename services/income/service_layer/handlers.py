"""The income use cases: productive units and their stages, the Fluye plan, and
follow-ups from sealed actas. Trainings are in ``trainings.py``.

Every command reads the UP's one document, applies the domain's rules and writes
it back with its events in its outbox in one conditional write on the document's
internal revision (``rev``): nothing is half-written, and a concurrent write makes
the command start over on the fresh document (where the caller's expected version
or revision is checked again, so a stale caller gets ``Aborted``, HTTP 409)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from crm_platform import errors as vocabulary
from crm_platform.clock import Clock
from crm_platform.workflow.model import Task, Transition
from services.income.domain import units
from services.income.domain.followups import FOLLOWUP_TEMPLATE, read_followup
from services.income.domain.plan import ActionPlan, PlanStatus
from services.income.domain.plan_io import content_from_mapping
from services.income.domain.viability import ViabilityRule
from services.income.service_layer import listing
from services.income.service_layer.plans import assessment, plan_from_doc, plan_to_doc
from services.income.service_layer.ports import ActaSource, Directory, Relay, UnitDoc, UnitFilter, UnitStore
from services.income.service_layer.stage_flow import COMPONENT, UNITS, StageFlow

ATTEMPTS = 5
MAX_CARDS = 50


class UnitNotFound(vocabulary.NotFound):
    def __init__(self, unit_id: str) -> None:
        super().__init__(f"Unidad productiva no encontrada: {unit_id}")


class StaleVersion(vocabulary.Aborted):
    def __init__(self, what: str, expected: int, current: int) -> None:
        super().__init__(
            f"La {what} cambió mientras la editaba (usted vio la versión {expected}, la actual es {current}): "
            "vuelva a cargarla",
            fields={"expected_version": f"actual: {current}"},
        )


class PlanNotFound(vocabulary.NotFound):
    def __init__(self, unit_id: str) -> None:
        super().__init__(f"La unidad productiva {unit_id} no tiene plan de acción")


def _event(kind: str, payload: Mapping[str, Any], at: datetime) -> dict[str, Any]:
    return {"id": uuid.uuid4().hex, "type": kind, "payload": dict(payload), "created_at": at}


class IncomeHandlers:
    def __init__(
        self,
        store: UnitStore,
        directory: Directory,
        flow: StageFlow,
        relay: Relay,
        clock: Clock,
        rule: ViabilityRule,
        actas: ActaSource | None = None,
    ) -> None:
        self.store, self.directory, self.flow = store, directory, flow
        self.relay, self.clock, self.rule, self.actas = relay, clock, rule, actas

    # -- productive units ----------------------------------------------------------------
    def register(
        self,
        *,
        name: str,
        family_id: str,
        owner_ids: Sequence[str],
        community_id: str,
        sector: str,
        kind: str,
        by: str,
    ) -> UnitDoc:
        reg = units.registration(name, family_id, owner_ids, community_id, sector, kind)
        people = self.directory.people(reg.owner_ids)
        units.check_owners(reg, {p.beneficiary_id: p.family_id for p in people.values()})
        now = self.clock.now()
        unit_id = uuid.uuid4().hex
        # The instance first: a crash before the UP's insert leaves an instance no UP names (harmless).
        instance = self.flow.engine.start(COMPONENT, unit_id, {}, by)
        doc: UnitDoc = {
            "_id": unit_id,
            "name": reg.name,
            "family_id": reg.family_id,
            "owner_ids": list(reg.owner_ids),
            "community_id": reg.community_id,
            "sector": reg.sector,
            "kind": reg.kind,
            "stage": instance.state,
            "version": instance.version,
            "workflow": {"definition_version": instance.definition_version, "seq": instance.seq},
            "workflow_pending": [],
            "closing_reason": "",
            "history": [],
            "followups": [],
            "plans": [],
            "created_at": now,
            "created_by": by,
            "rev": 1,
        }
        payload = {k: doc[k] for k in ("name", "family_id", "owner_ids", "community_id", "sector", "kind", "stage")}
        event = _event(
            "productive_unit_registered", {"unit_id": unit_id, **payload, "occurred_at": now.isoformat(), "by": by}, now
        )
        self.store.insert(doc, [event])
        self.relay.flush(UNITS, unit_id)
        return doc

    def unit(self, unit_id: str) -> UnitDoc:
        doc = self.store.get(unit_id)
        if doc is None:
            raise UnitNotFound(unit_id)
        if self.flow.needs_repair(doc, self.clock.now()):  # an interrupted transition, or no instance yet
            self.flow.instance(doc, doc.get("created_by", "sistema"))
            return self.flow.project(unit_id)
        return doc

    def units(self, what: UnitFilter, limit: int = 100, page_token: str = "") -> tuple[list[UnitDoc], str]:
        """A page of the newest UPs matching ``what``, and the token of the next
        page ("" on the last one; ``listing``)."""
        size = listing.limit(limit)
        found = self.store.find(what, size + 1, listing.cursor(page_token))
        return found[:size], listing.token(found[size - 1]) if len(found) > size else ""

    def newest(self, what: UnitFilter, limit: int) -> list[UnitDoc]:
        """The ``limit`` newest UPs matching ``what`` (0-50: a board's cards)."""
        return self.store.find(what, min(limit, MAX_CARDS)) if limit > 0 else []

    def count(self, what: UnitFilter) -> dict[str, int]:
        """UPs matching ``what`` per stage (exact: ``adapters/unit_counts.py``)."""
        return self.store.count(what)

    def allowed_transitions(self, doc: UnitDoc) -> list[Transition]:
        return self.flow.options(doc)

    def change_stage(
        self, unit_id: str, transition: str, expected_version: int, by: str, reason: str = "", acta_id: str = ""
    ) -> UnitDoc:
        """Through the workflow engine (``stage_flow``: the instance is the truth,
        the UP document its projection)."""
        reason = units.closing_reason(reason)
        doc = self.unit(unit_id)
        if expected_version != doc["version"]:
            raise StaleVersion("unidad productiva", expected_version, doc["version"])
        return self.flow.move(doc, transition, self._facts(doc), by, reason, acta_id.strip())

    def migrate_unit(
        self, unit_id: str, to_version: int, state_map: Mapping[str, str], expected_version: int, by: str
    ) -> UnitDoc:
        doc = self.unit(unit_id)
        if expected_version != doc["version"]:
            raise StaleVersion("unidad productiva", expected_version, doc["version"])
        return self.flow.migrate(doc, to_version, state_map, by)

    def cosign(self, unit_id: str, task_id: str, by: str, role: str) -> Task:
        """Sign a co-signature task of the UP (the engine's rules: its role, four eyes)."""
        self.unit(unit_id)
        return self.flow.engine.cosign(unit_id, task_id.strip(), by, role)

    def cosign_on_approval(self, unit_id: str, by: str, role: str) -> list[Task]:
        """Approving the plan is the co-signature the UP's stage asks of the approver's
        role (the seeded definition asks coordination to approve the plan on entering
        Aprobación): sign those still open, from the same person. A request whose task
        the action runner has not created yet stays open, to be signed on its own."""
        signed = []
        for request in self.flow.engine.open_cosignatures(unit_id):
            if request.role != role:
                continue
            try:
                signed.append(self.flow.engine.cosign(unit_id, request.id, by, role))
            except (vocabulary.NotFound, vocabulary.FailedPrecondition):
                continue  # not a task yet, or the approver made the transition (four eyes)
        return signed

    def record_diagnosis(self, unit_id: str, complete: bool, notes: str, by: str) -> UnitDoc:
        """The diagnosis the ``diagnostico_completo`` guard reads."""
        notes = units.diagnosis_notes(notes)

        def record(doc: UnitDoc, now: datetime) -> list[dict[str, Any]]:
            doc["diagnosis"] = {"complete": bool(complete), "notes": notes, "by": by, "at": now}
            return []

        return self._update(unit_id, record)

    def set_capitalization(self, unit_id: str, amount: str, by: str) -> UnitDoc:
        """The capitalisation amount (COP) the ``fuentes_definidas`` guard reads."""
        value = units.capitalization_amount(amount)

        def record(doc: UnitDoc, now: datetime) -> list[dict[str, Any]]:
            doc["capitalization"] = {"amount": money_text(value), "by": by, "at": now}
            return []

        return self._update(unit_id, record)

    def _facts(self, doc: UnitDoc) -> dict[str, Any]:
        """What the stage guards read: the workflow instance's data, from the UP's facts."""
        plan: dict[str, Any] = {"version": doc.get("plan_version", 0), "aprobado": False, "viable": False}
        approved = [p for p in doc["plans"] if p["status"] == PlanStatus.APPROVED]
        if approved:
            found = assessment(plan_from_doc(doc["_id"], approved[-1]), self.rule)
            plan.update(aprobado=True, viable=bool(found and found.verdict.viable))
        amount = Decimal((doc.get("capitalization") or {}).get("amount") or "0")
        facts: dict[str, Any] = {
            "plan": plan,
            "diagnostico": {"completo": bool((doc.get("diagnosis") or {}).get("complete"))},
            "capitalizacion": {"monto": int(amount)},  # whole COP: CEL compares it with integers
        }
        if doc["followups"]:
            last = doc["followups"][-1]
            facts["seguimiento"] = {
                "operando": bool(last["operating"]),
                "ventas_mensuales": int(Decimal(str(last["monthly_sales"] or 0))),
            }
        return facts

    # -- the Fluye plan ------------------------------------------------------------------
    def plan(self, unit_id: str, version: int = 0) -> ActionPlan:
        doc = self.unit(unit_id)
        found = [p for p in doc["plans"] if not version or p["version"] == version]
        if not found:
            raise PlanNotFound(unit_id)
        return plan_from_doc(unit_id, found[-1])

    def plan_versions(self, unit_id: str) -> list[ActionPlan]:
        return [plan_from_doc(unit_id, p) for p in self.unit(unit_id)["plans"]]

    def save_plan(self, unit_id: str, content: Mapping[str, Any], expected_revision: int, by: str) -> ActionPlan:
        parsed = content_from_mapping(content)

        def save(doc: UnitDoc, now: datetime) -> list[dict[str, Any]]:
            current = _latest(doc)
            if current is None:
                if expected_revision:
                    raise StaleVersion("plan", expected_revision, 0)
                _store_plan(doc, ActionPlan.start(unit_id, parsed, by, now))
                return []
            _check_revision(current, expected_revision)
            _store_plan(doc, current.edit(parsed, by, now))
            return []

        return _latest_required(self._update(unit_id, save))

    def decide_plan(
        self, unit_id: str, decision: str, expected_revision: int, by: str, reason: str = "", role: str = ""
    ) -> ActionPlan:
        """``decision``: submit, approve or return (the domain's four-eyes rule holds).
        An approval also gives the co-signatures the UP's stage asks of ``role``
        (``cosign_on_approval``)."""

        def decide(doc: UnitDoc, now: datetime) -> list[dict[str, Any]]:
            current = _latest(doc)
            if current is None:
                raise PlanNotFound(unit_id)
            _check_revision(current, expected_revision)
            if decision == "submit":
                _store_plan(doc, current.submit(by, now))
                return []
            if decision == "return":
                _store_plan(doc, current.return_for_changes(by, now, reason))
                return []
            approved = current.approve(by, now)
            _store_plan(doc, approved)
            found = assessment(approved, self.rule)
            payload = {
                **self._people(doc),
                "plan_version": approved.version,
                "viable": bool(found and found.verdict.viable),
                "occurred_at": now.isoformat(),
                "by": by,
            }
            return [_event("action_plan_approved", payload, now)]

        plan = _latest_required(self._update(unit_id, decide))
        if decision == "approve" and role:
            self.cosign_on_approval(unit_id, by, role)
        return plan

    # -- follow-ups ------------------------------------------------------------------------
    def on_acta_sealed(self, acta_id: str, template_key: str) -> str:
        """Attach a sealed follow-up acta's values to its UP, once: a redelivered
        event finds the acta already attached and changes nothing. Returns what happened."""
        if template_key.split("@", 1)[0] != FOLLOWUP_TEMPLATE or self.actas is None:
            return "ignored"
        acta = self.actas.followup(acta_id)
        followup = read_followup(acta)
        if followup is None:
            return "ignored"  # a version 1 acta: it does not name its UP
        unit_id = followup.pop("unit_id")
        if self.store.get(unit_id) is None:
            return "unknown_unit"
        outcome = {"value": "recorded"}

        def attach(doc: UnitDoc, now: datetime) -> list[dict[str, Any]]:
            if any(f["acta_id"] == acta_id for f in doc["followups"]):
                outcome["value"] = "duplicate"
                return []
            doc["followups"].append(followup)
            payload = {
                **self._people(doc),
                "acta_id": acta_id,
                "operating": followup["operating"],
                "monthly_sales": followup["monthly_sales"],
                "jobs": followup["jobs"],
                "occurred_at": now.isoformat(),
            }
            return [_event("followup_recorded", payload, now)]

        self._update(unit_id, attach, write_if_no_events=False)
        return outcome["value"]

    # -- the one write ---------------------------------------------------------------------
    def _people(self, doc: UnitDoc) -> dict[str, Any]:
        return {
            "unit_id": doc["_id"],
            "unit_name": doc["name"],
            "family_id": doc["family_id"],
            "owner_ids": list(doc["owner_ids"]),
        }

    def _update(
        self,
        unit_id: str,
        change: Callable[[UnitDoc, datetime], list[dict[str, Any]]],
        write_if_no_events: bool = True,
    ) -> UnitDoc:
        for _ in range(ATTEMPTS):
            doc = self.unit(unit_id)
            rev = doc["rev"]
            events = change(doc, self.clock.now())
            if not events and not write_if_no_events:
                return doc
            doc["rev"] = rev + 1
            if self.store.replace(doc, rev, events):
                if events:
                    self.relay.flush(UNITS, unit_id)
                return doc
        raise vocabulary.Aborted("La unidad productiva cambia demasiado rápido: intente de nuevo")


def _latest(doc: UnitDoc) -> ActionPlan | None:
    return plan_from_doc(doc["_id"], doc["plans"][-1]) if doc["plans"] else None


def _latest_required(doc: UnitDoc) -> ActionPlan:
    found = _latest(doc)
    assert found is not None
    return found


def _check_revision(plan: ActionPlan, expected: int) -> None:
    if expected != plan.revision:
        raise StaleVersion("versión del plan", expected, plan.revision)


def _store_plan(doc: UnitDoc, plan: ActionPlan) -> None:
    stored = plan_to_doc(plan)
    if doc["plans"] and doc["plans"][-1]["version"] == plan.version:
        doc["plans"][-1] = stored
    else:
        doc["plans"].append(stored)
    doc["plan_version"], doc["plan_status"] = plan.version, str(plan.status)


def money_text(value: Decimal) -> str:
    return format(value, "f")
