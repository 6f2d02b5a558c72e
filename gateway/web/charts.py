"""One chart format for the web, PDFs and offline use: a Vega-Lite spec (built
with altair), rendered to SVG on the server by vl-convert (no JavaScript, no CDN).
Every chart comes with its data as a table (the accessible alternative) and as
CSV and XLSX downloads."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import altair as alt
import vl_convert as vlc
from fastapi.responses import Response
from openpyxl import Workbook

WIDTH, HEIGHT = 560, 220
ACCENT = "#1f5f8b"


@dataclass(frozen=True)
class Table:
    """Rows of data with Spanish column headers: what a chart draws, and what its
    table alternative and downloads hold."""

    title: str
    columns: Sequence[tuple[str, str]]  # (key, header)
    rows: Sequence[dict[str, Any]]

    def header(self) -> list[str]:
        return [label for _, label in self.columns]

    def values(self) -> list[list[Any]]:
        return [[_cell(row.get(key, "")) for key, _ in self.columns] for row in self.rows]


def _cell(value: Any) -> Any:
    """A value as a spreadsheet may receive it: text that a spreadsheet would run
    as a formula (a name typed as ``=HYPERLINK(...)``) is kept as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def bar_spec(table: Table, x: str, y: str, color: str | None = None) -> dict[str, Any]:
    """A bar chart of ``y`` by ``x`` (stacked by ``color``) as a Vega-Lite spec."""
    labels = dict(table.columns)
    encoding: dict[str, Any] = {
        "x": alt.X(f"{x}:O", title=labels[x], axis=alt.Axis(labelAngle=-45)),
        "y": alt.Y(f"{y}:Q", title=labels[y]),
        "tooltip": [alt.Tooltip(f"{k}:{'Q' if k == y else 'N'}", title=v) for k, v in table.columns],
    }
    mark: dict[str, Any] = {}
    if color:
        encoding["color"] = alt.Color(f"{color}:N", title=labels[color])
    else:
        mark["color"] = ACCENT
    chart = (
        alt.Chart(alt.Data(values=list(table.rows)), title=table.title)
        .mark_bar(**mark)
        .encode(**encoding)
        .properties(width=WIDTH, height=HEIGHT)
    )
    spec: dict[str, Any] = chart.to_dict()
    return spec


def line_spec(table: Table, x: str, y: str, color: str) -> dict[str, Any]:
    """One line of ``y`` over ``x`` per value of ``color`` (value curves), in the
    order the rows give ``x``, as a Vega-Lite spec."""
    labels = dict(table.columns)
    order = list(dict.fromkeys(row[x] for row in table.rows))
    chart = (
        alt.Chart(alt.Data(values=list(table.rows)), title=table.title)
        .mark_line(point=True)
        .encode(
            x=alt.X(f"{x}:O", title=labels[x], sort=order, axis=alt.Axis(labelAngle=-45)),
            y=alt.Y(f"{y}:Q", title=labels[y]),
            color=alt.Color(f"{color}:N", title=labels[color]),
            tooltip=[alt.Tooltip(f"{k}:{'Q' if k == y else 'N'}", title=v) for k, v in table.columns],
        )
        .properties(width=WIDTH, height=HEIGHT)
    )
    spec: dict[str, Any] = chart.to_dict()
    return spec


def svg(spec: dict[str, Any]) -> str:
    return str(vlc.vegalite_to_svg(spec))


def warm_up() -> None:
    """The first conversion starts vl-convert's engine (seconds); do it at start-up."""
    svg(bar_spec(Table("", (("a", "a"), ("b", "b")), [{"a": "x", "b": 1}]), "a", "b"))


def to_csv(table: Table) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table.header())
    writer.writerows(table.values())
    return ("\ufeff" + out.getvalue()).encode()  # BOM: Excel opens accents right


def to_xlsx(table: Table) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = table.title[:31] or "Datos"
    sheet.append(table.header())
    for row in table.values():
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


DOWNLOADS = {
    "csv": ("text/csv; charset=utf-8", to_csv),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", to_xlsx),
}


def download(table: Table, fmt: str, name: str) -> Response:
    """``table`` as a CSV or XLSX attachment named ``name.fmt`` (``fmt`` in DOWNLOADS)."""
    media, convert = DOWNLOADS[fmt]
    headers = {"Content-Disposition": f'attachment; filename="{name}.{fmt}"', "Cache-Control": "no-store"}
    return Response(convert(table), media_type=media, headers=headers)
