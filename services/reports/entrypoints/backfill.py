"""``crm-reports-backfill``: rebuild the reports projection from the beneficiaries,
actas and income services (``service_layer.backfill``), then refresh every KPI. Safe to run
while ``crm-reports`` runs, and again."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from crm_platform import process
from crm_platform.config import setting
from services.reports.adapters.income_records import IncomeRecords
from services.reports.adapters.records import ActasRecords, BeneficiariesRecords
from services.reports.bootstrap import bootstrap
from services.reports.service_layer.backfill import backfill

log = logging.getLogger(__name__)


class Records:
    """The services' records behind one ``backfill.Records`` (no income service: no UPs)."""

    def __init__(self, people: BeneficiariesRecords, actas: ActasRecords, income: IncomeRecords | None = None) -> None:
        self.people, self.actas, self.income = people, actas, income
        self.communities, self.members, self.household = people.communities, people.members, people.household
        self.sealed_actas = actas.sealed_actas

    def units(self, community_ids: list[str]) -> Iterator[list[tuple[str, dict[str, Any]]]]:
        if self.income is not None:
            yield from self.income.units(community_ids)


def main() -> None:
    process.configure_logging()
    app = bootstrap()
    people = BeneficiariesRecords(setting("BENEFICIARIES_GRPC", "127.0.0.1:50051"))
    actas = ActasRecords(setting("ACTAS_GRPC", "127.0.0.1:50052"))
    income = IncomeRecords(setting("INCOME_GRPC", "127.0.0.1:50056"))
    try:
        done = backfill(app.projection.store, app.projection, Records(people, actas, income))
        log.info(
            "backfilled %d communities, %d people, %d households, %d sealed actas, %d productive units",
            done.communities,
            done.people,
            done.households,
            done.actas,
            done.units,
        )
        log.info("refreshed %d KPI values", app.kpis.refresh())
    finally:
        people.close()
        actas.close()
        income.close()
        app.close()


if __name__ == "__main__":
    main()
