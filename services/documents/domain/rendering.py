"""The PDF of a sealed acta, rendered with reportlab's platypus.

``render_pdf(view)`` lays out, in Spanish and on Letter ("carta") paper:

1. a header: operator, title, "Acta N.º", an amendment notice when the acta
   corrects another one, and where/when/who (times in Colombian time);
2. the template's fields as a label/value table (long values wrap, and a row
   taller than what is left of the page splits across pages);
3. one block per signer: name, ID, role and the evidence of their signature (the
   handwritten image, the fingerprint match, or their refusal);
4. a verification block: the acta's SHA-256, its position in the sealing chain,
   the verification URL and a QR code that encodes it.

Text goes on the page through ``_Text``, a small flowable that wraps plain text
and draws it as-is. There is no markup language involved at all, so user text such
as ``<b>`` or ``&`` shows literally and can never break the layout; it is also
several times faster than reportlab's ``Paragraph``, which parses markup. Platypus
still does the page flow, the tables and the page breaks.

Fonts (Bitstream Vera, shipped inside reportlab) are registered once at import and
embedded as subsets, so accents render everywhere. That is a step toward PDF/A, not
a PDF/A conformance claim (no output intent, no XMP metadata).

Anything that goes wrong raises ``RenderFailed``; a partial PDF is never returned.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import reportlab
import segno
from PIL import Image as PILImage
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, KeepTogether, SimpleDocTemplate, Spacer, Table, TableStyle

from services.documents.domain.errors import RenderFailed
from services.documents.domain.view import (
    ELECTRONIC,
    FINGERPRINT,
    HANDWRITTEN,
    IDENTIFY_1_N,
    REFUSED,
    VERIFY_1_1,
    ActaView,
    FingerprintEvidence,
    SignatureView,
)

OPERATOR = "CRM Social — Programa de Acompañamiento Social"
CREATOR = "CRM Social, servicio de documentos"
TIMEZONE = ZoneInfo("America/Bogota")

PAGE_SIZE = LETTER
MARGIN = 18 * mm
CONTENT_WIDTH = PAGE_SIZE[0] - 2 * MARGIN
LABEL_WIDTH = 55 * mm
PADDING = 5  # points, inside every table cell

# The handwritten signature is drawn inside this box (aspect ratio kept), in
# grayscale (ink colour carries no evidence; it keeps the PDF small and fast) and,
# when larger, downsampled to at most this many pixels (~300 dpi at full size).
SIGNATURE_BOX = (65 * mm, 22 * mm)
SIGNATURE_MAX_PIXELS = (768, 260)
# Refuse absurd images before decoding them (a PNG "bomb" from a broken kiosk).
SIGNATURE_DECODE_LIMIT = 4_000_000  # pixels

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
MONO_SMALL = TextStyle(FONT, 8, 10)  # hashes and URLs: wrap anywhere, see _wrap
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
NOTICE_BOX = _cells(("BOX", (0, 0), (-1, -1), 0.75, NOTICE_INK), ("BACKGROUND", (0, 0), (-1, -1), NOTICE_SHADE))

_ROLES = {"participante": "Participante", "gestor": "Gestor(a) social"}
_MODES = {VERIFY_1_1: "verificación 1:1", IDENTIFY_1_N: "identificación 1:N"}
_FINGER_WORDS = {"indice": "índice", "menique": "meñique"}
_MONTHS = (
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
)


# -- the entry point -----------------------------------------------------------------


def render_pdf(view: ActaView) -> bytes:
    """The PDF of ``view``; raises ``RenderFailed`` (never returns a partial PDF)."""
    try:
        story = _story(view)
        out = io.BytesIO()
        doc = SimpleDocTemplate(
            out,
            pagesize=PAGE_SIZE,
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=MARGIN,
            bottomMargin=MARGIN + 6 * mm,
            title=_plain(f"{view.title} — Acta N.º {view.acta_id}"),
            author=_plain(f"{view.gestor_name} (CRM Social)"),
            subject=_plain(view.acta_id),
            creator=CREATOR,
            keywords=[_plain(view.template_key), _plain(view.content_hash)],
            lang="es-CO",
            initialFontName=FONT,  # else every page names Helvetica, a font that is not embedded
        )
        footer = _PageFooter(view.acta_id)
        doc.build(story, onFirstPage=footer, onLaterPages=footer)
        return out.getvalue()
    except RenderFailed:
        raise
    except Exception as exc:
        raise RenderFailed(view.acta_id, f"{type(exc).__name__}: {exc}") from exc


# -- the document, top to bottom -----------------------------------------------------


def _story(view: ActaView) -> list[Flowable]:
    story: list[Flowable] = [
        _Text(OPERATOR, OPERATOR_STYLE),
        _Text(view.title, TITLE),
        _Text(f"Acta N.º {view.acta_id}", NUMBER),
    ]
    if view.amends:
        notice = _Text(f"Este documento corrige el acta {view.amends}", LABEL)
        story += [_table([[notice]], [CONTENT_WIDTH], NOTICE_BOX), Spacer(1, 6)]
    story.append(_facts(view))

    story.append(_Text("Contenido del acta", HEADING))
    if view.fields:
        story.append(_label_value_table([(f.label, f.value) for f in view.fields]))
    else:
        story.append(_Text("Esta acta no tiene campos registrados.", BODY))

    story.append(_Text("Participantes y firmas", HEADING))
    if not view.signatures:
        story.append(_Text("Esta acta no tiene firmas registradas.", BODY))
    for signature in view.signatures:
        # Each signer's block moves whole to the next page rather than split, unless
        # it is taller than a page (then it splits: nothing is too tall to render).
        story += [KeepTogether([_signature_block(view.acta_id, signature)]), Spacer(1, 5)]

    story += [Spacer(1, 6), KeepTogether([_verification_block(view)])]
    return story


def _facts(view: ActaView) -> Table:
    """Where, when and who."""
    rows = [
        ("Lugar", view.place),
        ("Fecha y hora", _when(view.captured_at)),
        ("Comunidad", view.community_name),
        ("Gestor(a) social", view.gestor_name),
    ]
    if view.gps is not None:
        latitude, longitude = view.gps
        rows.append(("Coordenadas", f"{latitude:.5f}, {longitude:.5f}"))
    rows += [("Sellada el", _when(view.sealed_at)), ("Plantilla", view.template_key)]
    return _label_value_table(rows)


def _label_value_table(rows: Sequence[tuple[str, str]]) -> Table:
    data = [[_Text(label, LABEL), _Text(value, BODY)] for label, value in rows]
    return _table(data, [LABEL_WIDTH, CONTENT_WIDTH - LABEL_WIDTH], GRID)


def _signature_block(acta_id: str, signature: SignatureView) -> Table:
    """Who signed (left) beside the evidence of how (right)."""
    details = [f"Rol: {_ROLES.get(signature.role, signature.role)}"]
    if signature.national_id:
        details.insert(0, f"Documento: {signature.national_id}")
    who: list[Flowable] = [_Text(signature.name, LABEL), _Text("\n".join(details), BODY)]
    if signature.signed_at is not None and signature.method != REFUSED:
        who.append(_Text(f"Firmó: {_when(signature.signed_at)}", SMALL))
    right = SIGNATURE_BOX[0] + 2 * PADDING + 6
    return _table([[who, _evidence(acta_id, signature)]], [CONTENT_WIDTH - right, right], BOX)


def _evidence(acta_id: str, signature: SignatureView) -> list[Flowable]:
    if signature.method == HANDWRITTEN:
        if not signature.handwritten_png:
            raise RenderFailed(acta_id, f"{signature.name!r} signed by hand but the signature image is missing")
        return [_Text("Firma manuscrita", SMALL), _signature_image(acta_id, signature)]
    if signature.method == FINGERPRINT:
        if signature.fingerprint is None:
            raise RenderFailed(
                acta_id, f"{signature.name!r} signed with a fingerprint but the match evidence is missing"
            )
        return _fingerprint_lines(signature.fingerprint)
    if signature.method == REFUSED:
        reason = signature.refusal_reason.strip() or "sin motivo registrado"
        lines: list[Flowable] = [_Text(f"Se negó a firmar: {reason}", BODY)]
        if signature.signed_at is not None:
            lines.append(_Text(_when(signature.signed_at), SMALL))
        return lines
    if signature.method == ELECTRONIC:
        return [_Text("Firma electrónica", LABEL), _Text("Usuario autenticado en CRM Social", SMALL)]
    raise RenderFailed(acta_id, f"unknown signature method {signature.method!r} for {signature.name!r}")


def _fingerprint_lines(evidence: FingerprintEvidence) -> list[Flowable]:
    template = evidence.template_sha256
    short = f"{template[:16]}…{template[-8:]}" if len(template) > 24 else template
    details = (
        f"Puntaje: {evidence.score} · Dedo: {_finger(evidence.finger)}\n"
        f"Sensor: {evidence.sensor_id}\n"
        f"Modo: {_MODES.get(evidence.mode, evidence.mode)}\n"
        f"Coincidencia: {_when(evidence.matched_at)}\n"
        f"Plantilla (SHA-256): {short}"
    )
    return [_Text("Firma con huella dactilar", LABEL), _Text(details, SMALL)]


def _verification_block(view: ActaView) -> Table:
    """The acta's hash, chain position and verification URL beside a QR code of the URL."""
    position = f"N.º {view.chain_seq}" if view.chain_seq is not None else "pendiente de registro"
    text: list[Flowable] = [
        _Text("Huella digital del acta (SHA-256)", LABEL),
        _Text(view.content_hash, MONO_SMALL),
        Spacer(1, 5),
        _Text(f"Posición en la cadena de sellado: {position}", BODY),
        Spacer(1, 5),
        _Text("Verifique este documento en:", LABEL),
        _Text(view.verify_url, MONO_SMALL),
    ]
    qr_column = QR_SIZE + 2 * PADDING
    return _table([[text, _QrCode(view.verify_url)]], [CONTENT_WIDTH - qr_column, qr_column], BOX)


