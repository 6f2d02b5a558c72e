"""The workflow engine's use cases on the in-memory store: transitions with guards,
optimistic versions, history, versions and migration, actions through the outbox
(once per id, even when run twice), timers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from crm_platform.errors import InvalidArgument
from crm_platform.workflow import OVERDUE_EVENT, GuardFailed, TransitionNotAllowed, VersionConflict
from crm_platform.workflow.engine import merged
from crm_platform.workflow.examples import example
from crm_platform.workflow.model import Instance
from tests.unit.workflow_fakes import GI, T0, Rig

APPROVED = {"plan": {"version": 1, "aprobado": True, "viable": True}}


def in_aprobacion(rig: Rig, up: str = "up-1") -> Instance:
    """In Aprobación, with the coordinator's co-signature the entry asks for given."""
    engine = rig.seeded()
    engine.start(GI, up, {"diagnostico": {"completo": True}}, "gestor-1")
    engine.transition(up, "formular_plan", "gestor-1", None, 1)
    at = engine.transition(up, "enviar_aprobacion", "gestor-1", {"plan": {"version": 1}}, 2)
    rig.runner.run(up)
    engine.cosign(up, f"{up}:{at.seq}:0", "coord", "coordinator")
    return at


def to_seguimiento(rig: Rig, up: str = "up-1") -> Instance:
    at = in_aprobacion(rig, up)
    at = rig.engine.transition(up, "iniciar_implementacion", "coord", APPROVED, at.version)
    at = rig.engine.transition(up, "fortalecer", "gestor-1", None, at.version, acta_id="acta-7")
    return rig.engine.transition(up, "iniciar_seguimiento", "gestor-1", None, at.version)


def test_a_up_cannot_enter_implementacion_until_its_plan_is_approved_and_viable() -> None:
    rig = Rig()
    at = in_aprobacion(rig)
    with pytest.raises(GuardFailed) as err:
        rig.engine.transition("up-1", "iniciar_implementacion", "coord", {"plan": {"aprobado": True}}, at.version)
    assert err.value.guard == "plan_aprobado_y_viable"
    assert err.value.values == {"plan.aprobado": True, "plan.viable": None}
    assert "aprobado y sea viable" in err.value.message
    # Nothing was written: same state, same version, same data.
    stored = rig.engine.get("up-1")
    assert (stored.state, stored.version, stored.data) == ("aprobacion", at.version, at.data)


def test_a_transition_records_who_when_from_to_the_values_seen_and_the_acta() -> None:
    rig = Rig()
    at = in_aprobacion(rig)
    rig.clock.advance(timedelta(hours=2))
    moved = rig.engine.transition("up-1", "iniciar_implementacion", "coord", APPROVED, at.version)
    assert (moved.state, moved.version) == ("implementacion", at.version + 1)
    entry = rig.engine.get("up-1").history[-1]
    assert (entry.actor, entry.at, entry.from_state, entry.to_state) == (
        "coord",
        T0 + timedelta(hours=2),
        "aprobacion",
        "implementacion",
    )
    assert entry.guard_values == {"plan.aprobado": True, "plan.viable": True}
    moved = rig.engine.transition("up-1", "fortalecer", "gestor-1", None, moved.version, acta_id="acta-7")
    assert rig.engine.get("up-1").history[-1].acta_id == "acta-7"


def test_a_stale_version_is_a_conflict_and_writes_nothing() -> None:
    rig = Rig()
    at = in_aprobacion(rig)
    rig.engine.transition("up-1", "devolver_plan", "coord", None, at.version, reason="Falta el modelo financiero")
    with pytest.raises(VersionConflict):
        rig.engine.transition("up-1", "iniciar_implementacion", "coord", APPROVED, at.version)
    assert rig.engine.get("up-1").state == "formulacion_plan"


def test_a_transition_from_the_wrong_state_is_not_allowed() -> None:
    rig = Rig()
    rig.seeded().start(GI, "up-1", {}, "gestor-1")
    with pytest.raises(TransitionNotAllowed, match="Diagnóstico"):
        rig.engine.transition("up-1", "graduar", "coord", None, 1)


