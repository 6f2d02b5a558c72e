"""``crm-reports-backfill``: rebuild the reports projection from the beneficiaries and
actas services (``service_layer.backfill``), then refresh every KPI. Safe to run
while ``crm-reports`` runs, and again."""

from __future__ import annotations

import logging

from crm_platform import process
from crm_platform.config import setting
from services.reports.adapters.records import ActasRecords, BeneficiariesRecords
from services.reports.bootstrap import bootstrap
from services.reports.service_layer.backfill import backfill

log = logging.getLogger(__name__)


class Records:
    """The two services' records behind one ``backfill.Records``."""

    def __init__(self, people: BeneficiariesRecords, actas: ActasRecords) -> None:
        self.people, self.actas = people, actas
        self.communities, self.members, self.household = people.communities, people.members, people.household
        self.sealed_actas = actas.sealed_actas


def main() -> None:
    process.configure_logging()
    app = bootstrap()
    people = BeneficiariesRecords(setting("BENEFICIARIES_GRPC", "127.0.0.1:50051"))
    actas = ActasRecords(setting("ACTAS_GRPC", "127.0.0.1:50052"))
    try:
        done = backfill(app.projection.store, app.projection, Records(people, actas))
        log.info(
            "backfilled %d communities, %d people, %d households, %d sealed actas",
            done.communities,
            done.people,
            done.households,
            done.actas,
        )
        log.info("refreshed %d KPI values", app.kpis.refresh())
    finally:
        people.close()
        actas.close()
        app.close()


if __name__ == "__main__":
    main()
