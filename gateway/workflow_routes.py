"""HTTP routes of the income workflow (the engine in ``crm_platform.workflow``): the
facts its guards read that the plan does not give (diagnosis, capitalisation
amount), the definitions with their state graph (check: a preview whose errors
name their place, 400; publish: the next version), a UP's migration to another
version, the overdue UPs and the tasks the actions created.

Roles come from the income service's access table (``services/income/access.py``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Query

from crm_platform.proto_gen.crm.income.v1 import income_pb2 as pb
from gateway import auth
from gateway import responses as R
from gateway import responses_income as RI
from gateway import responses_workflow as RW
from gateway import schemas_income as S
from gateway.deps import Backend, User, to_json
from gateway.income_routes import API, UNITS
from services.income.access import ACCESS as INCOME

FLOWS = f"{API}/flujos"
TAGS: list[Any] = ["income"]
Component = Annotated[str, Query(max_length=64)]
Version = Annotated[int, Query(ge=0, le=100_000)]


def register(app: FastAPI, backend: Backend) -> None:
    I = backend.income  # noqa: E741 - one letter per service stub, as in the other routes

    @app.post(f"{UNITS}/{{unit_id}}/diagnostico", tags=TAGS, response_model=RI.UnitOut, responses=R.ACTION)
    def record_diagnosis(unit_id: str, body: S.DiagnosisIn, user: User) -> dict[str, Any]:
        """Records the UP's diagnosis (the ``diagnostico_completo`` guard reads it)."""
        auth.require(user, INCOME, "RecordDiagnosis")
        request = pb.RecordDiagnosisRequest(unit_id=unit_id, **body.model_dump())
        return to_json(backend.call(I.RecordDiagnosis, request, user))

    @app.post(f"{UNITS}/{{unit_id}}/capitalizacion", tags=TAGS, response_model=RI.UnitOut, responses=R.ACTION)
    def set_capitalization(unit_id: str, body: S.CapitalizationIn, user: User) -> dict[str, Any]:
        """Records the capitalisation amount in COP (the ``fuentes_definidas`` guard reads it)."""
        auth.require(user, INCOME, "SetCapitalization")
        request = pb.SetCapitalizationRequest(unit_id=unit_id, amount=body.amount)
        return to_json(backend.call(I.SetCapitalization, request, user))

    @app.post(f"{UNITS}/{{unit_id}}/migracion", tags=TAGS, response_model=RI.UnitOut, responses=R.ACTION)
    def migrate_unit(unit_id: str, body: S.MigrationIn, user: User) -> dict[str, Any]:
        """Moves the UP's workflow instance to another version of its definition."""
        auth.require(user, INCOME, "MigrateUnit")
        request = pb.MigrateUnitRequest(unit_id=unit_id, **body.model_dump())
        return to_json(backend.call(I.MigrateUnit, request, user))

    @app.get(f"{UNITS}/{{unit_id}}/tareas", tags=TAGS, response_model=RW.WorkflowTasksOut, responses=R.READ)
    def unit_tasks(unit_id: str, user: User) -> dict[str, Any]:
        """The tasks the workflow's actions created for the UP (follow-ups, co-signatures, notices)."""
        auth.require(user, INCOME, "ListTasks")
        return to_json(backend.call(I.ListTasks, pb.ListTasksRequest(unit_id=unit_id), user))

    @app.post(
        f"{UNITS}/{{unit_id}}/tareas/{{task_id}}/firma-conjunta",
        tags=TAGS,
        response_model=RW.WorkflowTaskOut,
        responses=R.ACTION,
    )
    def cosign_task(unit_id: str, task_id: str, user: User) -> dict[str, Any]:
        """Signs a co-signature task: a person of its role other than the one who made
        the stage change (403 for another role, 409 for that person or once signed)."""
        auth.require(user, INCOME, "CosignTask")
        request = pb.CosignTaskRequest(unit_id=unit_id, task_id=task_id)
        return to_json(backend.call(I.CosignTask, request, user))

    @app.get(f"{UNITS}-vencidas", tags=TAGS, response_model=RW.OverdueListOut, responses=R.READ)
    def overdue(user: User, limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict[str, Any]:
        """UPs that stayed in their stage past its due date, the earliest first."""
        auth.require(user, INCOME, "ListOverdue")
        return to_json(backend.call(I.ListOverdue, pb.ListOverdueRequest(limit=limit), user))

    @app.get(FLOWS, tags=TAGS, response_model=RW.DefinitionsOut, responses=R.READ)
    def definitions(user: User) -> dict[str, Any]:
        """The latest version of every workflow definition, with its state graph."""
        auth.require(user, INCOME, "ListDefinitions")
        return to_json(backend.call(I.ListDefinitions, pb.ListDefinitionsRequest(), user))

    @app.get(f"{FLOWS}/{{component}}", tags=TAGS, response_model=RW.DefinitionOut, responses=R.READ)
    def definition(component: str, user: User, version: Version = 0) -> dict[str, Any]:
        """One definition (``version`` 0: the latest) with its state graph."""
        auth.require(user, INCOME, "GetDefinition")
        request = pb.GetDefinitionRequest(component=component, version=version)
        return to_json(backend.call(I.GetDefinition, request, user))

    @app.post(f"{FLOWS}/revision", tags=TAGS, response_model=RW.DefinitionOut, responses=R.ACTION)
    def check_definition(body: S.DefinitionIn, user: User) -> dict[str, Any]:
        """A preview: the parsed definition and its graph, or 400 naming each problem's place."""
        auth.require(user, INCOME, "CheckDefinition")
        return to_json(backend.call(I.CheckDefinition, pb.DefinitionSource(yaml=body.yaml), user))

    @app.post(FLOWS, status_code=201, tags=TAGS, response_model=RW.DefinitionOut, responses=R.WRITE)
    def publish_definition(body: S.DefinitionIn, user: User) -> dict[str, Any]:
        """Publishes the definition as its component's next version; running UPs stay on theirs."""
        auth.require(user, INCOME, "PublishDefinition")
        return to_json(backend.call(I.PublishDefinition, pb.DefinitionSource(yaml=body.yaml), user))