class _PageFooter:
    """Draws "CRM Social · Acta N.º … · Página n" at the foot of every page."""

    def __init__(self, acta_id: str) -> None:
        self.text = _plain(f"CRM Social · Acta N.º {acta_id}").replace("\n", " ")

    def __call__(self, canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7.5)
        canvas.setFillColor(MUTED)
        canvas.drawString(MARGIN, MARGIN, self.text)
        canvas.drawRightString(PAGE_SIZE[0] - MARGIN, MARGIN, f"Página {doc.page}")
        canvas.restoreState()


# -- flowables -----------------------------------------------------------------------


def _table(rows: Sequence[Sequence[object]], widths: list[float], style: TableStyle) -> Table:
    """A table whose rows may split across pages (``splitInRow``), so no user text is
    too tall to lay out."""
    return Table(rows, colWidths=widths, style=style, splitInRow=1, hAlign="LEFT")


class _Text(Flowable):
    """Plain text in one style, wrapped to the available width and drawn literally.

    Splits between lines when it does not fit in what is left of a page or cell."""

    def __init__(self, text: str, style: TextStyle) -> None:
        super().__init__()
        self.text = _plain(text)
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
        head, tail = _Text("", self.style), _Text("", self.style)
        head.text, head._wrapped = "\n".join(lines[:fit]), (availWidth, lines[:fit])
        tail.text, tail._wrapped = "\n".join(lines[fit:]), (availWidth, lines[fit:])
        head.spaceAfter = tail.spaceBefore = 0
        return [head, tail]

    def _lines(self, width: float) -> list[str]:
        if self._wrapped is None or self._wrapped[0] != width:
            self._wrapped = (width, _wrap(self.text, self.style.font, self.style.size, width))
        return self._wrapped[1]

    def draw(self) -> None:
        style = self.style
        text = self.canv.beginText(0, self.height - style.size)
        text.setFont(style.font, style.size, style.leading)
        text.setFillColor(style.color)
        for line in self._lines(self.width):
            text.textLine(line)
        self.canv.drawText(text)


