"""The reports service process: ``crm-reports``.

- consumes ``reports.events`` (``entrypoints.consumer``) and keeps the projection
  (households, people, participations, productive units) from the beneficiaries',
  actas' and income events;
- refreshes every KPI's snapshot each ``REPORTS_REFRESH_SECONDS`` (``service_layer.kpis``);
- serves gRPC (``ReportsService``): the KPI definitions, their values and the
  records behind them.
"""

from __future__ import annotations

import logging
from datetime import UTC

import grpc

from crm_platform.proto_gen.crm.reports.v1 import reports_pb2 as pb
from crm_platform.proto_gen.crm.reports.v1 import reports_pb2_grpc as pb_grpc
from crm_platform.service import GrpcEndpoint, Periodic, Servicer, run_service
from services.reports.access import ACCESS
from services.reports.bootstrap import SERVICE_NAME, App, bootstrap
from services.reports.domain.definitions import KpiDefinition
from services.reports.domain.values import GroupValue
from services.reports.entrypoints.consumer import ProjectionConsumer
from services.reports.service_layer.kpis import KpiResult, SeriesResult

log = logging.getLogger(__name__)
SERVICE_FULL_NAME = pb.DESCRIPTOR.services_by_name["ReportsService"].full_name


def kpi_message(kpi: KpiDefinition) -> pb.Kpi:
    return pb.Kpi(
        code=kpi.code,
        name=kpi.name,
        description=kpi.description,
        unit=kpi.unit,
        numerator_label=kpi.numerator.label,
        denominator_label=kpi.denominator.label if kpi.denominator else "",
        disaggregations=list(kpi.disaggregations),
        alert=kpi.alert,
    )


def _group(g: GroupValue) -> pb.Group:
    return pb.Group(key=g.key, label=g.label, numerator=g.numerator, denominator=g.denominator, value=g.value)


def value_message(result: KpiResult, fresh_for: int) -> pb.KpiValue:
    message = pb.KpiValue(
        kpi=kpi_message(result.kpi),
        as_of=result.as_of.isoformat(),
        by=result.by,
        total=_group(result.total),
        groups=[_group(g) for g in result.groups],
        fresh_for_seconds=fresh_for,
    )
    message.computed_at.FromDatetime(result.computed_at.astimezone(UTC))
    return message


def series_message(result: SeriesResult) -> pb.KpiSeries:
    points = [pb.SeriesPoint(month=p.month, as_of=p.as_of.isoformat(), total=_group(p.value)) for p in result.points]
    message = pb.KpiSeries(kpi=kpi_message(result.kpi), points=points)
    message.computed_at.FromDatetime(result.computed_at.astimezone(UTC))
    return message


class RefreshLoop(Periodic):
    """Refreshes every KPI's snapshot at start, then every ``interval`` seconds after
    the previous refresh ends (a slow one is never run twice at once)."""

    def __init__(self, app: App) -> None:
        super().__init__("reports-refresh", app.kpis.refresh, app.refresh_seconds)

    def run(self) -> None:
        try:
            self.step()
        except Exception:
            log.exception("the first KPI refresh failed; again in %.1f s", self.interval)
        super().run()


class ReportsServicer(pb_grpc.ReportsServiceServicer):
    def __init__(self, app: App) -> None:
        self.kpis = app.kpis
        self.fresh_for = int(app.kpis.fresh_for.total_seconds())

    def ListKpis(self, request: pb.ListKpisRequest, context: grpc.ServicerContext) -> pb.ListKpisReply:
        values = [self.kpis.value(code) for code in self.kpis.catalog]
        return pb.ListKpisReply(
            kpis=[kpi_message(k) for k in self.kpis.catalog.values()],
            values=[value_message(v, self.fresh_for) for v in values],
        )

    def GetKpiValue(self, request: pb.GetKpiValueRequest, context: grpc.ServicerContext) -> pb.KpiValue:
        return value_message(self.kpis.value(request.code, request.as_of, request.by), self.fresh_for)

    def DrillDown(self, request: pb.DrillDownRequest, context: grpc.ServicerContext) -> pb.DrillDownReply:
        source, rows, next_after = self.kpis.drill_down(
            request.code, request.as_of, request.by, request.key, request.part, request.after, request.limit
        )
        records = [pb.Record(id=r["id"], fields={k: v for k, v in r.items() if k != "id"}) for r in rows]
        return pb.DrillDownReply(source=source, records=records, next_after=next_after)

    def GetKpiSeries(self, request: pb.GetKpiSeriesRequest, context: grpc.ServicerContext) -> pb.KpiSeries:
        return series_message(self.kpis.series(request.code, request.months))


def endpoint(app: App) -> GrpcEndpoint:
    servicer = Servicer(ReportsServicer(app), pb_grpc.add_ReportsServiceServicer_to_server, SERVICE_FULL_NAME, ACCESS)
    return GrpcEndpoint("REPORTS_GRPC_PORT", 50055, [servicer], max_workers=8)


def main() -> None:
    run_service(
        SERVICE_NAME,
        bootstrap,
        grpc=endpoint,
        background=lambda app: [RefreshLoop(app)],
        consumer=lambda app, connection: ProjectionConsumer(connection, app.projection),
    )


if __name__ == "__main__":
    main()
