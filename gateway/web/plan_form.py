"""The Fluye editor's form and the plan's content, both ways. Each input is named
by the path the income service names in its errors (``profile.factors[1].score``,
``finance.months[3].price``), so a refusal lands beside its field. Lists are one
entry per line (the service splits them); scores and money travel as typed text
(the service converts and refuses them by name). Trailing blank rows are dropped;
a part left entirely blank is absent from the draft."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from services.income.domain.finance import FUNDING_LABELS, MONTH_LABELS
from services.income.domain.fluye import (
    ARCHETYPE_LISTS,
    CANVAS_BLOCKS,
    ERRC_LABELS,
    MAX_FACTORS,
    PART_LABELS,
    PATH_LABELS,
)

MONTHS = 36  # rows of the monthly projection (the service wants 12 to 36 filled)
COMPETITORS = 3
MIN_ROWS = 5  # factor rows offered when the plan has fewer
PATHS = {str(path): label for path, label in PATH_LABELS.items()}
ERRC = dict(ERRC_LABELS)
PARTS = dict(PART_LABELS)
CANVAS = dict(CANVAS_BLOCKS)
ARCHETYPE = dict(ARCHETYPE_LISTS)
FUNDING = dict(FUNDING_LABELS)
MONTH_FIELDS = dict(MONTH_LABELS)


def _lines(value: Any) -> str:
    return "\n".join(str(v) for v in value) if isinstance(value, list) else str(value or "")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def values_of(content: Mapping[str, Any]) -> dict[str, str]:
    """The form's values of a saved plan's content."""
    out: dict[str, str] = {}
    for i, factor in enumerate((content.get("profile") or {}).get("factors") or []):
        for key in ("name", "score", "target"):
            out[f"profile.factors[{i}].{key}"] = _text(factor.get(key))
    for block in CANVAS:
        out[f"canvas.{block}"] = _lines((content.get("canvas") or {}).get(block))
    archetype = content.get("archetype") or {}
    out["archetype.description"] = _text(archetype.get("description"))
    for name in ARCHETYPE:
        out[f"archetype.{name}"] = _lines(archetype.get(name))
    exploration = content.get("exploration") or {}
    for path in PATHS:
        out[f"exploration.paths.{path}"] = _text((exploration.get("paths") or {}).get(path))
    for key in ERRC:
        out[f"exploration.errc.{key}"] = _lines((exploration.get("errc") or {}).get(key))
    proposal = content.get("proposal") or {}
    for i, name in enumerate(proposal.get("factors") or []):
        out[f"proposal.factors[{i}]"] = _text(name)
    for i, score in enumerate(proposal.get("proposal") or []):
        out[f"proposal.proposal[{i}]"] = _text(score)
    for j, competitor in enumerate(proposal.get("competitors") or []):
        out[f"proposal.competitors[{j}].name"] = _text(competitor.get("name"))
        for i, score in enumerate(competitor.get("scores") or []):
            out[f"proposal.competitors[{j}].scores[{i}]"] = _text(score)
    finance = content.get("finance") or {}
    out["finance.investment"] = _text(finance.get("investment"))
    out["finance.annual_discount_rate"] = _text(finance.get("annual_discount_rate"))
    for key in FUNDING:
        out[f"finance.funding.{key}"] = _text((finance.get("funding") or {}).get(key))
    for i, month in enumerate(finance.get("months") or []):
        for key in MONTH_FIELDS:
            out[f"finance.months[{i}].{key}"] = _text(month.get(key))
    return out


def _last(form: Mapping[str, str], count: int, fields: Callable[[int], list[str]]) -> int:
    """How many rows are filled, counting up to the last row with any value."""
    last = 0
    for i in range(count):
        if any(form.get(name, "").strip() for name in fields(i)):
            last = i + 1
    return last


def content_of(form: Mapping[str, str]) -> dict[str, Any]:
    """The plan's content from the posted form (values as typed, trimmed)."""
    f = {k: v.strip() for k, v in form.items()}
    content: dict[str, Any] = {}
    n = _last(f, MAX_FACTORS, lambda i: [f"profile.factors[{i}].{k}" for k in ("name", "score", "target")])
    if n:
        content["profile"] = {
            "factors": [
                {k: f.get(f"profile.factors[{i}].{k}", "") for k in ("name", "score", "target")} for i in range(n)
            ]
        }
    canvas = {block: f.get(f"canvas.{block}", "") for block in CANVAS}
    if any(canvas.values()):
        content["canvas"] = canvas
    archetype = {"description": f.get("archetype.description", "")}
    archetype.update({name: f.get(f"archetype.{name}", "") for name in ARCHETYPE})
    if any(archetype.values()):
        content["archetype"] = archetype
    paths = {path: f.get(f"exploration.paths.{path}", "") for path in PATHS}
    errc = {key: f.get(f"exploration.errc.{key}", "") for key in ERRC}
    if any(paths.values()) or any(errc.values()):
        content["exploration"] = {"paths": paths, "errc": errc}
    proposal = _proposal(f)
    if proposal:
        content["proposal"] = proposal
    finance = _finance(f)
    if finance:
        content["finance"] = finance
    return content


def _proposal(f: Mapping[str, str]) -> dict[str, Any]:
    def competitor(j: int) -> list[str]:
        return [
            f"proposal.competitors[{j}].name",
            *(f"proposal.competitors[{j}].scores[{i}]" for i in range(MAX_FACTORS)),
        ]

    def row(i: int) -> list[str]:
        scores = (f"proposal.competitors[{j}].scores[{i}]" for j in range(COMPETITORS))
        return [f"proposal.factors[{i}]", f"proposal.proposal[{i}]", *scores]

    competitors = _last(f, COMPETITORS, competitor)
    n = _last(f, MAX_FACTORS, row)
    if not n and not competitors:
        return {}
    return {
        "factors": [f.get(f"proposal.factors[{i}]", "") for i in range(n)],
        "proposal": [f.get(f"proposal.proposal[{i}]", "") for i in range(n)],
        "competitors": [
            {
                "name": f.get(f"proposal.competitors[{j}].name", ""),
                "scores": [f.get(f"proposal.competitors[{j}].scores[{i}]", "") for i in range(n)],
            }
            for j in range(competitors)
        ],
    }


def _finance(f: Mapping[str, str]) -> dict[str, Any]:
    n = _last(f, MONTHS, lambda i: [f"finance.months[{i}].{k}" for k in MONTH_FIELDS])
    funding = {key: f[f"finance.funding.{key}"] for key in FUNDING if f.get(f"finance.funding.{key}")}
    top = {key: f.get(f"finance.{key}", "") for key in ("investment", "annual_discount_rate")}
    if not n and not funding and not any(top.values()):
        return {}
    months = [{k: f.get(f"finance.months[{i}].{k}", "") for k in MONTH_FIELDS} for i in range(n)]
    return {**top, "funding": funding, "months": months}


def rows_shown(values: Mapping[str, str], prefix: str, ceiling: int) -> int:
    """How many rows of a list to offer: the filled ones and two more (at least
    ``MIN_ROWS``, at most ``ceiling``); saving the draft offers more."""
    filled = 0
    for name in values:
        if name.startswith(prefix) and values[name]:
            index = int(name[len(prefix) :].split("]", 1)[0])
            filled = max(filled, index + 1)
    return min(ceiling, max(MIN_ROWS, filled + 2))