class _SignatureImage(Flowable):
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


def _signature_image(acta_id: str, signature: SignatureView) -> _SignatureImage:
    """The handwritten PNG, checked, flattened onto white (PDF/A allows no
    transparency), in grayscale and downsampled, sized to fit ``SIGNATURE_BOX``."""
    png = signature.handwritten_png or b""
    try:
        with PILImage.open(io.BytesIO(png), formats=["PNG"]) as opened:
            if opened.width * opened.height > SIGNATURE_DECODE_LIMIT:
                raise ValueError(f"{opened.width}x{opened.height} pixels is too large")
            opened.load()
            image = _gray_on_white(opened)
    except Exception as exc:  # Pillow raises several types for broken data
        reason = f"the handwritten signature of {signature.name!r} is not a readable PNG ({exc})"
        raise RenderFailed(acta_id, reason) from exc
    image.thumbnail(SIGNATURE_MAX_PIXELS)
    box_width, box_height = SIGNATURE_BOX
    scale = min(box_width / image.width, box_height / image.height)
    return _SignatureImage(image, image.width * scale, image.height * scale)


def _gray_on_white(image: PILImage.Image) -> PILImage.Image:
    """A grayscale copy of ``image`` with any transparency composited onto white."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        gray_alpha = image.convert("LA")
        white = PILImage.new("L", gray_alpha.size, 255)
        white.paste(gray_alpha.getchannel("L"), mask=gray_alpha.getchannel("A"))
        return white
    return image.convert("L")


class _QrCode(Flowable):
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


def _plain(value: str) -> str:
    """``value`` without control characters, line breaks normalised to ``\\n``."""
    text = value.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return _CONTROL.sub("", text)


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
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
                cut = _longest_fit(word, font, size, width)
                lines.append(word[:cut])
                word = word[cut:]
                word_width = pdfmetrics.stringWidth(word, font, size)
            line, used = [word], word_width
        lines.append(" ".join(line))
    return lines


def _longest_fit(word: str, font: str, size: float, width: float) -> int:
    """How many leading characters of ``word`` fit in ``width`` (at least one)."""
    low, high = 1, len(word)
    while low < high:
        middle = (low + high + 1) // 2
        if pdfmetrics.stringWidth(word[:middle], font, size) <= width:
            low = middle
        else:
            high = middle - 1
    return low


def _when(moment: datetime) -> str:
    """``moment`` in Colombian time, e.g. "14 de marzo de 2025, 10:32 (hora de Colombia)".
    A naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(TIMEZONE)
    return f"{local.day} de {_MONTHS[local.month - 1]} de {local.year}, {local:%H:%M} (hora de Colombia)"


def _finger(code: str) -> str:
    """A sensor's finger code in Spanish words: "indice_derecho" -> "índice derecho"."""
    return " ".join(_FINGER_WORDS.get(word, word) for word in code.lower().split("_") if word)
