"""The financial statements' part of the income servicer (``RecordStatement``,
``ListStatements``) and its messages; ``main.IncomeServicer`` includes it."""

from __future__ import annotations

from decimal import Decimal

import grpc

from crm_platform.grpc_support import current_caller
from crm_platform.proto_gen.crm.income.v1 import income_pb2 as pb
from services.income.domain.statements.sales import ActaSales
from services.income.domain.statements.statement import AMOUNTS
from services.income.domain.statements.trends import RatioTrend
from services.income.service_layer.statements import Recorded, StatementHandlers


def _text(value: Decimal | None) -> str:
    return "" if value is None else format(value, "f")


def statement_message(recorded: Recorded) -> pb.FinancialStatement:
    s = recorded.statement
    figures = pb.StatementFigures(
        **{name: _text(getattr(s.figures, name)) for name in AMOUNTS}, equity=_text(s.figures.equity)
    )
    ratios = s.ratios
    message = pb.FinancialStatement(
        unit_id=recorded.unit_id,
        period=s.period.key,
        kind=str(s.period.kind),
        label=s.period.label(),
        start_date=s.period.start.isoformat(),
        end_date=s.period.end.isoformat(),
        figures=figures,
        gross_profit=_text(s.gross_profit),
        net_income=_text(s.net_income),
        total_assets=_text(s.total_assets),
        loan_liabilities=_text(s.loan_liabilities),
        loans_as_of=s.loans_as_of.isoformat() if s.loans_as_of else "",
        current_liabilities_total=_text(s.current_liabilities_total),
        total_liabilities=_text(s.total_liabilities),
        equity=_text(s.equity),
        ratios=pb.StatementRatios(**{k: _text(v) for k, v in ratios.as_dict().items()}),
        sales_source=s.sales_source,
        sales_acta_ids=list(s.sales_acta_ids),
        notes=s.notes,
        revision=recorded.revision,
        recorded_by=recorded.recorded_by,
    )
    message.recorded_at.FromDatetime(recorded.recorded_at)
    return message


def trend_message(trend: RatioTrend) -> pb.RatioTrend:
    return pb.RatioTrend(
        ratio=trend.ratio,
        label=trend.label,
        kind=str(trend.kind),
        points=[
            pb.RatioTrendPoint(period=p.period.key, value=_text(p.value), change=_text(p.change), direction=p.direction)
            for p in trend.points
        ],
        last_direction=trend.last_direction,
    )


def offer_message(offer: ActaSales) -> pb.ActaSalesOffer:
    return pb.ActaSalesOffer(
        period=offer.period.key,
        label=offer.period.label(),
        amount=_text(offer.amount),
        acta_ids=list(offer.acta_ids),
        missing_months=list(offer.missing_months),
        complete=offer.complete,
        source=offer.source(),
    )


class StatementsServicer:
    """Methods only: the servicer's errors are the platform's vocabulary."""

    statements: StatementHandlers

    def RecordStatement(
        self, request: pb.RecordStatementRequest, context: grpc.ServicerContext
    ) -> pb.FinancialStatement:
        by, _ = current_caller()
        f = request.figures
        values = {name: getattr(f, name) for name in (*AMOUNTS, "equity")}
        recorded = self.statements.record(
            request.unit_id,
            request.period,
            values,
            request.expected_revision,
            by,
            sales_from_actas=request.sales_from_actas,
            notes=request.notes,
        )
        return statement_message(recorded)

    def ListStatements(
        self, request: pb.ListStatementsRequest, context: grpc.ServicerContext
    ) -> pb.ListStatementsResponse:
        found = self.statements.overview(request.unit_id)
        return pb.ListStatementsResponse(
            statements=[statement_message(r) for r in found.statements],
            trends=[trend_message(t) for t in found.trends],
            offers=[offer_message(o) for o in found.offers],
            loan_liabilities_today=_text(found.loans_today),
        )
