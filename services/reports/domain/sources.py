"""The fact sources a KPI definition may count, and what each offers: the groupings
(disaggregations) it can be broken down by and the filters its definitions may use.

A source is a collection of the projection (``services.reports.adapters.store``).
A later module that adds a KPI over new facts (productive units for UPA, FES
students for permanencia) adds a source here, its consumer and its store adapter;
a KPI over existing sources is only a YAML file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

HOUSEHOLDS = "households"
PEOPLE = "people"
PARTICIPATIONS = "participations"
PRODUCTIVE_UNITS = "productive_units"

# Disaggregations, named as the page's ``?por=`` parameter.
COMMUNITY = "comunidad"
GESTOR = "gestor"
SEX = "sexo"
AGE = "edad"
SECTOR = "sector"
KIND = "tipo"
DIMENSIONS = (COMMUNITY, GESTOR, SEX, AGE, SECTOR, KIND)

CONSENT_KINDS = ("data_processing", "biometrics", "notifications")


@dataclass(frozen=True)
class Source:
    name: str
    dimensions: tuple[str, ...]
    # filter name -> the type of its argument (int: a number of days; bool: must be
    # true; str: one of ``choices``).
    filters: dict[str, type]
    choices: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # The record fields a drill-down shows, in order.
    columns: tuple[str, ...] = ()


SOURCES: dict[str, Source] = {
    HOUSEHOLDS: Source(
        HOUSEHOLDS,
        (COMMUNITY,),
        {"visited_within_days": int, "never_visited": bool, "without_head": bool},
        columns=("name", "community_id", "registered_on", "last_visit", "head_id"),
    ),
    PEOPLE: Source(
        PEOPLE,
        (COMMUNITY, SEX, AGE),
        {"without_consent": str},
        {"without_consent": CONSENT_KINDS},
        columns=("name", "community_id", "family_id", "sex", "birth_date", "registered_on"),
    ),
    PARTICIPATIONS: Source(
        PARTICIPATIONS,
        (COMMUNITY, GESTOR, SEX, AGE),
        {"within_days": int},
        columns=("acta_id", "beneficiary_id", "family_id", "community_id", "gestor_id", "template", "day"),
    ),
    # Productive units (income): dated by the day they reached implementation when a
    # definition asks for it (``reached_implementation``), else by registration;
    # ``active_within_days`` is the UPA rule (``domain.units``) with its window.
    PRODUCTIVE_UNITS: Source(
        PRODUCTIVE_UNITS,
        (COMMUNITY, SECTOR, SEX, KIND),
        {"reached_implementation": bool, "active_within_days": int},
        columns=(
            "name", "community_id", "sector", "kind", "sex", "stage", "implemented_on",
            "acta_id", "followup_day", "operating", "monthly_sales",
        ),
    ),
}  # fmt: skip
