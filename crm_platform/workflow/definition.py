"""Reading and checking a definition document (YAML in, JSON stored).

Shape (keys in English, labels and messages in Spanish)::

    component: gi.unidad_productiva
    label: Unidad productiva
    initial: diagnostico
    states:
      diagnostico: {label: Diagnóstico, due_days: 30}
      cerrada: {label: Cerrada, terminal: true}
    transitions:
      - name: cerrar
        label: Cerrar
        from: [diagnostico]          # a name or a list
        to: cerrada
        requires_reason: true        # optional
        requires_acta: false         # optional: an acta must evidence it
        guards:                      # optional, all must pass, in order
          - {name: plan_viable, expr: "plan.aprobado && plan.viable", message: "..."}
        actions:                     # optional, run after commit through the outbox
          - {name: notify, params: {role: gestor, message: "..."}}

``parse`` refuses (``DefinitionInvalid``) a document that does not have this
shape, names an unknown state, has a state no path from ``initial`` reaches, a
transition out of a terminal state, a guard that does not compile, or an action
the registry does not know (or whose parameters it refuses), each problem with
its place (``states.<name>`` / ``transitions.<name>``), its field and the reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from crm_platform.workflow.errors import DefinitionInvalid, Problem
from crm_platform.workflow.guards import Guard, GuardSyntaxError
from crm_platform.workflow.model import ActionSpec, Definition, State, Transition

_COMPONENT = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")

# name -> check of the parameters (a list of Spanish reasons, empty when fine)
ActionChecks = Mapping[str, Callable[[Mapping[str, Any]], list[str]]]


def load_yaml(text: str) -> dict[str, Any]:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (línea {mark.line + 1}, columna {mark.column + 1})" if mark is not None else ""
        raise DefinitionInvalid([Problem("documento", "", f"el YAML no es válido{where}")]) from None
    if not isinstance(document, dict):
        raise DefinitionInvalid([Problem("documento", "", "debe ser un objeto con states y transitions")])
    return document


def parse(document: Mapping[str, Any], version: int, actions: ActionChecks) -> Definition:
    """The checked definition, or ``DefinitionInvalid`` listing every problem found."""
    problems: list[Problem] = []
    try:
        json.dumps(document)  # stored as JSON: YAML dates, sets or tags have no place in it
    except (TypeError, ValueError):
        problems.append(Problem("documento", "", "solo admite textos, números, true/false, listas y objetos"))
    component = _text(document, "component", "documento", problems)
    if component and not _COMPONENT.match(component):
        problems.append(Problem("documento", "component", "use minúsculas, dígitos y _ separados por puntos"))
    label = _text(document, "label", "documento", problems, required=False) or component
    states = _states(document.get("states"), problems)
    transitions = _transitions(document.get("transitions"), states, actions, problems)
    _check_cosignatures(transitions, states, problems)
    initial = _text(document, "initial", "documento", problems)
    if initial and states and initial not in states:
        problems.append(Problem("documento", "initial", f"el estado '{initial}' no existe"))
    elif initial in states:
        for name in sorted(set(states) - _reachable(initial, transitions)):
            problems.append(Problem(f"states.{name}", "", f"ningún camino desde '{initial}' llega a este estado"))
    if problems:
        raise DefinitionInvalid(problems)
    return Definition(component, version, label, initial, states, transitions, dict(document))


def _text(doc: Mapping[str, Any], key: str, place: str, problems: list[Problem], required: bool = True) -> str:
    value = doc.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        problems.append(Problem(place, key, "es obligatorio y debe ser un texto"))
        return ""
    return value.strip()


def _states(raw: Any, problems: list[Problem]) -> dict[str, State]:
    if not isinstance(raw, dict) or not raw:
        problems.append(Problem("documento", "states", "debe definir al menos un estado"))
        return {}
    states: dict[str, State] = {}
    for name, spec in raw.items():
        place = f"states.{name}"
        spec = spec if isinstance(spec, dict) else {}
        label = _text(spec, "label", place, problems)
        terminal = spec.get("terminal", False)
        if not isinstance(terminal, bool):
            problems.append(Problem(place, "terminal", "debe ser true o false"))
        due = spec.get("due_days")
        if due is not None and (isinstance(due, bool) or not isinstance(due, int) or not 1 <= due <= 3650):
            problems.append(Problem(place, "due_days", "debe ser un número entero de días entre 1 y 3650"))
            due = None
        states[str(name)] = State(str(name), label, terminal is True, due)
    return states


def _transitions(
    raw: Any, states: Mapping[str, State], actions: ActionChecks, problems: list[Problem]
) -> dict[str, Transition]:
    if not isinstance(raw, list):
        problems.append(Problem("documento", "transitions", "debe ser una lista de transiciones"))
        return {}
    result: dict[str, Transition] = {}
    for index, spec in enumerate(raw):
        spec = spec if isinstance(spec, dict) else {}
        name = str(spec["name"]) if isinstance(spec.get("name"), str) else f"#{index + 1}"
        place = f"transitions.{name}"
        _text(spec, "name", place, problems)
        if name in result:
            problems.append(Problem(place, "name", "el nombre de la transición está repetido"))
        label = _text(spec, "label", place, problems)
        sources = spec.get("from")
        sources = [sources] if isinstance(sources, str) else sources
        if not isinstance(sources, list) or not sources:
            problems.append(Problem(place, "from", "debe nombrar uno o más estados de origen"))
            sources = []
        for source in sources:
            if source not in states:
                problems.append(Problem(place, "from", f"el estado '{source}' no existe"))
            elif states[source].terminal:
                problems.append(Problem(place, "from", f"'{source}' es un estado final: no puede tener salidas"))
        target = spec.get("to")
        if target not in states:
            problems.append(Problem(place, "to", f"el estado '{target}' no existe"))
        guards = _guards(spec.get("guards"), place, problems)
        specs = _actions(spec.get("actions"), place, actions, problems)
        flags = {key: spec.get(key, False) for key in ("requires_reason", "requires_acta")}
        for key, value in flags.items():
            if not isinstance(value, bool):
                problems.append(Problem(place, key, "debe ser true o false"))
        result[name] = Transition(
            name, label, tuple(str(s) for s in sources), str(target), guards, specs,
            flags["requires_reason"] is True, flags["requires_acta"] is True,
        )  # fmt: skip
    return result


def _guards(raw: Any, place: str, problems: list[Problem]) -> tuple[Guard, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.append(Problem(place, "guards", "debe ser una lista de condiciones"))
        return ()
    guards: list[Guard] = []
    for index, spec in enumerate(raw):
        spec = spec if isinstance(spec, dict) else {}
        name = str(spec["name"]) if isinstance(spec.get("name"), str) else f"#{index + 1}"
        where = f"guards.{name}"
        expression, message = spec.get("expr"), spec.get("message")
        if not isinstance(spec.get("name"), str):
            problems.append(Problem(place, where + ".name", "cada condición necesita un nombre"))
        if not isinstance(message, str) or not message.strip():
            problems.append(Problem(place, where + ".message", "falta el mensaje que verá el usuario"))
        if not isinstance(expression, str) or not expression.strip():
            problems.append(Problem(place, where + ".expr", "falta la expresión CEL"))
            continue
        try:
            guards.append(Guard.compile(name, expression, str(message or "")))
        except GuardSyntaxError as exc:
            problems.append(Problem(place, where + ".expr", str(exc)))
    return tuple(guards)


def _actions(raw: Any, place: str, checks: ActionChecks, problems: list[Problem]) -> tuple[ActionSpec, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.append(Problem(place, "actions", "debe ser una lista de acciones"))
        return ()
    specs: list[ActionSpec] = []
    for index, spec in enumerate(raw):
        spec = spec if isinstance(spec, dict) else {}
        where = f"actions.{index + 1}"
        name, params = str(spec.get("name")), spec.get("params") or {}
        if name not in checks:
            problems.append(Problem(place, where + ".name", f"la acción '{name}' no existe"))
            continue
        if not isinstance(params, dict):
            problems.append(Problem(place, where + ".params", "debe ser un objeto"))
            continue
        problems.extend(Problem(place, where + ".params", reason) for reason in checks[name](params))
        specs.append(ActionSpec(str(name), dict(params)))
    return tuple(specs)


def _check_cosignatures(
    transitions: Mapping[str, Transition], states: Mapping[str, State], problems: list[Problem]
) -> None:
    """A co-signature holds back transitions out of the state its transition enters:
    it must name such transitions, and cannot be asked on entering a final state."""
    for t in transitions.values():
        for index, action in enumerate(t.actions):
            if action.name != "require_cosignature" or t.target not in states:
                continue
            where = f"actions.{index + 1}.params"
            leaving = {n for n, o in transitions.items() if t.target in o.sources}
            if states[t.target].terminal:
                problems.append(
                    Problem(
                        f"transitions.{t.name}",
                        where,
                        "una firma conjunta al entrar en un estado final no detiene nada",
                    )
                )
            blocks = action.params.get("blocks")
            for name in blocks if isinstance(blocks, list) else ():
                if name not in leaving:
                    problems.append(
                        Problem(
                            f"transitions.{t.name}", where, f"'{name}' no es una transición que salga de '{t.target}'"
                        )
                    )


def _reachable(initial: str, transitions: Mapping[str, Transition]) -> set[str]:
    seen, frontier = {initial}, [initial]
    while frontier:
        state = frontier.pop()
        for t in transitions.values():
            if state in t.sources and t.target not in seen:
                seen.add(t.target)
                frontier.append(t.target)
    return seen
