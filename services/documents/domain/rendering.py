"""The PDF of a sealed acta, rendered with reportlab's platypus.

``render_pdf(view)`` lays out, in Spanish and on Letter ("carta") paper:

1. a header: operator, title, "Acta N.º <folio>", a notice when the acta
   corrects another one (which, by folio, and why), and where/when/who (times
   in Colombian time; the gestor by name, document and job title);
2. a verification block, on the first page: the acta's folio, its SHA-256, its
   position in the sealing chain, the verification URL and a QR code of it;
3. the template's fields as a label/value table (long values wrap, and a row
   taller than what is left of the page splits across pages);
4. one block per signer: name, ID, role (a staff signer's job title) and the
   evidence of their signature (the handwritten image, the fingerprint match, or
   their refusal).

Every page ends with "Acta N.º <folio> · Página n de N".

Text, tables, the signature image and the QR code go on the page through the
flowables of ``services.documents.domain.typesetting`` (plain text drawn as-is, no
markup; fonts embedded as subsets, so accents render everywhere). That is a step
toward PDF/A, not a PDF/A conformance claim (no output intent, no XMP metadata).
Platypus does the page flow, the tables and the page breaks.

Anything that goes wrong raises ``RenderFailed``; a partial PDF is never returned.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from PIL import Image as PILImage
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, KeepTogether, SimpleDocTemplate, Spacer, Table

from crm_platform.dates import spanish_datetime
from services.documents.domain.errors import RenderFailed
from services.documents.domain.fingerprint import fingerprint_label, verified
from services.documents.domain.typesetting import (
    BODY,
    BOX,
    FONT,
    GRID,
    HEADING,
    LABEL,
    MONO_SMALL,
    MUTED,
    NOTICE_BOX,
    NUMBER,
    OPERATOR_STYLE,
    PADDING,
    QR_SIZE,
    SMALL,
    TITLE,
    QrCode,
    SignatureImage,
    Text,
    plain,
    table,
)
from services.documents.domain.typesetting import FONT_BOLD as FONT_BOLD  # benchmarks/bench_pdf.py draws with it
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

PAGE_SIZE = LETTER
MARGIN = 18 * mm
CONTENT_WIDTH = PAGE_SIZE[0] - 2 * MARGIN
LABEL_WIDTH = 55 * mm

# The handwritten signature is drawn inside this box (aspect ratio kept), in
# grayscale (ink colour carries no evidence; it keeps the PDF small and fast) and,
# when larger, downsampled to at most this many pixels (~300 dpi at full size).
SIGNATURE_BOX = (65 * mm, 22 * mm)
SIGNATURE_MAX_PIXELS = (768, 260)
# Refuse absurd images before decoding them (a PNG "bomb" from a broken kiosk).
SIGNATURE_DECODE_LIMIT = 4_000_000  # pixels

_ROLES = {"participante": "Participante", "gestor": "Gestor(a) social"}
_MODES = {VERIFY_1_1: "verificación 1:1", IDENTIFY_1_N: "identificación 1:N"}
# Finger codes: the actas service's ("right_index") and the sensor's ("indice_derecho").
_FINGER_WORDS = {
    "indice": "índice",
    "menique": "meñique",
    "thumb": "pulgar",
    "index": "índice",
    "middle": "medio",
    "ring": "anular",
    "little": "meñique",
    "right": "derecho",
    "left": "izquierdo",
}
_SIDES = ("right", "left")


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
            title=plain(f"{view.title} — Acta N.º {_number(view)}"),
            author=plain(f"{view.gestor_name} (CRM Social)"),
            subject=plain(view.acta_id),
            creator=CREATOR,
            keywords=[plain(view.template_key), plain(view.content_hash)],
            lang="es-CO",
            initialFontName=FONT,  # else every page names Helvetica, a font that is not embedded
        )
        doc.build(story, canvasmaker=footed(f"CRM Social · Acta N.º {_number(view)}"))
        return out.getvalue()
    except RenderFailed:
        raise
    except Exception as exc:
        raise RenderFailed(view.acta_id, f"{type(exc).__name__}: {exc}") from exc


# -- the document, top to bottom -----------------------------------------------------


def _story(view: ActaView) -> list[Flowable]:
    story: list[Flowable] = [
        Text(OPERATOR, OPERATOR_STYLE),
        Text(view.title, TITLE),
        Text(f"Acta N.º {_number(view)}", NUMBER),
    ]
    if view.amends:
        notice: list[Flowable] = [Text(f"Corrige el acta {view.amends_folio or view.amends}", LABEL)]
        if view.amendment_reason:
            notice.append(Text(f"Motivo de la corrección: {view.amendment_reason}", BODY))
        story += [table([[notice]], [CONTENT_WIDTH], NOTICE_BOX), Spacer(1, 6)]
    story.append(_facts(view))
    story += [Spacer(1, 6), KeepTogether([_verification_block(view)])]

    story.append(Text("Contenido del acta", HEADING))
    if view.fields:
        story.append(_label_value_table([(f.label, f.value) for f in view.fields]))
    else:
        story.append(Text("Esta acta no tiene campos registrados.", BODY))

    story.append(Text("Participantes y firmas", HEADING))
    if not view.signatures:
        story.append(Text("Esta acta no tiene firmas registradas.", BODY))
    for signature in view.signatures:
        # Each signer's block moves whole to the next page rather than split, unless
        # it is taller than a page (then it splits: nothing is too tall to render).
        story += [KeepTogether([_signature_block(view.acta_id, signature)]), Spacer(1, 5)]
    return story


def _number(view: ActaView) -> str:
    """The acta's number as people cite it: its folio (its id before folios existed)."""
    return view.folio or view.acta_id


