"""The typesetting the acta PDF is built from: fonts, styles, and the flowables
that put text, tables, images and a QR code on the page.

``Text`` wraps plain text and draws it as-is. There is no markup language involved
at all, so user text such as ``<b>`` or ``&`` shows literally and can never break
the layout; it is also several times faster than reportlab's ``Paragraph``, which
parses markup. ``table`` makes tables whose rows may split across pages. What goes
where on the page is ``services.documents.domain.rendering``.

Fonts (Bitstream Vera, shipped inside reportlab) are registered once at import and
embedded as subsets, so accents render everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import reportlab
import segno
from PIL import Image as PILImage
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, Table, TableStyle

PADDING = 5  # points, inside every table cell
QR_SIZE = 32 * mm
QR_QUIET_ZONE = 4  # modules of white around the code, as the QR standard asks
# A fixed mask pattern: any of the eight gives a valid code (the tests decode it).
# Letting the encoder score all eight by the standard's penalty rules (None) makes a
# marginally more readable code and costs ~10 ms per PDF, a third of the render.
QR_MASK: int | None = 0

# -- fonts: registered once, at import ----------------------------------------------

FONT = "CRMSans"
FONT_BOLD = "CRMSans-Bold"


def _register_fonts() -> None:
    """Bitstream Vera, regular and bold (the files ship inside reportlab)."""
    font_dir = Path(reportlab.__file__).resolve().parent / "fonts"
    for name, file in ((FONT, "Vera.ttf"), (FONT_BOLD, "VeraBd.ttf")):
        pdfmetrics.registerFont(TTFont(name, str(font_dir / file)))


_register_fonts()

# Binary (Flate only) streams: ASCII85 makes every PDF ~25% bigger and slower to
# write, and only helps 7-bit transports, which no acta travels over.
rl_config.useA85 = 0

# -- styles: built once --------------------------------------------------------------

INK = colors.HexColor("#1f2933")
MUTED = colors.HexColor("#52606d")
RULE = colors.HexColor("#9aa5b1")
SHADE = colors.HexColor("#eef2f6")
NOTICE_INK = colors.HexColor("#c77700")
NOTICE_SHADE = colors.HexColor("#fff4e5")


@dataclass(frozen=True)
class TextStyle:
    font: str
    size: float
    leading: float
    color: colors.Color = INK
    space_before: float = 0
    space_after: float = 0
    keep_with_next: bool = False  # headings: never the last line of a page


BODY = TextStyle(FONT, 9.5, 12.5)
LABEL = TextStyle(FONT_BOLD, 9.5, 12.5)
SMALL = TextStyle(FONT, 8, 10.5, MUTED)
MONO_SMALL = TextStyle(FONT, 8, 10)  # hashes and URLs: wrap anywhere, see wrap
OPERATOR_STYLE = TextStyle(FONT_BOLD, 9, 12, MUTED)
TITLE = TextStyle(FONT_BOLD, 16, 20, space_before=3)
NUMBER = TextStyle(FONT, 11, 14, space_after=6)
HEADING = TextStyle(FONT_BOLD, 11.5, 14, space_before=10, space_after=4, keep_with_next=True)


def _cells(*commands: tuple[object, ...]) -> TableStyle:
    padding = [
        ("FONTNAME", (0, 0), (-1, -1), FONT),  # reportlab's default, Helvetica, would be named unembedded
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), PADDING),
        ("RIGHTPADDING", (0, 0), (-1, -1), PADDING),
        ("TOPPADDING", (0, 0), (-1, -1), PADDING - 1),
        ("BOTTOMPADDING", (0, 0), (-1, -1), PADDING),
    ]
    return TableStyle([*padding, *commands])


GRID = _cells(("GRID", (0, 0), (-1, -1), 0.5, RULE), ("BACKGROUND", (0, 0), (0, -1), SHADE))
BOX = _cells(("BOX", (0, 0), (-1, -1), 0.75, RULE))
HEADER_GRID = _cells(("GRID", (0, 0), (-1, -1), 0.5, RULE), ("BACKGROUND", (0, 0), (-1, 0), SHADE))  # a header row
# Two header rows, the first and the third (a 2 x 2 grid of titled quadrants).
QUADRANTS = _cells(
    ("GRID", (0, 0), (-1, -1), 0.5, RULE),
    ("BACKGROUND", (0, 0), (-1, 0), SHADE),
    ("BACKGROUND", (0, 2), (-1, 2), SHADE),
)
NOTICE_BOX = _cells(("BOX", (0, 0), (-1, -1), 0.75, NOTICE_INK), ("BACKGROUND", (0, 0), (-1, -1), NOTICE_SHADE))

# -- flowables -----------------------------------------------------------------------


def table(rows: Sequence[Sequence[object]], widths: list[float], style: TableStyle) -> Table:
    """A table whose rows may split across pages (``splitInRow``), so no user text is
    too tall to lay out."""
    return Table(rows, colWidths=widths, style=style, splitInRow=1, hAlign="LEFT")


class Text(Flowable):
    """Plain text in one style, wrapped to the available width and drawn literally.

    Splits between lines when it does not fit in what is left of a page or cell."""

    def __init__(self, text: str, style: TextStyle) -> None:
        super().__init__()
        self.text = plain(text)
        self.style = style
        self.spaceBefore = style.space_before
        self.spaceAfter = style.space_after
        self.keepWithNext = style.keep_with_next
        self._wrapped: tuple[float, list[str]] | None = None  # (width, lines) of the last wrap

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self.width = availWidth
        self.height = len(self._lines(availWidth)) * self.style.leading
        return self.width, self.height

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:
        lines = self._lines(availWidth)
        fit = int(availHeight // self.style.leading)
        if fit <= 0 or fit >= len(lines):
            return []
        head, tail = Text("", self.style), Text("", self.style)
        head.text, head._wrapped = "\n".join(lines[:fit]), (availWidth, lines[:fit])
        tail.text, tail._wrapped = "\n".join(lines[fit:]), (availWidth, lines[fit:])
        head.spaceAfter = tail.spaceBefore = 0
        return [head, tail]

    def _lines(self, width: float) -> list[str]:
        if self._wrapped is None or self._wrapped[0] != width:
            self._wrapped = (width, wrap(self.text, self.style.font, self.style.size, width))
        return self._wrapped[1]

    def draw(self) -> None:
        style = self.style
        text = self.canv.beginText(0, self.height - style.size)
        text.setFont(style.font, style.size, style.leading)
        text.setFillColor(style.color)
        for line in self._lines(self.width):
            text.textLine(line)
        self.canv.drawText(text)


class SignatureImage(Flowable):
    """A decoded signature image, drawn at a fixed size."""

    def __init__(self, image: PILImage.Image, width: float, height: float) -> None:
        super().__init__()
        self.reader = ImageReader(image)
        self.width = width
        self.height = height

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        self.canv.drawImage(self.reader, 0, 0, self.width, self.height)


class QrCode(Flowable):
    """A QR code of ``url`` (error correction level M), ``QR_SIZE`` wide with its quiet
    zone, drawn as one filled path (one rectangle per run of dark modules)."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.matrix = segno.make_qr(url, error="m", boost_error=False, mask=QR_MASK).matrix
        self.width = self.height = QR_SIZE

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        count = len(self.matrix)
        module = self.width / (count + 2 * QR_QUIET_ZONE)
        path = self.canv.beginPath()
        for r, row in enumerate(self.matrix):
            y = (count - 1 - r + QR_QUIET_ZONE) * module
            c = 0
            while c < count:
                if not row[c]:
                    c += 1
                    continue
                start = c
                while c < count and row[c]:
                    c += 1
                path.rect((start + QR_QUIET_ZONE) * module, y, (c - start) * module, module)
        self.canv.setFillColor(colors.black)
        self.canv.drawPath(path, stroke=0, fill=1)


