"""The income service process: ``crm-income``.

- serves gRPC (``IncomeService``): productive units and their stages, the Fluye
  plan, trainings, financial statements (``entrypoints/statements.py``) and
  microcredits (``LoansService``, ``entrypoints/loans.py``). Its errors are the
  platform's vocabulary, translated by the server's interceptor;
- consumes ``actas.acta_sealed`` (queue ``income.acta_sealed``) and attaches the
  values of sealed follow-up actas to their UP, idempotently;
- sweeps the outbox (``productive_unit_registered``, ``stage_changed``,
  ``action_plan_approved``, ``followup_recorded``, ``workflow_overdue``);
- closes the business day of the loan portfolio once a day (``App.close_yesterday``);
- runs the workflow engine's sweeper (overdue announcements, pending actions)
  and the repair of interrupted stage projections (``App.background``);
- publishes the seeded G.I. definition at start when absent or changed.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC
from typing import Any

import grpc

from crm_platform import errors as vocabulary
from crm_platform.grpc_support import current_caller
from crm_platform.outbox import OutboxSweeper
from crm_platform.proto_gen.crm.income.v1 import income_pb2 as pb
from crm_platform.proto_gen.crm.income.v1 import income_pb2_grpc as pb_grpc
from crm_platform.service import GrpcEndpoint, Servicer, Subscription, run_service
from services.income.access import ACCESS
from services.income.bootstrap import SERVICE_NAME, App, bootstrap
from services.income.domain.stages import STAGE_LABELS
from services.income.domain.units import sectors
from services.income.entrypoints import loans as loan_servicer
from services.income.entrypoints.mapping import plan_message, unit_message
from services.income.entrypoints.mapping_workflow import definition_message, overdue_message, task_message
from services.income.entrypoints.statements import StatementsServicer
from services.income.service_layer.plans import assessment
from services.income.service_layer.ports import UnitFilter

SERVICE_FULL_NAME = pb.DESCRIPTOR.services_by_name["IncomeService"].full_name
DECISIONS = {"SubmitPlan": "submit", "ApprovePlan": "approve", "ReturnPlan": "return"}


def _content(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text or "{}")
    except ValueError:
        raise vocabulary.InvalidArgument({"content": "El plan no es JSON válido"}) from None
    if not isinstance(data, dict):
        raise vocabulary.InvalidArgument({"content": "El plan debe ser un objeto con sus partes"})
    return data


class IncomeServicer(StatementsServicer, pb_grpc.IncomeServiceServicer):
    def __init__(self, app: App) -> None:
        self.h, self.t, self.admin = app.handlers, app.trainings, app.admin
        self.statements = app.statements

    def _unit(self, doc: dict[str, Any]) -> pb.ProductiveUnit:
        return unit_message(doc, self.h.allowed_transitions(doc))

    def _plan(self, plan: Any) -> pb.ActionPlan:
        return plan_message(plan, assessment(plan, self.h.rule))

    def ListSectors(self, request: pb.ListSectorsRequest, context: grpc.ServicerContext) -> pb.ListSectorsResponse:
        return pb.ListSectorsResponse(sectors=[pb.Sector(code=c, label=label) for c, label in sectors().items()])

    def RegisterUnit(self, request: pb.RegisterUnitRequest, context: grpc.ServicerContext) -> pb.ProductiveUnit:
        by, _ = current_caller()
        doc = self.h.register(
            name=request.name,
            family_id=request.family_id,
            owner_ids=list(request.owner_ids),
            community_id=request.community_id,
            sector=request.sector,
            kind=request.kind,
            by=by,
        )
        return self._unit(doc)

    def GetUnit(self, request: pb.GetUnitRequest, context: grpc.ServicerContext) -> pb.ProductiveUnit:
        return self._unit(self.h.unit(request.id))

    def ListUnits(self, request: pb.ListUnitsRequest, context: grpc.ServicerContext) -> pb.ListUnitsResponse:
        what = UnitFilter(request.community_id, request.stage, request.sector, request.kind)
        found, next_page = self.h.units(what, request.limit, request.page_token)
        return pb.ListUnitsResponse(units=[self._unit(d) for d in found], next_page_token=next_page)

    def CountUnits(self, request: pb.CountUnitsRequest, context: grpc.ServicerContext) -> pb.CountUnitsResponse:
        what = UnitFilter(request.community_id, request.stage, request.sector, request.kind)
        counted = self.h.count(what)
        stages = [request.stage] if request.stage else [*STAGE_LABELS, *sorted(set(counted) - set(STAGE_LABELS))]
        reply = pb.CountUnitsResponse(total=sum(counted.values()))
        for stage in stages:
            found = self.h.newest(replace(what, stage=stage), request.newest) if counted.get(stage) else []
            reply.stages.append(pb.StageCount(stage=stage, count=counted.get(stage, 0), units=map(self._unit, found)))
        return reply

    def ChangeStage(self, request: pb.ChangeStageRequest, context: grpc.ServicerContext) -> pb.ProductiveUnit:
        by, _ = current_caller()
        doc = self.h.change_stage(
            request.unit_id, request.transition, request.expected_version, by, request.reason, request.acta_id
        )
        return self._unit(doc)

    def GetPlan(self, request: pb.GetPlanRequest, context: grpc.ServicerContext) -> pb.ActionPlan:
        return self._plan(self.h.plan(request.unit_id, request.version))

    def ListPlanVersions(
        self, request: pb.GetPlanRequest, context: grpc.ServicerContext
    ) -> pb.ListPlanVersionsResponse:
        return pb.ListPlanVersionsResponse(plans=[self._plan(p) for p in self.h.plan_versions(request.unit_id)])

    def SavePlan(self, request: pb.SavePlanRequest, context: grpc.ServicerContext) -> pb.ActionPlan:
        by, _ = current_caller()
        content = _content(request.content_json)
        return self._plan(self.h.save_plan(request.unit_id, content, request.expected_revision, by))

    def _decide(self, operation: str, request: pb.PlanDecisionRequest) -> pb.ActionPlan:
        by, role = current_caller()
        decision = DECISIONS[operation]
        plan = self.h.decide_plan(request.unit_id, decision, request.expected_revision, by, request.reason, role)
        return self._plan(plan)

    def SubmitPlan(self, request: pb.PlanDecisionRequest, context: grpc.ServicerContext) -> pb.ActionPlan:
        return self._decide("SubmitPlan", request)

    def ApprovePlan(self, request: pb.PlanDecisionRequest, context: grpc.ServicerContext) -> pb.ActionPlan:
        return self._decide("ApprovePlan", request)

    def ReturnPlan(self, request: pb.PlanDecisionRequest, context: grpc.ServicerContext) -> pb.ActionPlan:
        return self._decide("ReturnPlan", request)

    def RecordTraining(self, request: pb.RecordTrainingRequest, context: grpc.ServicerContext) -> pb.Training:
        by, _ = current_caller()
        held_at = request.held_at.ToDatetime(tzinfo=UTC) if request.HasField("held_at") else None
        doc = self.t.record(
            unit_id=request.unit_id,
            community_id=request.community_id,
            topic=request.topic,
            held_at=held_at,
            attendance={a.beneficiary_id: a.present for a in request.attendance},
            by=by,
        )
        return _training(doc)

    def ListTrainings(
        self, request: pb.ListTrainingsRequest, context: grpc.ServicerContext
    ) -> pb.ListTrainingsResponse:
        if bool(request.unit_id) == bool(request.community_id):
            raise vocabulary.InvalidArgument(
                {"unit_id": "Indique la unidad productiva o la comunidad (una de las dos)"}
            )
        found, compliance = self.t.sessions(request.unit_id, request.community_id)
        return pb.ListTrainingsResponse(
            trainings=[_training(d) for d in found],
            compliance=[
                pb.Compliance(
                    beneficiary_id=c.beneficiary_id,
                    sessions=c.sessions,
                    attended=c.attended,
                    percent=format(c.percent, "f"),
                    band=c.band,
                )
                for c in compliance
            ],
        )

    # -- the workflow's facts, definitions and upkeep ----------------------------------------
    def RecordDiagnosis(self, request: pb.RecordDiagnosisRequest, context: grpc.ServicerContext) -> pb.ProductiveUnit:
        by, _ = current_caller()
        return self._unit(self.h.record_diagnosis(request.unit_id, request.complete, request.notes, by))

    def SetCapitalization(
        self, request: pb.SetCapitalizationRequest, context: grpc.ServicerContext
    ) -> pb.ProductiveUnit:
        by, _ = current_caller()
        return self._unit(self.h.set_capitalization(request.unit_id, request.amount, by))

    def ListDefinitions(
        self, request: pb.ListDefinitionsRequest, context: grpc.ServicerContext
    ) -> pb.ListDefinitionsResponse:
        return pb.ListDefinitionsResponse(definitions=[definition_message(d) for d in self.admin.definitions()])

    def GetDefinition(self, request: pb.GetDefinitionRequest, context: grpc.ServicerContext) -> pb.WorkflowDefinition:
        return definition_message(self.admin.definition(request.component, request.version))

    def CheckDefinition(self, request: pb.DefinitionSource, context: grpc.ServicerContext) -> pb.WorkflowDefinition:
        return definition_message(self.admin.check(request.yaml))

    def PublishDefinition(self, request: pb.DefinitionSource, context: grpc.ServicerContext) -> pb.WorkflowDefinition:
        by, _ = current_caller()
        return definition_message(self.admin.publish(request.yaml, by))

    def MigrateUnit(self, request: pb.MigrateUnitRequest, context: grpc.ServicerContext) -> pb.ProductiveUnit:
        by, _ = current_caller()
        doc = self.h.migrate_unit(
            request.unit_id, request.to_version, dict(request.state_map), request.expected_version, by
        )
        return self._unit(doc)

    def ListOverdue(self, request: pb.ListOverdueRequest, context: grpc.ServicerContext) -> pb.ListOverdueResponse:
        found = self.admin.overdue(self.h.clock.now(), request.limit)
        names = {i.id: (self.h.store.get(i.id) or {}).get("name", "") for i in found}
        return pb.ListOverdueResponse(instances=[overdue_message(i, names) for i in found])

    def ListTasks(self, request: pb.ListTasksRequest, context: grpc.ServicerContext) -> pb.ListTasksResponse:
        return pb.ListTasksResponse(tasks=[task_message(t) for t in self.admin.tasks(self.h.unit(request.unit_id))])

    def CosignTask(self, request: pb.CosignTaskRequest, context: grpc.ServicerContext) -> pb.WorkflowTask:
        by, role = current_caller()
        return task_message(self.h.cosign(request.unit_id, request.task_id, by, role))


def _training(doc: dict[str, Any]) -> pb.Training:
    message = pb.Training(
        id=doc["_id"],
        unit_id=doc["unit_id"],
        community_id=doc["community_id"],
        topic=doc["topic"],
        attendance=[pb.Attendance(**a) for a in doc["attendance"]],
        recorded_by=doc["recorded_by"],
    )
    message.held_at.FromDatetime(doc["held_at"])
    return message


def endpoint(app: App) -> GrpcEndpoint:
    servicer = Servicer(IncomeServicer(app), pb_grpc.add_IncomeServiceServicer_to_server, SERVICE_FULL_NAME, ACCESS)
    loans = loan_servicer.servicer(app.loans, app.closing)
    return GrpcEndpoint("INCOME_GRPC_PORT", 50056, [servicer, loans], max_workers=8)


def subscription(app: App) -> Subscription:
    handle = app.handlers.on_acta_sealed
    return Subscription(
        "actas",
        "acta_sealed",
        "acta_id",
        lambda e: {"crm.income.followup": handle(e["acta_id"], str(e.get("template_key", "")))},
    )


def main() -> None:
    run_service(
        SERVICE_NAME,
        bootstrap,
        grpc=endpoint,
        background=lambda app: [OutboxSweeper(app.relay), *app.background()],
        subscription=subscription,
    )


if __name__ == "__main__":
    main()
