"""The six parts of a Fluye action plan (issue 14), as typed values.

Each part validates itself on construction and raises ``PlanInvalid`` naming every
bad field (``factors[2].score``, ``canvas.channels``) with a Spanish reason, so an
invalid part never exists. Part 6, the financial model, lives in ``finance``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import StrEnum

from services.income.domain.errors import PlanInvalid

MIN_SCORE, MAX_SCORE = 0, 10
MAX_FACTORS = 12
MAX_ITEMS = 20
MAX_TEXT = 300
MAX_NAME = 80


def _text_problems(field: str, value: str, what: str, limit: int = MAX_TEXT) -> dict[str, str]:
    if not isinstance(value, str) or not value.strip():
        return {field: f"{what} no puede estar vacío"}
    if len(value) > limit:
        return {field: f"{what} admite hasta {limit} caracteres"}
    return {}


def _items_problems(field: str, items: tuple[str, ...], what: str, required: bool = True) -> dict[str, str]:
    """Problems of a list of short texts: required, bounded, no blank entry."""
    if required and not items:
        return {field: f"Escriba al menos un elemento en {what}"}
    if len(items) > MAX_ITEMS:
        return {field: f"{what.capitalize()} admite hasta {MAX_ITEMS} elementos"}
    problems: dict[str, str] = {}
    for index, item in enumerate(items):
        problems.update(_text_problems(f"{field}[{index}]", item, f"El elemento {index + 1} de {what}"))
    return problems


def _score_problems(field: str, score: int, what: str) -> dict[str, str]:
    if isinstance(score, bool) or not isinstance(score, int) or not MIN_SCORE <= score <= MAX_SCORE:
        return {field: f"{what} debe ser un entero entre {MIN_SCORE} y {MAX_SCORE}"}
    return {}


def _factor_names_problems(field: str, names: tuple[str, ...], suffix: str = "") -> dict[str, str]:
    if not names:
        return {field: "Agregue al menos un factor"}
    if len(names) > MAX_FACTORS:
        return {field: f"Se admiten hasta {MAX_FACTORS} factores"}
    problems: dict[str, str] = {}
    seen: set[str] = set()
    for index, name in enumerate(names):
        where = f"{field}[{index}]{suffix}"
        problems.update(_text_problems(where, name, f"El nombre del factor {index + 1}", MAX_NAME))
        key = name.strip().casefold() if isinstance(name, str) else ""
        if key and key in seen:
            problems[where] = f"El factor {name.strip()!r} está repetido"
        seen.add(key)
    return problems


@dataclass(frozen=True)
class ProfileFactor:
    """One factor of the entrepreneur's profile: today's score and the target score."""

    name: str
    score: int
    target: int


@dataclass(frozen=True)
class ProfileCurve:
    """Part 1: the value curve of the entrepreneur's profile (a Blue Ocean strategy
    canvas), with the target curve the plan works towards."""

    factors: tuple[ProfileFactor, ...]

    def __post_init__(self) -> None:
        problems = _factor_names_problems("factors", tuple(f.name for f in self.factors), ".name")
        for index, factor in enumerate(self.factors):
            label = f"El puntaje actual del factor {index + 1}"
            problems.update(_score_problems(f"factors[{index}].score", factor.score, label))
            label = f"El puntaje objetivo del factor {index + 1}"
            problems.update(_score_problems(f"factors[{index}].target", factor.target, label))
        if problems:
            raise PlanInvalid(problems)


CANVAS_BLOCKS = {
    "customer_segments": "segmentos de clientes",
    "value_propositions": "propuesta de valor",
    "channels": "canales",
    "customer_relationships": "relación con los clientes",
    "revenue_streams": "fuentes de ingresos",
    "key_resources": "recursos clave",
    "key_activities": "actividades clave",
    "key_partnerships": "aliados clave",
    "cost_structure": "estructura de costos",
}


@dataclass(frozen=True)
class BusinessModelCanvas:
    """Part 2: the business model canvas, its nine blocks as lists of short texts."""

    customer_segments: tuple[str, ...]
    value_propositions: tuple[str, ...]
    channels: tuple[str, ...]
    customer_relationships: tuple[str, ...]
    revenue_streams: tuple[str, ...]
    key_resources: tuple[str, ...]
    key_activities: tuple[str, ...]
    key_partnerships: tuple[str, ...]
    cost_structure: tuple[str, ...]

    def __post_init__(self) -> None:
        problems: dict[str, str] = {}
        for block, label in CANVAS_BLOCKS.items():
            problems.update(_items_problems(block, getattr(self, block), label))
        if problems:
            raise PlanInvalid(problems)


ARCHETYPE_LISTS = {
    "functional_jobs": "trabajos funcionales",
    "emotional_jobs": "trabajos emocionales",
    "pains": "dolores",
    "gains": "ganancias",
}


@dataclass(frozen=True)
class CustomerArchetype:
    """Part 3: the ideal customer, with the jobs they want done (functional and
    emotional), their pains and the gains they seek."""

    description: str
    functional_jobs: tuple[str, ...]
    emotional_jobs: tuple[str, ...]
    pains: tuple[str, ...]
    gains: tuple[str, ...]

    def __post_init__(self) -> None:
        problems = _text_problems("description", self.description, "La descripción del cliente ideal", 1000)
        for name, label in ARCHETYPE_LISTS.items():
            problems.update(_items_problems(name, getattr(self, name), label))
        if problems:
            raise PlanInvalid(problems)


class Path(StrEnum):
    """The six paths of Blue Ocean strategy for exploring the competition."""

    ALTERNATIVE_INDUSTRIES = "alternative_industries"
    STRATEGIC_GROUPS = "strategic_groups"
    BUYER_CHAIN = "buyer_chain"
    COMPLEMENTARY_OFFERINGS = "complementary_offerings"
    FUNCTIONAL_EMOTIONAL_APPEAL = "functional_emotional_appeal"
    TIME = "time"


PATH_LABELS = {
    Path.ALTERNATIVE_INDUSTRIES: "Industrias alternativas",
    Path.STRATEGIC_GROUPS: "Grupos estratégicos",
    Path.BUYER_CHAIN: "Cadena de compradores",
    Path.COMPLEMENTARY_OFFERINGS: "Productos y servicios complementarios",
    Path.FUNCTIONAL_EMOTIONAL_APPEAL: "Orientación funcional o emocional",
    Path.TIME: "Tendencias en el tiempo",
}

ERRC_LABELS = {"eliminate": "eliminar", "reduce": "reducir", "raise": "incrementar", "create": "crear"}


@dataclass(frozen=True)
class CompetitionExploration:
    """Part 4: what each of the six paths found, and the ERRC grid that follows."""

    paths: Mapping[str, str]  # by Path (a str enum) or its plain value
    eliminate: tuple[str, ...] = ()
    reduce: tuple[str, ...] = ()
    raise_: tuple[str, ...] = ()
    create: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        problems: dict[str, str] = {}
        for path in Path:
            finding = self.paths.get(path, "")
            what = f"El hallazgo de la ruta «{PATH_LABELS[path]}»"
            problems.update(_text_problems(f"paths.{path.value}", finding, what, 1000))
        for key in self.paths:
            if key not in {path.value for path in Path}:
                problems[f"paths.{key}"] = "Ruta de exploración desconocida"
        grid = {"eliminate": self.eliminate, "reduce": self.reduce, "raise": self.raise_, "create": self.create}
        for name, items in grid.items():
            problems.update(_items_problems(f"errc.{name}", items, f"«{ERRC_LABELS[name]}»", required=False))
        if not any(grid.values()):
            problems["errc"] = "La matriz ERIC necesita al menos una acción (eliminar, reducir, incrementar o crear)"
        if problems:
            raise PlanInvalid(problems)


@dataclass(frozen=True)
class Competitor:
    name: str
    scores: tuple[int, ...]


@dataclass(frozen=True)
class ProposalCurve:
    """Part 5: the value curve of the proposal against its competitors, every curve
    scored on the same factors."""

    factors: tuple[str, ...]
    proposal: tuple[int, ...]
    competitors: tuple[Competitor, ...]

    def __post_init__(self) -> None:
        problems = _factor_names_problems("factors", self.factors)
        count = len(self.factors)
        curves = [("proposal", "de la propuesta", self.proposal)]
        if not self.competitors:
            problems["competitors"] = "Agregue al menos un competidor"
        names: set[str] = set()
        for index, competitor in enumerate(self.competitors):
            field = f"competitors[{index}]"
            problems.update(
                _text_problems(f"{field}.name", competitor.name, f"El nombre del competidor {index + 1}", MAX_NAME)
            )
            key = competitor.name.strip().casefold() if isinstance(competitor.name, str) else ""
            if key and key in names:
                problems[f"{field}.name"] = f"El competidor {competitor.name.strip()!r} está repetido"
            names.add(key)
            curves.append((f"{field}.scores", f"del competidor {index + 1}", competitor.scores))
        for field, whose, scores in curves:
            if len(scores) != count:
                problems[field] = f"La curva {whose} debe puntuar los mismos {count} factores (tiene {len(scores)})"
                continue
            for position, score in enumerate(scores):
                what = f"El puntaje {whose} en el factor {position + 1}"
                problems.update(_score_problems(f"{field}[{position}]", score, what))
        if problems:
            raise PlanInvalid(problems)


PART_LABELS = {
    "profile": "1. Curva de valor del perfil del emprendedor",
    "canvas": "2. Modelo de negocio (lienzo)",
    "archetype": "3. Arquetipo del cliente ideal",
    "exploration": "4. Exploración de rutas de competencia y matriz ERIC",
    "proposal": "5. Curva de valor de la propuesta frente a la competencia",
    "finance": "6. Modelo financiero",
}


def block_names() -> tuple[str, ...]:
    """The canvas blocks in the order the canvas shows them."""
    return tuple(f.name for f in fields(BusinessModelCanvas))
