"""A workflow definition drawn as an SVG state graph, with no layout engine: the
preview a coordinator sees before publishing a definition, and the page that shows
one. Pure Python, so it renders on a server without Graphviz and in a PDF alike.

Layout: states in columns by their distance from the initial state (breadth-first
over the transitions), terminal states last, in the order the definition lists
them within a column.
Forward transitions are straight arrows; a transition back to an earlier column, or
within one, is drawn as an arc below the boxes so it never crosses a label. Each
arrow carries a ``<title>`` with the transition's label and guards (a tooltip), the
initial state has a thick border and terminal states a double one.

The SVG is decorative for assistive technology (``role="img"`` with a summary);
pages show the transitions as a table beside it.
"""

from __future__ import annotations

from collections import deque
from html import escape

from crm_platform.workflow.model import Definition

BOX_W, BOX_H = 168, 48
COL_GAP, ROW_GAP = 72, 28
MARGIN = 16
ARC_STEP = 22
INK, MUTED, ACCENT = "#1b1b1b", "#5a5a5a", "#1f5f8b"


def columns(definition: Definition) -> list[list[str]]:
    """States grouped by breadth-first distance from the initial state; terminal
    states (and any the transitions never reach, which a definition refuses) go in
    the last column, so the way through reads left to right and ends on the right."""
    depth = {definition.initial: 0}
    queue = deque([definition.initial])
    while queue:
        state = queue.popleft()
        for t in definition.transitions.values():
            if state in t.sources and t.target not in depth:
                depth[t.target] = depth[state] + 1
                queue.append(t.target)
    ends = [n for n, s in definition.states.items() if s.terminal]
    last = max((d for n, d in depth.items() if n not in ends), default=0) + 1
    out: list[list[str]] = [[] for _ in range(last + 1)]
    for name in definition.states:
        out[last if name in ends else depth.get(name, last)].append(name)
    return [c for c in out if c]


def _wrap(text: str, width: int = 22) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return [*lines, line][:2] if line else lines[:2]


def svg(definition: Definition) -> str:
    cols = columns(definition)
    where: dict[str, tuple[int, int]] = {}  # state -> (x, y) of its box's top-left corner
    for c, names in enumerate(cols):
        for r, name in enumerate(names):
            where[name] = (MARGIN + c * (BOX_W + COL_GAP), MARGIN + r * (BOX_H + ROW_GAP))
    rows = max(len(c) for c in cols)
    boxes_bottom = MARGIN + rows * (BOX_H + ROW_GAP) - ROW_GAP
    width = MARGIN * 2 + len(cols) * (BOX_W + COL_GAP) - COL_GAP
    column_of = {name: c for c, names in enumerate(cols) for name in names}

    edges: list[str] = []
    arcs = 0
    for t in definition.transitions.values():
        tip = escape(t.label + "".join(f" · si {g.message or g.expression}" for g in t.guards))
        for source in t.sources:
            (x1, y1), (x2, y2) = where[source], where[t.target]
            if column_of[t.target] > column_of[source]:
                path = f"M{x1 + BOX_W},{y1 + BOX_H / 2} L{x2 - 4},{y2 + BOX_H / 2}"
            else:  # backwards or sideways: an arc under the boxes
                arcs += 1
                below = boxes_bottom + arcs * ARC_STEP
                path = (
                    f"M{x1 + BOX_W / 2},{y1 + BOX_H} C{x1 + BOX_W / 2},{below} "
                    f"{x2 + BOX_W / 2},{below} {x2 + BOX_W / 2},{y2 + BOX_H + 4}"
                )
            dashed = ' stroke-dasharray="5 4"' if t.guards else ""
            edges.append(
                f'<path d="{path}" fill="none" stroke="{MUTED}" stroke-width="1.6"{dashed} '
                f'marker-end="url(#flecha)"><title>{tip}</title></path>'
            )
    height = boxes_bottom + arcs * ARC_STEP + MARGIN + (ARC_STEP if arcs else 0)

    boxes: list[str] = []
    for name, state in definition.states.items():
        x, y = where[name]
        border = 3 if name == definition.initial else 1.5
        boxes.append(
            f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8" fill="#ffffff" '
            f'stroke="{ACCENT if name == definition.initial else INK}" stroke-width="{border}"/>'
        )
        if state.terminal:
            boxes.append(
                f'<rect x="{x + 4}" y="{y + 4}" width="{BOX_W - 8}" height="{BOX_H - 8}" rx="6" '
                f'fill="none" stroke="{INK}" stroke-width="1"/>'
            )
        lines = _wrap(state.label)
        first = y + BOX_H / 2 - (len(lines) - 1) * 8 + 5
        for i, line in enumerate(lines):
            boxes.append(
                f'<text x="{x + BOX_W / 2}" y="{first + i * 16}" text-anchor="middle" '
                f'font-size="13" fill="{INK}">{escape(line)}</text>'
            )
        if state.due_days:
            boxes.append(
                f'<text x="{x + BOX_W - 6}" y="{y + BOX_H - 5}" text-anchor="end" font-size="10" '
                f'fill="{MUTED}">{state.due_days} d</text>'
            )
    summary = escape(
        f"{definition.label}, versión {definition.version}: {len(definition.states)} estados y "
        f"{len(definition.transitions)} transiciones; empieza en «{definition.states[definition.initial].label}»."
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{summary}" font-family="system-ui, sans-serif">'
        '<defs><marker id="flecha" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" '
        f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{MUTED}"/></marker></defs>'
        + "".join(edges)
        + "".join(boxes)
        + "</svg>"
    )
