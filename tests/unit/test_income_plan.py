"""A Fluye plan's life: draft, submitted, approved or returned; an approved
version never changes, a change makes the next version."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from services.income.domain.errors import PlanInvalid, PlanStateError
from services.income.domain.plan import ActionPlan, PlanContent, PlanStatus
from tests.unit.income_builders import AT, canvas, content

LATER = AT + timedelta(hours=2)


def submitted() -> ActionPlan:
    return ActionPlan.start("up-1", content(), "gestor-ana", AT).submit("gestor-ana", AT + timedelta(hours=1))


def test_a_new_plan_is_version_one_in_draft_with_its_author() -> None:
    plan = ActionPlan.start("up-1", PlanContent(), "gestor-ana", AT)
    assert (plan.version, plan.status, plan.created_by, plan.revision) == (1, PlanStatus.DRAFT, "gestor-ana", 1)
    assert plan.approved is None


def test_an_incomplete_plan_cannot_be_submitted_and_the_missing_parts_are_named() -> None:
    plan = ActionPlan.start("up-1", content(finance=None, archetype=None), "gestor-ana", AT)
    with pytest.raises(PlanInvalid) as caught:
        plan.submit("gestor-ana", LATER)
    assert set(caught.value.fields) == {"finance", "archetype"}
    assert "Modelo financiero" in caught.value.fields["finance"]


def test_approval_records_who_and_when() -> None:
    approved = submitted().approve("coord-luis", LATER)
    assert approved.status is PlanStatus.APPROVED
    assert approved.approved is not None
    assert (approved.approved.by, approved.approved.at) == ("coord-luis", LATER)
    assert [c.to_status for c in approved.history] == [PlanStatus.DRAFT, PlanStatus.SUBMITTED, PlanStatus.APPROVED]
    assert approved.revision == 3


def test_nobody_decides_on_a_plan_they_submitted() -> None:
    with pytest.raises(PlanStateError):
        submitted().approve("gestor-ana", LATER)


def test_a_decision_cannot_predate_the_submission() -> None:
    with pytest.raises(PlanInvalid) as caught:
        submitted().approve("coord-luis", AT)
    assert "at" in caught.value.fields


def test_a_returned_plan_keeps_the_reason_and_goes_back_to_draft_when_edited() -> None:
    returned = submitted().return_for_changes("coord-luis", LATER, "  Revise los costos fijos  ")
    assert returned.status is PlanStatus.RETURNED
    assert returned.return_reason == "Revise los costos fijos"
    edited = returned.edit(content(canvas=canvas(channels=("Feria",))), "gestor-ana", LATER + timedelta(days=1))
    assert (edited.status, edited.version) == (PlanStatus.DRAFT, 1)
    assert edited.history[-2].reason == "Revise los costos fijos"
    assert edited.submit("gestor-ana", LATER + timedelta(days=2)).status is PlanStatus.SUBMITTED


def test_returning_needs_a_reason() -> None:
    with pytest.raises(PlanInvalid) as caught:
        submitted().return_for_changes("coord-luis", LATER, "   ")
    assert "reason" in caught.value.fields


def test_a_submitted_plan_cannot_be_edited_nor_resubmitted() -> None:
    plan = submitted()
    with pytest.raises(PlanStateError):
        plan.edit(content(), "gestor-ana", LATER)
    with pytest.raises(PlanStateError):
        plan.submit("gestor-ana", LATER)


def test_only_a_submitted_plan_is_decided() -> None:
    draft = ActionPlan.start("up-1", content(), "gestor-ana", AT)
    with pytest.raises(PlanStateError):
        draft.approve("coord-luis", LATER)
    approved = submitted().approve("coord-luis", LATER)
    with pytest.raises(PlanStateError):
        approved.return_for_changes("coord-maria", LATER, "otra idea")


def test_changing_an_approved_plan_makes_a_new_version_and_leaves_the_approved_one_intact() -> None:
    approved = submitted().approve("coord-luis", LATER)
    changed = content(canvas=canvas(channels=("Feria campesina",)))
    revised = approved.edit(changed, "gestor-ana", LATER + timedelta(days=30))
    assert (revised.version, revised.status, revised.based_on) == (2, PlanStatus.DRAFT, 1)
    assert revised.content.canvas is not None and revised.content.canvas.channels == ("Feria campesina",)
    assert approved.status is PlanStatus.APPROVED and approved.content == content()
    assert len(revised.history) == 1 and revised.history[0].by == "gestor-ana"


def test_every_action_needs_who_and_a_time_with_its_zone() -> None:
    with pytest.raises(PlanInvalid) as caught:
        ActionPlan.start("up-1", PlanContent(), " ", datetime(2026, 11, 20, 15, 0))
    assert set(caught.value.fields) == {"by", "at"}
    with pytest.raises(PlanInvalid):
        ActionPlan.start(" ", PlanContent(), "gestor-ana", AT)
