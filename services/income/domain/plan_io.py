"""A Fluye plan's content to and from plain data (JSON, a form, a stored document).

Reading collects the problems of every part at once and prefixes each field with
its part (``profile.factors[1].score``, ``finance.months[3].price``), so one
error summary can point at every bad field of the whole plan. Decimals travel as
text, never as floats. Lists of short texts may also come as one text with one
entry per line (a textarea)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from services.income.domain.errors import PlanInvalid
from services.income.domain.finance import FUNDING_LABELS, MONTH_LABELS, FinancialModel
from services.income.domain.fluye import (
    ARCHETYPE_LISTS,
    CANVAS_BLOCKS,
    PART_LABELS,
    BusinessModelCanvas,
    CompetitionExploration,
    Competitor,
    CustomerArchetype,
    ProfileCurve,
    ProfileFactor,
    ProposalCurve,
)
from services.income.domain.plan import PlanContent


def _texts(value: Any) -> tuple[Any, ...]:
    """A list of short texts from a list, or from one text with an entry per line."""
    if isinstance(value, str):
        return tuple(line.strip() for line in value.splitlines() if line.strip())
    if isinstance(value, list | tuple):
        return tuple(value)
    return ()


def _score(value: Any) -> Any:
    """Form values arrive as text: ``"7"`` is the score 7; anything else is left for
    the part's validation to refuse by name."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _profile(data: Mapping[str, Any]) -> ProfileCurve:
    factors = tuple(
        ProfileFactor(_mapping(f).get("name", ""), _score(_mapping(f).get("score")), _score(_mapping(f).get("target")))
        for f in _texts(data.get("factors"))
    )
    return ProfileCurve(factors)


def _canvas(data: Mapping[str, Any]) -> BusinessModelCanvas:
    return BusinessModelCanvas(**{block: _texts(data.get(block)) for block in CANVAS_BLOCKS})


def _archetype(data: Mapping[str, Any]) -> CustomerArchetype:
    lists = {name: _texts(data.get(name)) for name in ARCHETYPE_LISTS}
    return CustomerArchetype(description=data.get("description", ""), **lists)


def _exploration(data: Mapping[str, Any]) -> CompetitionExploration:
    errc = _mapping(data.get("errc"))
    return CompetitionExploration(
        paths=dict(_mapping(data.get("paths"))),
        eliminate=_texts(errc.get("eliminate")),
        reduce=_texts(errc.get("reduce")),
        raise_=_texts(errc.get("raise")),
        create=_texts(errc.get("create")),
    )


def _proposal(data: Mapping[str, Any]) -> ProposalCurve:
    competitors = tuple(
        Competitor(_mapping(c).get("name", ""), tuple(_score(s) for s in _texts(_mapping(c).get("scores"))))
        for c in _texts(data.get("competitors"))
    )
    scores = tuple(_score(s) for s in _texts(data.get("proposal")))
    return ProposalCurve(_texts(data.get("factors")), scores, competitors)


_READERS: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "profile": _profile,
    "canvas": _canvas,
    "archetype": _archetype,
    "exploration": _exploration,
    "proposal": _proposal,
    "finance": FinancialModel.parse,
}


def content_from_mapping(data: Mapping[str, Any]) -> PlanContent:
    """The plan's content; an absent (or null) part stays absent, as in a draft."""
    problems: dict[str, str] = {}
    parts: dict[str, Any] = {}
    for name, read in _READERS.items():
        raw = data.get(name)
        if raw is None:
            continue
        if not isinstance(raw, Mapping):
            problems[name] = f"La parte «{PART_LABELS[name]}» tiene un formato inválido"
            continue
        try:
            parts[name] = read(raw)
        except PlanInvalid as invalid:
            problems.update({f"{name}.{field}": why for field, why in invalid.fields.items()})
    for name in sorted(set(data) - set(_READERS)):
        problems[name] = "Parte del plan desconocida"
    if problems:
        raise PlanInvalid(problems)
    return PlanContent(**parts)


def content_to_mapping(content: PlanContent) -> dict[str, Any]:
    """Plain data that ``content_from_mapping`` reads back to an equal content."""
    data: dict[str, Any] = {}
    if content.profile is not None:
        data["profile"] = {
            "factors": [{"name": f.name, "score": f.score, "target": f.target} for f in content.profile.factors]
        }
    if content.canvas is not None:
        data["canvas"] = {block: list(getattr(content.canvas, block)) for block in CANVAS_BLOCKS}
    if content.archetype is not None:
        archetype = content.archetype
        data["archetype"] = {
            "description": archetype.description,
            **{name: list(getattr(archetype, name)) for name in ARCHETYPE_LISTS},
        }
    if content.exploration is not None:
        found = content.exploration
        data["exploration"] = {
            "paths": {str(path): text for path, text in found.paths.items()},
            "errc": {
                "eliminate": list(found.eliminate),
                "reduce": list(found.reduce),
                "raise": list(found.raise_),
                "create": list(found.create),
            },
        }
    if content.proposal is not None:
        proposal = content.proposal
        data["proposal"] = {
            "factors": list(proposal.factors),
            "proposal": list(proposal.proposal),
            "competitors": [{"name": c.name, "scores": list(c.scores)} for c in proposal.competitors],
        }
    if content.finance is not None:
        model = content.finance
        data["finance"] = {
            "investment": str(model.investment),
            "funding": {name: str(getattr(model.funding, name)) for name in FUNDING_LABELS},
            "months": [{name: str(getattr(m, name)) for name in MONTH_LABELS} for m in model.months],
            "annual_discount_rate": str(model.annual_discount_rate),
        }
    return data
