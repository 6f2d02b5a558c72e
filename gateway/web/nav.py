"""What the navigation shows each role: a section appears only if the role may
call what its page needs, read from the owning services' access tables, so the
web app and the API can never disagree."""

from __future__ import annotations

from dataclasses import dataclass

from crm_platform.access import (
    ADMIN,
    AUDITOR,
    COORDINATOR,
    GESTOR,
    INCOME_ADVISER,
    PSYCHOSOCIAL,
    AccessTable,
    allows,
)
from gateway.policy import GATEWAY
from services.actas.access import ACCESS as ACTAS
from services.beneficiaries.access import ACCESS as BENEFICIARIES
from services.income.access import ACCESS as INCOME
from services.notifications.access import ACCESS as NOTIFICATIONS
from services.reports.access import ACCESS as REPORTS

ROLE_LABELS = {
    ADMIN: "Administración",
    COORDINATOR: "Coordinación",
    GESTOR: "Gestión social",
    INCOME_ADVISER: "Generación de ingresos",
    PSYCHOSOCIAL: "Acompañamiento psicosocial",
    AUDITOR: "Auditoría",
}


@dataclass(frozen=True)
class Section:
    label: str
    path: str
    needs: tuple[tuple[AccessTable, str], ...]

    def allowed(self, role: str) -> bool:
        return all(allows(table, role, operation) for table, operation in self.needs)


SECTIONS = (
    Section("Inicio", "/app/", ((ACTAS, "CountActas"),)),
    Section("Actas", "/app/actas", ((ACTAS, "ListActas"),)),
    Section("Comunidades", "/app/comunidades", ((BENEFICIARIES, "ListCommunities"),)),
    Section("Unidades productivas", "/app/unidades", ((INCOME, "ListUnits"),)),
    Section("Indicadores", "/app/indicadores", ((REPORTS, "ListKpis"), (REPORTS, "GetKpiValue"))),
    Section("Quioscos", "/app/quioscos", ((ACTAS, "ListDevices"), (ACTAS, "ListRejectedSubmissions"))),
    Section("Notificaciones", "/app/notificaciones", ((NOTIFICATIONS, "ListDeliveries"),)),
    Section("Flujos", "/app/flujos", ((INCOME, "ListDefinitions"),)),
    Section("Administración", "/app/administracion", ((GATEWAY, "CreateUser"),)),
)
# Pages that exist (every section today); a later module's section joins when its page lands.
BUILT = {s.path for s in SECTIONS}


def section(path: str) -> Section:
    return next(s for s in SECTIONS if s.path == path)


def visible_sections(role: str) -> list[Section]:
    return [s for s in SECTIONS if s.path in BUILT and s.allowed(role)]