def _facts(view: ActaView) -> Table:
    """Where, when and who."""
    rows = [
        ("Lugar", view.place),
        ("Fecha y hora", _when(view.captured_at)),
        ("Comunidad", view.community_name),
        ("Gestor(a) social", view.gestor_name),
    ]
    if view.gestor_document:
        rows.append(("Documento del gestor(a)", view.gestor_document))
    if view.gestor_title:
        rows.append(("Cargo", view.gestor_title))
    if view.gps is not None:
        latitude, longitude = view.gps
        rows.append(("Coordenadas", f"{latitude:.5f}, {longitude:.5f}"))
    rows += [("Sellada el", _when(view.sealed_at)), ("Plantilla", view.template_key)]
    return _label_value_table(rows)


def _label_value_table(rows: Sequence[tuple[str, str]]) -> Table:
    data = [[Text(label, LABEL), Text(value, BODY)] for label, value in rows]
    return table(data, [LABEL_WIDTH, CONTENT_WIDTH - LABEL_WIDTH], GRID)


def _signature_block(acta_id: str, signature: SignatureView) -> Table:
    """Who signed (left) beside the evidence of how (right)."""
    details = [f"Rol: {_signer_role(signature)}"]
    if signature.national_id:
        details.insert(0, f"Documento: {signature.national_id}")
    who: list[Flowable] = [Text(signature.name, LABEL), Text("\n".join(details), BODY)]
    if signature.signed_at is not None and signature.method != REFUSED:
        who.append(Text(f"Firmó: {_when(signature.signed_at)}", SMALL))
    right = SIGNATURE_BOX[0] + 2 * PADDING + 6
    return table([[who, _evidence(acta_id, signature)]], [CONTENT_WIDTH - right, right], BOX)


def _signer_role(signature: SignatureView) -> str:
    """What a signer is: a staff signer's job title ("Psicóloga"), else their role in the acta."""
    return signature.title or _ROLES.get(signature.role, signature.role)


