"""Who may call each operation of the reports service
(``crm.reports.v1.ReportsService``): the one table. The gRPC server enforces it
before any handler runs; the gateway derives its 403s and its navigation from it.

KPIs and the records behind them: admin, coordinator, auditor, gestor (who
works these households and reads these people already) and the income adviser
(whose indicator, UPA, is one of them). The projection holds no
psychosocial content: a restricted template's actas are counted as participations
(who, where, when, which template), never what they record, not even their title,
so no extra rule on the record is needed. The psychosocial team reads its own
follow-up elsewhere.
"""

from __future__ import annotations

from crm_platform.access import ADMIN, AUDITOR, COORDINATOR, GESTOR, INCOME_ADVISER, AccessTable, roles

READERS = roles(ADMIN, COORDINATOR, GESTOR, INCOME_ADVISER, AUDITOR)

ACCESS: AccessTable = {
    "ListKpis": READERS,
    "GetKpiValue": READERS,
    "DrillDown": READERS,
    "GetKpiSeries": READERS,
}
