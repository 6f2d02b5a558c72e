"""HTTP routes of the KPIs: definitions, values and the records behind a value."""

from __future__ import annotations

from typing import Any

import grpc
from fastapi import FastAPI, Query

from crm_platform.grpc_support import field_errors
from crm_platform.proto_gen.crm.reports.v1 import reports_pb2 as rpb
from gateway import auth, errors
from gateway import responses as R
from gateway import responses_reports as RR
from gateway.deps import Backend, User, to_json
from services.reports.access import ACCESS as REPORTS

API = "/api/v1"
TAG = "indicadores"
# The service's field names -> this API's query parameters, for field errors.
PARAMETERS = {"as_of": "fecha", "by": "por", "part": "parte", "key": "clave", "months": "meses"}


def _call(backend: Backend, method: Any, request: Any, user: auth.User) -> dict[str, Any]:
    try:
        return to_json(backend.call(method, request, user))
    except grpc.RpcError as exc:
        if exc.code() != grpc.StatusCode.INVALID_ARGUMENT:
            raise
        fields = {PARAMETERS.get(k, k): v for k, v in field_errors(exc).items()}
        raise errors.ApiError(400, "Solicitud inválida", fields or None) from None


def register(app: FastAPI, backend: Backend) -> None:
    S = backend.reports

    @app.get(f"{API}/indicadores", tags=[TAG], response_model=RR.KpisOut, responses=R.LIST)
    def kpis(user: User) -> dict[str, Any]:
        """Every KPI definition with its overall value today."""
        auth.require(user, REPORTS, "ListKpis")
        return to_json(backend.call(S.ListKpis, rpb.ListKpisRequest(), user))

    @app.get(f"{API}/indicadores/{{code}}", tags=[TAG], response_model=RR.KpiValueOut, responses=R.READ)
    def kpi_value(
        code: str,
        user: User,
        fecha: str = Query("", max_length=10, description="Fecha de corte AAAA-MM-DD; vacío: hoy"),
        por: str = Query("", max_length=20, description="comunidad, gestor, sexo, edad, sector o tipo"),
    ) -> dict[str, Any]:
        """One KPI at a date, overall and per group of one disaggregation."""
        auth.require(user, REPORTS, "GetKpiValue")
        return _call(backend, S.GetKpiValue, rpb.GetKpiValueRequest(code=code, as_of=fecha, by=por), user)

    @app.get(f"{API}/indicadores/{{code}}/registros", tags=[TAG], response_model=RR.DrillDownOut, responses=R.READ)
    def kpi_records(
        code: str,
        user: User,
        fecha: str = Query("", max_length=10),
        por: str = Query("", max_length=20),
        clave: str = Query("", max_length=200, description="La clave del grupo (``key`` de un valor)"),
        parte: str = Query("numerator", max_length=20, description="numerator o denominator"),
        despues: str = Query("", max_length=200),
        limite: int = Query(50, ge=1, le=200),
    ) -> dict[str, Any]:
        """The records behind one value, in id order, a page at a time."""
        auth.require(user, REPORTS, "DrillDown")
        request = rpb.DrillDownRequest(
            code=code, as_of=fecha, by=por, key=clave, part=parte, after=despues, limit=limite
        )
        return _call(backend, S.DrillDown, request, user)

    @app.get(f"{API}/indicadores/{{code}}/serie", tags=[TAG], response_model=RR.KpiSeriesOut, responses=R.READ)
    def kpi_series(
        code: str,
        user: User,
        meses: int = Query(0, ge=0, le=36, description="De 2 a 36; 0: los de la definición (o 12)"),
    ) -> dict[str, Any]:
        """One KPI month by month up to today (each month's last day; today for this month)."""
        auth.require(user, REPORTS, "GetKpiSeries")
        return _call(backend, S.GetKpiSeries, rpb.GetKpiSeriesRequest(code=code, months=meses), user)
