"""A KPI's value from its counts (pure): per group and overall."""

from __future__ import annotations

from dataclasses import dataclass

SEX_LABELS = {
    "female": "Mujer",
    "male": "Hombre",
    "intersex": "Intersexual",
    "mixto": "Mixto (propietarios de distinto sexo)",
    "sin_dato": "Sin dato",
}
KIND_LABELS = {"emprendimiento": "Emprendimiento", "fortalecimiento": "Fortalecimiento", "sin_dato": "Sin dato"}


@dataclass(frozen=True)
class GroupValue:
    key: str
    label: str
    numerator: int
    denominator: int
    value: float


def value_of(unit: str, numerator: int, denominator: int) -> float:
    if unit == "count":
        return float(numerator)
    return round(100.0 * numerator / denominator, 1) if denominator else 0.0


def groups(
    unit: str, numerators: dict[str, int], denominators: dict[str, int] | None, labels: dict[str, str]
) -> list[GroupValue]:
    """One value per group found in either count, largest numerator first. A group
    without records in the numerator (a community nobody visited) is still listed."""
    keys = set(numerators) | set(denominators or {})
    out = []
    for key in keys:
        n, d = numerators.get(key, 0), (denominators or {}).get(key, 0)
        out.append(GroupValue(key, labels.get(key) or key or "Sin dato", n, d, value_of(unit, n, d)))
    return sorted(out, key=lambda g: (-g.value, g.label))


def total(unit: str, numerators: dict[str, int], denominators: dict[str, int] | None) -> GroupValue:
    n, d = sum(numerators.values()), sum((denominators or {}).values())
    return GroupValue("", "Total", n, d, value_of(unit, n, d))
