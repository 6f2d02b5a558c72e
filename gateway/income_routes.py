"""HTTP routes of income generation: productive units (unidades productivas), their
stages, their Fluye action plan and trainings (capacitaciones).

The service owns every rule; a route checks the role against the service's access
table, shapes the request and the reply. A stage change that a guard refuses and a
stale version are 409 naming the guard or the version; bad input is 400 naming
each field."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import FastAPI, Query
from google.protobuf.timestamp_pb2 import Timestamp

from crm_platform.proto_gen.crm.documents.v1 import documents_pb2 as dpb
from crm_platform.proto_gen.crm.income.v1 import income_pb2 as pb
from gateway import auth, schemas
from gateway import responses as R
from gateway import responses_income as RI
from gateway import schemas_income as S
from gateway.deps import Backend, User, to_json
from services.documents.access import ACCESS as DOCUMENTS
from services.income.access import ACCESS as INCOME

API = "/api/v1"
UNITS = f"{API}/unidades-productivas"
TAGS: list[str | Any] = ["income"]
# A plan's version number (0: the latest).
PlanVersion = Annotated[int, Query(ge=0, le=10_000)]
Filter = Annotated[str, Query(max_length=64)]
PageToken = Annotated[str, Query(max_length=200, description="El next_page_token de la página anterior")]
# An approved plan version whose PDF is asked for.
ApprovedVersion = Annotated[int, Query(ge=1, le=10_000, description="La versión aprobada del plan")]


def plan_json(message: pb.ActionPlan) -> dict[str, Any]:
    data = to_json(message)
    data["content"] = json.loads(data.pop("content_json") or "{}")
    return data


def register(app: FastAPI, backend: Backend) -> None:
    I = backend.income  # noqa: E741 - one letter per service stub, as in the other routes

    @app.get(f"{UNITS}/sectores", tags=TAGS, response_model=RI.SectorsOut, responses=R.LIST)
    def sectors(user: User) -> dict[str, Any]:
        """The sector catalogue a UP is registered under."""
        auth.require(user, INCOME, "ListSectors")
        return to_json(backend.call(I.ListSectors, pb.ListSectorsRequest(), user))

    @app.post(UNITS, status_code=201, tags=TAGS, response_model=RI.UnitOut, responses=R.WRITE)
    def register_unit(body: S.UnitIn, user: User) -> dict[str, Any]:
        """Registers a UP in the first stage (diagnóstico); its owners must belong to its household."""
        auth.require(user, INCOME, "RegisterUnit")
        request = pb.RegisterUnitRequest(**body.model_dump())
        return to_json(backend.call(I.RegisterUnit, request, user))

    @app.get(f"{UNITS}/conteos", tags=TAGS, response_model=RI.UnitCountsOut, responses=R.QUERY)
    def unit_counts(
        user: User,
        community_id: Filter = "",
        stage: Filter = "",
        sector: Filter = "",
        kind: Filter = "",
        newest: Annotated[int, Query(ge=0, le=50, description="También las N más recientes de cada etapa")] = 0,
    ) -> dict[str, Any]:
        """How many UPs each stage has (exact), with the list's filters, in one call: the board's
        counts (and, with ``newest``, its cards)."""
        auth.require(user, INCOME, "CountUnits")
        request = pb.CountUnitsRequest(community_id=community_id, stage=stage, sector=sector, kind=kind, newest=newest)
        return to_json(backend.call(I.CountUnits, request, user))

    @app.get(UNITS, tags=TAGS, response_model=RI.UnitsOut, responses=R.QUERY)
    def units(
        user: User,
        community_id: Filter = "",
        stage: Filter = "",
        sector: Filter = "",
        kind: Filter = "",
        page_token: PageToken = "",
        limit: schemas.PageLimit = 100,
    ) -> dict[str, Any]:
        """The newest UPs first (registration time), by community, stage, sector and
        kind; without history. The next page: ``page_token`` = the reply's ``next_page_token``."""
        auth.require(user, INCOME, "ListUnits")
        request = pb.ListUnitsRequest(
            community_id=community_id, stage=stage, sector=sector, kind=kind, page_token=page_token, limit=limit
        )
        return to_json(backend.call(I.ListUnits, request, user))

    @app.get(f"{UNITS}/{{unit_id}}", tags=TAGS, response_model=RI.UnitOut, responses=R.READ)
    def unit(unit_id: str, user: User) -> dict[str, Any]:
        auth.require(user, INCOME, "GetUnit")
        return to_json(backend.call(I.GetUnit, pb.GetUnitRequest(id=unit_id), user))

    @app.post(f"{UNITS}/{{unit_id}}/etapa", tags=TAGS, response_model=RI.UnitOut, responses=R.ACTION)
    def change_stage(unit_id: str, body: S.StageChangeIn, user: User) -> dict[str, Any]:
        """Moves the UP through a transition of the G.I. workflow: 409 names the
        guard that failed, or says the version you saw is stale."""
        auth.require(user, INCOME, "ChangeStage")
        request = pb.ChangeStageRequest(unit_id=unit_id, **body.model_dump())
        return to_json(backend.call(I.ChangeStage, request, user))

    # -- the Fluye plan ------------------------------------------------------------------
    @app.get(f"{UNITS}/{{unit_id}}/plan", tags=TAGS, response_model=RI.PlanOut, responses=R.READ)
    def plan(unit_id: str, user: User, version: PlanVersion = 0) -> dict[str, Any]:
        """The latest version (or ``version``), with its figures and viability verdict."""
        auth.require(user, INCOME, "GetPlan")
        return plan_json(backend.call(I.GetPlan, pb.GetPlanRequest(unit_id=unit_id, version=version), user))

    @app.get(f"{UNITS}/{{unit_id}}/plan/versiones", tags=TAGS, response_model=RI.PlansOut, responses=R.READ)
    def plan_versions(unit_id: str, user: User) -> dict[str, Any]:
        auth.require(user, INCOME, "ListPlanVersions")
        reply = backend.call(I.ListPlanVersions, pb.GetPlanRequest(unit_id=unit_id), user)
        return {"plans": [plan_json(p) for p in reply.plans]}

    @app.put(f"{UNITS}/{{unit_id}}/plan", tags=TAGS, response_model=RI.PlanOut, responses=R.WRITE)
    def save_plan(unit_id: str, body: S.PlanIn, user: User) -> dict[str, Any]:
        """Saves the draft (starts version 1; editing an approved plan starts the next version)."""
        auth.require(user, INCOME, "SavePlan")
        schemas.refuse_non_finite(body.content, "content")
        content = json.dumps(S.exact_numbers(body.content), ensure_ascii=False)
        request = pb.SavePlanRequest(unit_id=unit_id, content_json=content, expected_revision=body.expected_revision)
        return plan_json(backend.call(I.SavePlan, request, user))

    def decision(operation: str, unit_id: str, body: S.PlanDecisionIn, user: auth.User) -> dict[str, Any]:
        auth.require(user, INCOME, operation)
        request = pb.PlanDecisionRequest(unit_id=unit_id, expected_revision=body.expected_revision, reason=body.reason)
        return plan_json(backend.call(getattr(I, operation), request, user))

    @app.post(f"{UNITS}/{{unit_id}}/plan/envio", tags=TAGS, response_model=RI.PlanOut, responses=R.ACTION)
    def submit_plan(unit_id: str, body: S.PlanDecisionIn, user: User) -> dict[str, Any]:
        """Sends a complete draft to a coordinator (400 names each missing part)."""
        return decision("SubmitPlan", unit_id, body, user)

    @app.post(f"{UNITS}/{{unit_id}}/plan/aprobacion", tags=TAGS, response_model=RI.PlanOut, responses=R.ACTION)
    def approve_plan(unit_id: str, body: S.PlanDecisionIn, user: User) -> dict[str, Any]:
        """A coordinator approves the submitted plan (not the one who submitted it)."""
        return decision("ApprovePlan", unit_id, body, user)

    @app.post(f"{UNITS}/{{unit_id}}/plan/devolucion", tags=TAGS, response_model=RI.PlanOut, responses=R.ACTION)
    def return_plan(unit_id: str, body: S.PlanDecisionIn, user: User) -> dict[str, Any]:
        """A coordinator returns the submitted plan with the reason."""
        return decision("ReturnPlan", unit_id, body, user)

    @app.get(
        f"{UNITS}/{{unit_id}}/plan/documento",
        tags=["income", "documents"],
        response_model=RI.PlanDocumentOut,
        responses=R.READ,
    )
    def plan_document(
        unit_id: str, version: ApprovedVersion, user: User, ttl_seconds: schemas.LinkTtl = 900
    ) -> dict[str, Any]:
        """The signed PDF "Plan de Acción" of an approved version: ``pending`` while it
        is produced, then ``stored`` with a time-limited ``download_url``; 404 before
        that version is approved."""
        auth.require(user, DOCUMENTS, "GetPlanDocument")
        request = dpb.GetPlanDocumentRequest(unit_id=unit_id, plan_version=version, link_ttl_seconds=ttl_seconds)
        return to_json(backend.call(backend.documents.GetPlanDocument, request, user))

    # -- trainings -----------------------------------------------------------------------
    def record(unit_id: str, body: S.TrainingIn, user: auth.User) -> dict[str, Any]:
        auth.require(user, INCOME, "RecordTraining")
        request = pb.RecordTrainingRequest(
            unit_id=unit_id,
            community_id=body.community_id,
            topic=body.topic,
            attendance=[pb.Attendance(beneficiary_id=a.beneficiary_id, present=a.present) for a in body.attendance],
        )
        if body.held_at is not None:
            held = Timestamp()
            held.FromDatetime(body.held_at)
            request.held_at.CopyFrom(held)
        return to_json(backend.call(I.RecordTraining, request, user))

    @app.post(
        f"{UNITS}/{{unit_id}}/capacitaciones",
        status_code=201,
        tags=TAGS,
        response_model=RI.TrainingOut,
        responses=R.WRITE,
    )
    def record_unit_training(unit_id: str, body: S.TrainingIn, user: User) -> dict[str, Any]:
        """A training session of the UP's people, with each one's attendance."""
        return record(unit_id, body.model_copy(update={"community_id": ""}), user)

    @app.get(f"{UNITS}/{{unit_id}}/capacitaciones", tags=TAGS, response_model=RI.TrainingsOut, responses=R.READ)
    def unit_trainings(unit_id: str, user: User) -> dict[str, Any]:
        """The UP's sessions and each person's compliance (≥ 80 % cumple, ≥ 50 % parcial)."""
        auth.require(user, INCOME, "ListTrainings")
        return to_json(backend.call(I.ListTrainings, pb.ListTrainingsRequest(unit_id=unit_id), user))

    @app.post(f"{API}/capacitaciones", status_code=201, tags=TAGS, response_model=RI.TrainingOut, responses=R.WRITE)
    def record_community_training(body: S.TrainingIn, user: User) -> dict[str, Any]:
        """A training session of a community (``community_id``)."""
        return record("", body, user)

    @app.get(f"{API}/capacitaciones", tags=TAGS, response_model=RI.TrainingsOut, responses=R.QUERY)
    def community_trainings(community_id: str, user: User) -> dict[str, Any]:
        auth.require(user, INCOME, "ListTrainings")
        request = pb.ListTrainingsRequest(community_id=community_id)
        return to_json(backend.call(I.ListTrainings, request, user))
