"""The state graph of a workflow definition as SVG: every state drawn once in
columns by distance from the initial state, every transition an arrow with its
label, backward transitions as arcs below the boxes, well-formed XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from crm_platform.workflow.graph import columns, svg
from crm_platform.workflow.model import Definition
from tests.unit.workflow_fakes import Rig

SVG = "{http://www.w3.org/2000/svg}"
GI = Path(__file__).resolve().parents[2] / "crm_platform" / "workflow" / "examples" / "gi_unidad_productiva.yaml"


def gi() -> Definition:
    return Rig().engine.check(GI.read_text(encoding="utf-8"))


def test_states_are_in_columns_by_distance_from_the_initial_state() -> None:
    definition = gi()
    cols = columns(definition)
    assert cols[0] == ["diagnostico"] and cols[1] == ["formulacion_plan"] and cols[2] == ["aprobacion"]
    assert sorted(s for c in cols for s in c) == sorted(definition.states)
    assert sorted(cols[-1]) == ["cerrada", "graduada"]  # the ends, on the right, however early they are reachable


def test_the_svg_draws_each_state_once_and_each_transition_with_its_label() -> None:
    definition = gi()
    root = ET.fromstring(svg(definition))  # noqa: S314 (our own output)
    assert root.get("role") == "img" and "Unidad productiva" in (root.get("aria-label") or "")
    texts = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    for state in definition.states.values():
        assert state.label.split()[0] in texts
    arrows = [p for p in root.iter(f"{SVG}path") if p.find(f"{SVG}title") is not None]
    expected = sum(len(t.sources) for t in definition.transitions.values())
    assert len(arrows) == expected
    titles = [p.findtext(f"{SVG}title") for p in arrows]
    assert any("Iniciar la implementación" in (t or "") and "aprobado y sea viable" in (t or "") for t in titles)
    # "Devolver el plan" goes back a column: an arc (a curve), not a straight arrow.
    back = next(p for p in arrows if "Devolver el plan" in (p.findtext(f"{SVG}title") or ""))
    assert " C" in (back.get("d") or "")


def test_terminal_states_have_a_double_border() -> None:
    root = ET.fromstring(svg(gi()))  # noqa: S314 (our own output)
    inner = [r for r in root.iter(f"{SVG}rect") if r.get("fill") == "none"]
    assert len(inner) == 2  # graduada and cerrada
