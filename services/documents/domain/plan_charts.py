"""The value curves of an action plan's PDF, drawn as line charts: scores from 0
to 10 on the vertical axis, the factors along the horizontal one, one line per
curve (a distinct colour and dash pattern each, so the chart reads in greyscale
too) and a legend under it. The exact scores go in a table beside the chart."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import Flowable

from services.documents.domain.typesetting import FONT, INK, MUTED, RULE, longest_fit

MAX_SCORE = 10
# One (colour, dash pattern) per curve, in order; more curves reuse them.
STYLES: tuple[tuple[colors.Color, tuple[float, ...]], ...] = (
    (colors.HexColor("#1d4ed8"), ()),
    (colors.HexColor("#c2410c"), (4, 2)),
    (colors.HexColor("#15803d"), (1, 2)),
    (colors.HexColor("#7e22ce"), (6, 2, 1, 2)),
    (colors.HexColor("#475569"), (3, 3)),
)
LABEL_SIZE = 7
LEGEND_SIZE = 8


class LineChart(Flowable):
    """``series`` ((name, scores), ...) over ``factors``, each score 0 to 10."""

    def __init__(
        self,
        factors: Sequence[str],
        series: Sequence[tuple[str, Sequence[int]]],
        width: float,
        plot_height: float = 55 * mm,
    ) -> None:
        super().__init__()
        self.factors = list(factors)
        self.series = [(name, list(scores)) for name, scores in series]
        self.width = width
        self.plot_height = plot_height
        self.legend_rows = (len(self.series) + 2) // 3
        self.height = plot_height + 14 * mm + self.legend_rows * 5 * mm

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        canvas = self.canv
        left, right = 12 * mm, 4 * mm
        bottom = self.legend_rows * 5 * mm + 10 * mm  # legend, then the factor labels
        plot_width = self.width - left - right
        top = bottom + self.plot_height
        step = plot_width / max(1, len(self.factors))

        def x_of(index: int) -> float:
            return left + step * (index + 0.5)

        def y_of(score: int) -> float:
            return bottom + self.plot_height * max(0, min(MAX_SCORE, score)) / MAX_SCORE

        canvas.saveState()
        canvas.setFont(FONT, LABEL_SIZE)
        canvas.setLineWidth(0.4)
        for score in range(0, MAX_SCORE + 1, 2):  # the grid and the scale
            canvas.setStrokeColor(RULE if score else INK)
            canvas.line(left, y_of(score), left + plot_width, y_of(score))
            canvas.setFillColor(MUTED)
            canvas.drawRightString(left - 2, y_of(score) - LABEL_SIZE / 3, str(score))
        canvas.setStrokeColor(INK)
        canvas.line(left, bottom, left, top)
        canvas.setFillColor(INK)
        for index, factor in enumerate(self.factors):  # the factors, cut to their column
            label = _fit(factor, step - 2)
            canvas.drawCentredString(x_of(index), bottom - LABEL_SIZE - 2, label)
        for number, (_, scores) in enumerate(self.series):
            colour, dash = STYLES[number % len(STYLES)]
            canvas.setStrokeColor(colour)
            canvas.setFillColor(colour)
            canvas.setLineWidth(1.6)
            canvas.setDash(list(dash) if dash else [])
            points = [(x_of(i), y_of(s)) for i, s in enumerate(scores[: len(self.factors)])]
            for (x1, y1), (x2, y2) in pairwise(points):
                canvas.line(x1, y1, x2, y2)
            canvas.setDash([])
            for x, y in points:
                canvas.circle(x, y, 1.6, stroke=0, fill=1)
        self._legend(left, plot_width)
        canvas.restoreState()

    def _legend(self, left: float, plot_width: float) -> None:
        canvas = self.canv
        column = plot_width / 3
        canvas.setFont(FONT, LEGEND_SIZE)
        for number, (name, _) in enumerate(self.series):
            colour, dash = STYLES[number % len(STYLES)]
            row, col = divmod(number, 3)
            x = left + col * column
            y = (self.legend_rows - row - 1) * 5 * mm + 2 * mm
            canvas.setStrokeColor(colour)
            canvas.setLineWidth(1.6)
            canvas.setDash(list(dash) if dash else [])
            canvas.line(x, y + 2.5, x + 8 * mm, y + 2.5)
            canvas.setDash([])
            canvas.setFillColor(INK)
            canvas.drawString(x + 10 * mm, y, _fit(name, column - 12 * mm, LEGEND_SIZE))


def _fit(text: str, width: float, size: float = LABEL_SIZE) -> str:
    """``text`` on one line no wider than ``width``, cut with "…" when longer."""
    text = " ".join(text.split())
    if pdfmetrics.stringWidth(text, FONT, size) <= width:
        return text
    ellipsis = "…"
    room = max(1.0, width - pdfmetrics.stringWidth(ellipsis, FONT, size))
    return text[: longest_fit(text, FONT, size, room)] + ellipsis