def test_closing_requires_a_reason_and_fortalecer_an_acta() -> None:
    rig = Rig()
    at = in_aprobacion(rig)
    with pytest.raises(InvalidArgument) as err:
        rig.engine.transition("up-1", "cerrar", "coord", None, at.version, reason="  ")
    assert set(err.value.fields) == {"reason"}
    at = rig.engine.transition("up-1", "iniciar_implementacion", "coord", APPROVED, at.version)
    with pytest.raises(InvalidArgument) as err:
        rig.engine.transition("up-1", "fortalecer", "gestor-1", None, at.version)
    assert set(err.value.fields) == {"acta_id"}
    closed = rig.engine.transition("up-1", "cerrar", "coord", None, at.version, reason="La familia se trasladó")
    assert closed.state == "cerrada" and closed.history[-1].reason == "La familia se trasladó"


def test_entering_seguimiento_creates_a_task_due_in_30_days_and_notifies_the_gestor_after_commit() -> None:
    rig = Rig()
    moved = to_seguimiento(rig)
    # Stored with the transition, not executed inline.
    assert [a.name for a in rig.store.pending_actions("up-1")][-3:] == ["create_task", "notify", "emit_event"]
    assert [t.kind for t in rig.store.tasks("up-1")] == ["cosignature"]  # only Aprobación's, run before
    rig.runner.run("up-1")
    tasks = {t.kind: t for t in rig.store.tasks("up-1")}
    follow_up = tasks["follow_up"]
    assert follow_up.id == f"up-1:{moved.seq}:0"
    assert follow_up.due_at == T0 + timedelta(days=30) and follow_up.assignee_role == "gestor"
    assert "cosignature" in tasks  # from enviar_aprobacion
    role, message = rig.notifier.sent[f"up-1:{moved.seq}:1"]
    assert role == "gestor" and "30 días" in message
    assert rig.store.pending_actions("up-1") == []


def test_actions_run_twice_still_take_effect_once_per_id(monkeypatch: pytest.MonkeyPatch) -> None:
    rig = Rig()
    to_seguimiento(rig)
    remove = rig.store.remove_actions

    def crash(*_: Any) -> None:
        raise SystemExit("killed after the handlers ran, before the outbox was cleared")

    monkeypatch.setattr(rig.store, "remove_actions", crash)
    with pytest.raises(SystemExit):
        rig.runner.run("up-1")
    monkeypatch.setattr(rig.store, "remove_actions", remove)
    assert rig.runner.run("up-1") == 5  # all five stored since Aprobación again: at least once
    assert rig.runner.run("up-1") == 0
    assert len(rig.store.tasks("up-1")) == 2  # one follow-up, one co-signature
    assert len(rig.events.published) == 3 * 2  # stage_changed of three transitions, each published twice...
    assert len(rig.events.distinct()) == 3  # ...and kept once per id by an idempotent consumer
    assert rig.notifier.calls == 2 and len(rig.notifier.sent) == 1


def test_a_failing_action_stays_for_the_sweep_and_keeps_the_order() -> None:
    rig = Rig()
    to_seguimiento(rig)

    def broken(*_: Any, **__: Any) -> None:
        raise ConnectionError("broker down")

    rig.notifier.notify = broken  # type: ignore[method-assign]
    rig.runner.run("up-1")
    assert [a.name for a in rig.store.pending_actions("up-1")] == ["notify", "emit_event"]
    rig.notifier.notify = type(rig.notifier).notify.__get__(rig.notifier)  # type: ignore[method-assign]
    assert rig.runner.sweep(rig.clock.now(), older_than=timedelta(0)) == 0  # not older than now yet
    rig.clock.advance(timedelta(seconds=10))
    assert rig.runner.sweep(rig.clock.now()) == 2
    assert rig.store.pending_actions("up-1") == []


