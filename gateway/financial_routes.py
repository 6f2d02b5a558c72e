"""HTTP routes of a UP's financial statements (estados financieros): one period
recorded or corrected with ``PUT``, all of them read with their ratios, trends
and the sales the UP's follow-up actas offer. Bad input is 400 naming each field;
a period already recorded (asked to start it) is 400 naming ``period``; a stale
``expected_revision`` is 409."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Path

from crm_platform.proto_gen.crm.income.v1 import income_pb2 as pb
from gateway import auth
from gateway import responses as R
from gateway import responses_financial as RF
from gateway.deps import Backend, User, to_json
from services.income.access import ACCESS as INCOME

UNITS = "/api/v1/unidades-productivas"
TAGS: list[str | Any] = ["income"]
PeriodText = Annotated[str, Path(max_length=16, description="2026-11 (mes) o 2026-T4 (trimestre)")]
FIGURES = (
    "sales",
    "cost_of_sales",
    "operating_expenses",
    "current_assets",
    "non_current_assets",
    "current_liabilities",
    "non_current_liabilities",
    "equity",
)


def register(app: FastAPI, backend: Backend) -> None:
    I = backend.income  # noqa: E741 - one letter per service stub, as in the other routes

    @app.put(
        f"{UNITS}/{{unit_id}}/estados-financieros/{{period}}",
        tags=TAGS,
        response_model=RF.StatementOut,
        responses=R.WRITE,
    )
    def record_statement(unit_id: str, period: PeriodText, body: RF.StatementIn, user: User) -> dict[str, Any]:
        """Records a period's income statement and balance sheet (``expected_revision``
        0) or corrects it (the revision you read). The programme's loans are added
        as liabilities "de créditos"; a typed ``equity`` must equal assets minus
        liabilities."""
        auth.require(user, INCOME, "RecordStatement")
        request = pb.RecordStatementRequest(
            unit_id=unit_id,
            period=period,
            figures=pb.StatementFigures(**{name: getattr(body, name) for name in FIGURES}),
            expected_revision=body.expected_revision,
            sales_from_actas=body.sales_from_actas,
            notes=body.notes,
        )
        return to_json(backend.call(I.RecordStatement, request, user))

    @app.get(
        f"{UNITS}/{{unit_id}}/estados-financieros",
        tags=TAGS,
        response_model=RF.StatementsOut,
        responses=R.READ,
    )
    def statements(unit_id: str, user: User) -> dict[str, Any]:
        """Every recorded period (oldest first) with its ratios, each ratio's trend
        (months and quarters apart) and the sales offered by follow-up actas."""
        auth.require(user, INCOME, "ListStatements")
        return to_json(backend.call(I.ListStatements, pb.ListStatementsRequest(unit_id=unit_id), user))
