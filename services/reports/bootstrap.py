"""Wires the reports use cases to their adapters, once per process."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from pymongo import MongoClient

from crm_platform.config import ConfigError, Infrastructure, int_setting, setting
from services.reports.adapters.directory import BeneficiariesDirectory
from services.reports.adapters.evaluate import MongoEvaluator
from services.reports.adapters.store import DEFAULT_DB, MongoProjection, MongoSnapshots, open_database
from services.reports.domain.definitions import KPI_DIR, DefinitionError, load_dir
from services.reports.service_layer.kpis import KpiQueries
from services.reports.service_layer.projection import ProjectionHandlers, today_in_colombia

SERVICE_NAME = "reports"


@dataclass
class App:
    projection: ProjectionHandlers
    kpis: KpiQueries
    client: MongoClient[dict[str, Any]]
    directory: BeneficiariesDirectory
    refresh_seconds: float

    def close(self) -> None:
        self.directory.close()
        self.client.close()


def bootstrap(infra: Infrastructure | None = None) -> App:
    infra = infra or Infrastructure.from_env()
    try:
        catalog = load_dir(Path(setting("REPORTS_KPI_DIR", str(KPI_DIR))))
    except DefinitionError as exc:
        raise ConfigError(f"KPI definition: {exc}") from None
    refresh = int_setting("REPORTS_REFRESH_SECONDS", 60)
    if refresh < 1:
        raise ConfigError("REPORTS_REFRESH_SECONDS must be at least 1")
    client, db = open_database(infra.mongo_uri, setting("REPORTS_DB", DEFAULT_DB))
    directory = BeneficiariesDirectory(setting("BENEFICIARIES_GRPC", "127.0.0.1:50051"))
    kpis = KpiQueries(
        catalog,
        MongoEvaluator(db),
        MongoSnapshots(db),
        today_in_colombia,
        # A value is served from its snapshot for two refresh periods: one missed
        # tick (a slow computation) does not push readers onto the projection.
        fresh_for=timedelta(seconds=2 * refresh),
    )
    return App(ProjectionHandlers(MongoProjection(db), directory), kpis, client, directory, float(refresh))