def test_a_new_version_leaves_running_instances_on_theirs_until_migrated() -> None:
    rig = Rig()
    at = in_aprobacion(rig)
    v2 = example("gi_unidad_productiva").replace(
        "aprobacion: {label: Aprobación, due_days: 15}", "revision: {label: Revisión del comité, due_days: 10}"
    )
    v2 = v2.replace("from: aprobacion\n", "from: revision\n").replace("to: aprobacion", "to: revision")
    v2 = v2.replace(
        "from: [diagnostico, formulacion_plan, aprobacion,", "from: [diagnostico, formulacion_plan, revision,"
    )
    assert rig.engine.publish(v2, "coordinadora").version == 2
    assert rig.engine.get("up-1").definition_version == 1
    new = rig.engine.start(GI, "up-2", {}, "gestor-1")
    assert new.definition_version == 2
    # The old instance still follows version 1.
    with pytest.raises(InvalidArgument):
        rig.engine.migrate("up-1", 2, {}, "coordinadora", at.version)  # "aprobacion" is not in v2
    migrated = rig.engine.migrate("up-1", 2, {"aprobacion": "revision"}, "coordinadora", at.version)
    assert (migrated.definition_version, migrated.state) == (2, "revision")
    entry = rig.engine.get("up-1").history[-1]
    assert (entry.kind, entry.from_state, entry.to_state, entry.definition_version) == (
        "migration",
        "aprobacion",
        "revision",
        2,
    )
    assert migrated.due_at == at.entered_at + timedelta(days=10)
    moved = rig.engine.transition("up-1", "iniciar_implementacion", "coord", APPROVED, migrated.version)
    assert moved.state == "implementacion"


def test_overdue_lists_instances_past_their_due_date_and_announces_each_entry_once() -> None:
    rig = Rig()
    engine = rig.seeded()
    engine.start(GI, "up-1", {}, "gestor-1")  # diagnóstico: due in 30 days
    rig.clock.advance(timedelta(days=10))
    engine.start(GI, "up-2", {}, "gestor-1")
    rig.clock.advance(timedelta(days=25))  # up-1 is 5 days late, up-2 is not
    assert [i.id for i in engine.overdue(rig.clock.now())] == ["up-1"]
    assert engine.sweep_overdue() == ["up-1"]
    assert engine.sweep_overdue() == []  # once per state entry
    rig.runner.run("up-1")
    rig.runner.run("up-1")
    assert [(kind, p["state"]) for kind, p in rig.events.distinct().values()] == [(OVERDUE_EVENT, "diagnostico")]
    assert [i.id for i in engine.overdue(rig.clock.now())] == ["up-1"]  # still listed until it moves
    # A new state entry gets its own due date and its own announcement.
    engine.transition("up-1", "formular_plan", "gestor-1", {"diagnostico": {"completo": True}}, 1)
    rig.clock.advance(timedelta(days=46))
    assert {i.id for i in engine.overdue(rig.clock.now())} == {"up-1", "up-2"}
    assert sorted(engine.sweep_overdue()) == ["up-1", "up-2"]


def test_terminal_states_have_no_due_date() -> None:
    rig = Rig()
    rig.seeded().start(GI, "up-1", {}, "gestor-1")
    closed = rig.engine.transition("up-1", "cerrar", "coord", None, 1, reason="Desistió")
    assert closed.due_at is None


def test_data_is_merged_key_by_key() -> None:
    assert merged({"plan": {"a": 1, "b": 2}, "x": 1}, {"plan": {"b": 3}}) == {"plan": {"a": 1, "b": 3}, "x": 1}


def test_the_sweeper_announces_overdue_entries_and_runs_what_is_pending() -> None:
    from crm_platform.workflow.sweeper import WorkflowSweeper

    rig = Rig()
    rig.seeded().start(GI, "up-1", {}, "gestor-1")
    sweeper = WorkflowSweeper(rig.engine, rig.runner, rig.clock)
    assert sweeper.sweep_once() == 0
    rig.clock.advance(timedelta(days=31))
    assert sweeper.sweep_once() == 1
    assert sweeper.sweep_once() == 0
    assert [kind for kind, _ in rig.events.distinct().values()] == [OVERDUE_EVENT]