def _evidence(acta_id: str, signature: SignatureView) -> list[Flowable]:
    if signature.method == HANDWRITTEN:
        if not signature.handwritten_png:
            raise RenderFailed(acta_id, f"{signature.name!r} signed by hand but the signature image is missing")
        return [Text("Firma manuscrita", SMALL), _signature_image(acta_id, signature)]
    if signature.method == FINGERPRINT:
        if signature.fingerprint is None:
            raise RenderFailed(
                acta_id, f"{signature.name!r} signed with a fingerprint but the match evidence is missing"
            )
        return _fingerprint_lines(signature.fingerprint)
    if signature.method == REFUSED:
        reason = signature.refusal_reason.strip() or "sin motivo registrado"
        lines: list[Flowable] = [Text(f"Se negó a firmar: {reason}", BODY)]
        if signature.signed_at is not None:
            lines.append(Text(_when(signature.signed_at), SMALL))
        return lines
    if signature.method == ELECTRONIC:
        return [Text("Firma electrónica", LABEL), Text("Usuario autenticado en CRM Social", SMALL)]
    raise RenderFailed(acta_id, f"unknown signature method {signature.method!r} for {signature.name!r}")


def _fingerprint_lines(evidence: FingerprintEvidence) -> list[Flowable]:
    if not verified(evidence):
        details = f"Dedo: {_finger(evidence.finger)}\nDeclarada el {_when(evidence.matched_at)}"
        return [Text(fingerprint_label(evidence), LABEL), Text(details, SMALL)]
    details = (
        f"Puntaje: {evidence.score} · Dedo: {_finger(evidence.finger)}\n"
        f"Sensor: {evidence.sensor_id}\n"
        f"Modo: {_MODES.get(evidence.mode, evidence.mode)}\n"
        f"Coincidencia: {_when(evidence.matched_at)}"
    )
    return [Text(fingerprint_label(evidence), LABEL), Text(details, SMALL)]


def _verification_block(view: ActaView) -> Table:
    """The acta's folio, hash, chain position and verification URL beside a QR code of the URL."""
    position = f"N.º {view.chain_seq}" if view.chain_seq is not None else "pendiente de registro"
    text: list[Flowable] = [
        Text(f"Folio: {view.folio or 'sin folio (acta sellada antes de la numeración)'}", LABEL),
        Spacer(1, 5),
        Text("Huella digital del acta (SHA-256)", LABEL),
        Text(view.content_hash, MONO_SMALL),
        Spacer(1, 5),
        Text(f"Posición en la cadena de sellado: {position}", BODY),
        Spacer(1, 5),
        Text("Verifique este documento en:", LABEL),
        Text(view.verify_url, MONO_SMALL),
    ]
    qr_column = QR_SIZE + 2 * PADDING
    return table([[text, QrCode(view.verify_url)]], [CONTENT_WIDTH - qr_column, qr_column], BOX)


def footed(text: str) -> Any:
    """A canvas class that writes "<text> · Página n de N" at the foot of every page:
    pages are kept until the document is complete, when N is known."""
    footer = plain(text).replace("\n", " ")

    class FootedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self.saveState()
                self.setFont(FONT, 7.5)
                self.setFillColor(MUTED)
                self.drawString(MARGIN, MARGIN, footer)
                self.drawRightString(PAGE_SIZE[0] - MARGIN, MARGIN, f"Página {number} de {total}")
                self.restoreState()
                super().showPage()
            super().save()

    return FootedCanvas


def _signature_image(acta_id: str, signature: SignatureView) -> SignatureImage:
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
    return SignatureImage(image, image.width * scale, image.height * scale)


def _gray_on_white(image: PILImage.Image) -> PILImage.Image:
    """A grayscale copy of ``image`` with any transparency composited onto white."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        gray_alpha = image.convert("LA")
        white = PILImage.new("L", gray_alpha.size, 255)
        white.paste(gray_alpha.getchannel("L"), mask=gray_alpha.getchannel("A"))
        return white
    return image.convert("L")


def _when(moment: datetime) -> str:
    """``moment`` in Colombian time, e.g. "14 de marzo de 2025, 10:32 (hora de Colombia)".
    A naive datetime is taken as UTC."""
    return spanish_datetime(moment)


def _finger(code: str) -> str:
    """A finger code in Spanish words, finger first: "right_index" and
    "indice_derecho" -> "índice derecho"."""
    words = [w for w in code.lower().split("_") if w]
    if len(words) == 2 and words[0] in _SIDES:
        words.reverse()
    return " ".join(_FINGER_WORDS.get(word, word) for word in words)
