"""KPI definitions as data: one YAML file per KPI under ``services/reports/kpis``,
validated when the service starts. A definition that does not fit stops the process
with ``DefinitionError`` naming the file and the field, so a bad file is found at
deploy time, not by a coordinator on Monday.

The format::

    code: cobertura_30d                 # [a-z0-9_], unique; the page's URL
    name: Cobertura de visitas (30 días)
    description: ...                    # optional
    unit: percent                       # percent (numerator / denominator) or count
    numerator:
      label: Hogares visitados en los últimos 30 días
      source: households                # services.reports.domain.sources.SOURCES
      where: {visited_within_days: 30}  # the source's filters, all must hold
    denominator:                        # required for percent, absent for count
      label: Hogares registrados
      source: households
    disaggregations: [comunidad]        # each one offered by both sources
    order: 10                           # optional: where the card goes on Inicio
    alert: false                        # optional: a count above zero needs attention
    series_months: 12                   # optional (2-36): the monthly series is kept
                                        # in the snapshots with every refresh

A filter's argument is the definition's parameter: ``active_within_days: 90`` is
the window of the UPA rule (``domain.units``), ``visited_within_days: 30`` the
coverage's.

Every value is "as of" a date: a record counts only if it existed by then, and
windows (``visited_within_days``) end on it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from services.reports.domain.sources import DIMENSIONS, SOURCES

CODE = re.compile(r"^[a-z][a-z0-9_]{1,40}$")
UNITS = ("percent", "count")
MAX_MONTHS = 36
KPI_DIR = Path(__file__).resolve().parent.parent / "kpis"


class DefinitionError(ValueError):
    """A KPI definition file is malformed; the message names the file and field."""

    def __init__(self, where: str, field_name: str, problem: str) -> None:
        self.where, self.field_name, self.problem = where, field_name, problem
        super().__init__(f"{where}: {field_name}: {problem}")


@dataclass(frozen=True)
class Part:
    """The numerator or the denominator: records of ``source`` that satisfy ``where``."""

    label: str
    source: str
    where: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class KpiDefinition:
    code: str
    name: str
    unit: str
    numerator: Part
    denominator: Part | None
    disaggregations: tuple[str, ...]
    description: str = ""
    order: int = 100
    alert: bool = False
    series_months: int = 0  # 0: no series kept with the refresh (one can still be asked for)

    def part(self, which: str) -> Part | None:
        return self.numerator if which == "numerator" else self.denominator


def parse(data: Any, where: str) -> KpiDefinition:
    """The definition in ``data`` (a parsed YAML document), or DefinitionError."""
    if not isinstance(data, Mapping):
        raise DefinitionError(where, "(document)", "expected a mapping of fields")
    unknown = set(data) - {
        "code",
        "name",
        "description",
        "unit",
        "numerator",
        "denominator",
        "disaggregations",
        "order",
        "alert",
        "series_months",
    }
    if unknown:
        raise DefinitionError(where, sorted(unknown)[0], "unknown field")
    code = _text(data, "code", where)
    if not CODE.match(code):
        raise DefinitionError(where, "code", f"{code!r} must be lower case letters, digits and _")
    unit = _text(data, "unit", where)
    if unit not in UNITS:
        raise DefinitionError(where, "unit", f"{unit!r} is not one of {', '.join(UNITS)}")
    numerator = _part(data.get("numerator"), "numerator", where)
    denominator = None
    if unit == "percent":
        denominator = _part(data.get("denominator"), "denominator", where)
    elif data.get("denominator") is not None:
        raise DefinitionError(where, "denominator", "a count has no denominator")
    raw_dims = data.get("disaggregations") or []
    if not isinstance(raw_dims, list) or not all(isinstance(d, str) for d in raw_dims):
        raise DefinitionError(where, "disaggregations", "expected a list of names")
    for dim in raw_dims:
        if dim not in DIMENSIONS:
            raise DefinitionError(where, "disaggregations", f"{dim!r} is not one of {', '.join(DIMENSIONS)}")
        for name, part in (("numerator", numerator), ("denominator", denominator)):
            if part is not None and dim not in SOURCES[part.source].dimensions:
                raise DefinitionError(where, "disaggregations", f"{part.source} ({name}) has no {dim!r}")
    order = data.get("order", 100)
    if not isinstance(order, int) or isinstance(order, bool):
        raise DefinitionError(where, "order", "expected an integer")
    description = data.get("description") or ""
    if not isinstance(description, str):
        raise DefinitionError(where, "description", "expected text")
    alert = data.get("alert", False)
    if not isinstance(alert, bool):
        raise DefinitionError(where, "alert", "expected true or false")
    months = data.get("series_months", 0)
    if isinstance(months, bool) or not isinstance(months, int) or not (months == 0 or 2 <= months <= MAX_MONTHS):
        raise DefinitionError(where, "series_months", f"must be a number of months from 2 to {MAX_MONTHS}")
    return KpiDefinition(
        code,
        _text(data, "name", where),
        unit,
        numerator,
        denominator,
        tuple(raw_dims),
        description.strip(),
        order,
        alert,
        months,
    )


def _text(data: Mapping[str, Any], name: str, where: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise DefinitionError(where, name, "required text is missing")
    return value.strip()


def _part(data: Any, name: str, where: str) -> Part:
    if not isinstance(data, Mapping):
        raise DefinitionError(where, name, "required: a mapping with label, source and where")
    label = _text(data, "label", f"{where}: {name}")
    source_name = data.get("source")
    source = SOURCES.get(source_name) if isinstance(source_name, str) else None
    if source is None:
        raise DefinitionError(where, f"{name}.source", f"{source_name!r} is not one of {', '.join(SOURCES)}")
    filters = data.get("where") or {}
    if not isinstance(filters, Mapping):
        raise DefinitionError(where, f"{name}.where", "expected a mapping of filters")
    for key, value in filters.items():
        kind = source.filters.get(key)
        at = f"{name}.where.{key}"
        if kind is None:
            raise DefinitionError(where, at, f"{source.name} has no such filter ({', '.join(source.filters)})")
        if kind is bool and value is not True:
            raise DefinitionError(where, at, "must be true")
        if kind is int and (isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 3660):
            raise DefinitionError(where, at, "must be a number of days from 1 to 3660")
        if kind is str and value not in source.choices.get(key, ()):
            raise DefinitionError(where, at, f"{value!r} is not one of {', '.join(source.choices.get(key, ()))}")
    return Part(label, source.name, dict(filters))


def load(paths: Iterable[Path]) -> dict[str, KpiDefinition]:
    """Definitions by code, in display order; DefinitionError on the first bad file."""
    found: dict[str, KpiDefinition] = {}
    for path in sorted(paths):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise DefinitionError(str(path), "(document)", f"not valid YAML: {exc}") from None
        definition = parse(data, str(path))
        if definition.code in found:
            raise DefinitionError(str(path), "code", f"{definition.code!r} is defined twice")
        found[definition.code] = definition
    return dict(sorted(found.items(), key=lambda item: (item[1].order, item[0])))


def load_dir(directory: Path = KPI_DIR) -> dict[str, KpiDefinition]:
    paths = list(directory.glob("*.yaml"))
    if not paths:
        raise DefinitionError(str(directory), "(directory)", "no KPI definition (*.yaml) found")
    return load(paths)