# -- text ----------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def plain(value: str) -> str:
    """``value`` without control characters, line breaks normalised to ``\\n``."""
    text = value.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return _CONTROL.sub("", text)


def wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """``text`` broken into lines no wider than ``width``: at spaces where possible,
    inside a word only when the word alone is wider (hashes, URLs); ``\\n`` always
    breaks. Runs of spaces collapse to one."""
    width = max(width, size)  # always room for at least one character
    space = pdfmetrics.stringWidth(" ", font, size)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line: list[str] = []
        used = 0.0
        for word in paragraph.split():
            word_width = pdfmetrics.stringWidth(word, font, size)
            if line and used + space + word_width <= width:
                line.append(word)
                used += space + word_width
                continue
            if line:
                lines.append(" ".join(line))
            while word_width > width:  # a word wider than the line: cut it
                cut = longest_fit(word, font, size, width)
                lines.append(word[:cut])
                word = word[cut:]
                word_width = pdfmetrics.stringWidth(word, font, size)
            line, used = [word], word_width
        lines.append(" ".join(line))
    return lines


def longest_fit(word: str, font: str, size: float, width: float) -> int:
    """How many leading characters of ``word`` fit in ``width`` (at least one)."""
    low, high = 1, len(word)
    while low < high:
        middle = (low + high + 1) // 2
        if pdfmetrics.stringWidth(word[:middle], font, size) <= width:
            low = middle
        else:
            high = middle - 1
    return low
