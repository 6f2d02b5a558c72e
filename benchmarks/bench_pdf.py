"""Acta PDFs per second on one core: the documents service's renderer, with and
without its PAdES signature, beside raw reportlab drawing the same text.

Everything runs in this one process, one call at a time, with no stack: this is
what one core of a documents worker can render. The acta is a typical one (ten
template fields, two of them a paragraph long; three participants, one signing
with a fingerprint, one by hand, one refusing; the gestor signing by hand), and
every call renders a different acta id, hash and verification URL, so no cache
or QR code is reused between calls.

- ``render_pdf``: layout (platypus), the two handwritten PNGs decoded and
  embedded, the QR code of the verification URL, embedded font subsets.
- ``render_pdf`` + ``PdfSigner.sign``: the same, then a PAdES B-B signature with
  the development identity (ECDSA P-256, made in a temporary directory).
- baseline: a reportlab canvas drawing the same strings with ``drawString`` at
  fixed positions, same two embedded fonts, a new page when one is full: no
  wrapping, tables, images or QR code. The ratio therefore charges the renderer
  with its layout and with those.

Phases alternate (baseline, render, render+sign) for ``--rounds`` rounds of
``--seconds`` each, so a busy machine slows all three alike.

    python -m benchmarks.bench_pdf [--seconds 5] [--rounds 2]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import itertools
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw
from pypdf import PdfReader
from reportlab.pdfgen.canvas import Canvas

from benchmarks._common import Measurement, Row, drive, print_rows
from services.documents.domain import rendering
from services.documents.domain.rendering import render_pdf
from services.documents.domain.signing import PdfSigner, development_identity
from services.documents.domain.view import ActaView, FieldLine, FingerprintEvidence, SignatureView

NAME = "acta PDF"
TARGET_RENDERS_PER_SECOND = 50.0
MAX_CALLS = 100_000


# -- the acta --------------------------------------------------------------------------


def _signature_png(width: int = 600, height: int = 200) -> bytes:
    """What a kiosk's signature pad sends: dark strokes on a transparent PNG."""
    image = Image.new("RGBA", (width, height), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    points = [(30, 150), (110, 40), (190, 160), (280, 50), (390, 150), (520, 60), (580, 120)]
    draw.line([(x * width // 600, y * height // 200) for x, y in points], fill=(20, 40, 160, 255), width=5)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def typical_acta() -> ActaView:
    at = datetime(2025, 3, 14, 15, 32, tzinfo=UTC)
    observations = (
        "La familia manifiesta que la vivienda presenta humedad en la cocina y que el acueducto veredal "
        "funciona de forma intermitente. Se acordó gestionar con la junta de acción comunal una visita "
        "técnica y revisar en la próxima visita el avance del plan de mejoramiento de vivienda. "
    ) * 2
    fields = (
        FieldLine("Tipo de visita", "Seguimiento"),
        FieldLine("Fecha de la visita", "14/03/2025"),
        FieldLine("Hogar", "Familia Córdoba Ñáñez (HOG-000321)"),
        FieldLine("Personas presentes", "4"),
        FieldLine("Estado de la vivienda", "Regular"),
        FieldLine("Acceso a agua potable", "Sí, intermitente"),
        FieldLine("Situación de salud", "Sin novedades; controles de crecimiento y desarrollo al día."),
        FieldLine("Observaciones", observations),
        FieldLine("Compromisos", "1. Asistir al taller del 21 de marzo.\n2. Llevar copia de los documentos."),
        FieldLine("Próxima visita", "11/04/2025"),
    )
    evidence = FingerprintEvidence(87, "indice_derecho", "ZFM-20 #0001", "verify_1_1", "ab" * 32, at)
    signatures = (
        SignatureView("José Ñáñez Rentería", "participante", "fingerprint", at, "CC 1234567", fingerprint=evidence),
        SignatureView("Ana Lucía Córdoba", "participante", "handwritten", at, "CC 7654321", _signature_png()),
        SignatureView(
            "Pedro Pérez", "participante", "refused", None, "TI 99887766", refusal_reason="No está de acuerdo"
        ),
        SignatureView("María José Peñaloza", "gestor", "handwritten", at, "CC 5555555", _signature_png(450, 150)),
    )
    return ActaView(
        acta_id="ACT-2025-000000",
        title="Acta de visita domiciliaria",
        template_key="visita_domiciliaria@1",
        place="Vereda El Ñandú, Bojayá (Chocó)",
        captured_at=at,
        sealed_at=at + timedelta(hours=2),
        gestor_name="María José Peñaloza",
        community_name="Comunidad Nueva Esperanza",
        fields=fields,
        signatures=signatures,
        content_hash="0" * 64,
        chain_seq=1,
        verify_url="https://crm-social.example.org/verificar/ACT-2025-000000",
    )


def acta_number(base: ActaView, i: int) -> ActaView:
    """``base`` as the ``i``-th acta: its own id, hash, chain position and URL."""
    acta_id = f"ACT-2025-{i:06d}"
    content_hash = hashlib.sha256(acta_id.encode()).hexdigest()
    url = f"https://crm-social.example.org/verificar/{acta_id}?h={content_hash[:16]}"
    return replace(base, acta_id=acta_id, content_hash=content_hash, chain_seq=i + 1, verify_url=url)


# -- the baseline ----------------------------------------------------------------------


def _strings(view: ActaView) -> list[tuple[str, bool]]:
    """The text of the acta as (string, bold) lines: what the renderer shows, unwrapped."""
    when = f"{view.captured_at:%d/%m/%Y %H:%M}"
    lines: list[tuple[str, bool]] = [
        (rendering.OPERATOR, True),
        (view.title, True),
        (f"Acta N.º {view.acta_id}", False),
    ]
    facts = [("Lugar", view.place), ("Fecha y hora", when), ("Comunidad", view.community_name)]
    facts += [("Gestor(a) social", view.gestor_name), ("Plantilla", view.template_key)]
    lines += [(s, bold) for label, value in facts for s, bold in ((label, True), (value, False))]
    lines.append(("Contenido del acta", True))
    for field in view.fields:
        lines.append((field.label, True))
        lines += [(part, False) for part in field.value.split("\n")]
    lines.append(("Participantes y firmas", True))
    for s in view.signatures:
        lines += [(s.name, True), (f"Documento: {s.national_id}", False), (f"Rol: {s.role}", False)]
        if s.fingerprint is not None:
            f = s.fingerprint
            lines += [("Firma con huella dactilar", True), (f"Puntaje: {f.score} · Dedo: {f.finger}", False)]
            lines += [(f"Sensor: {f.sensor_id}", False), (f"Plantilla (SHA-256): {f.template_sha256[:16]}", False)]
        elif s.method == "refused":
            lines.append((f"Se negó a firmar: {s.refusal_reason}", False))
        else:
            lines.append(("Firma manuscrita", False))
    lines += [("Huella digital del acta (SHA-256)", True), (view.content_hash, False)]
    lines += [(f"Posición en la cadena de sellado: N.º {view.chain_seq}", False)]
    lines += [("Verifique este documento en:", True), (view.verify_url, False)]
    return lines


def raw_canvas(view: ActaView) -> bytes:
    """The acta's strings drawn at fixed positions: no layout at all."""
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=rendering.PAGE_SIZE, initialFontName=rendering.FONT)
    top = rendering.PAGE_SIZE[1] - rendering.MARGIN
    y = top
    for text, bold in _strings(view):
        canvas.setFont(rendering.FONT_BOLD if bold else rendering.FONT, 9.5)
        canvas.drawString(rendering.MARGIN, y, text)
        y -= 12.5
        if y < rendering.MARGIN:
            canvas.showPage()
            y = top
    canvas.showPage()
    canvas.save()
    return out.getvalue()


# -- measuring -------------------------------------------------------------------------


def run(seconds: float = 5.0, rounds: int = 2) -> list[Row]:
    base = typical_acta()
    with tempfile.TemporaryDirectory(prefix="crm-bench-pdf-") as tmp:
        signer = PdfSigner.from_files(*development_identity(Path(tmp)))
        phases: dict[str, Callable[[int], Any]] = {
            "raw canvas drawString": lambda i: raw_canvas(acta_number(base, i)),
            "render_pdf": lambda i: render_pdf(acta_number(base, i)),
            "render_pdf + PAdES sign": lambda i: signer.sign(render_pdf(acta_number(base, i))),
        }
        sample = render_pdf(base)
        pages = len(PdfReader(io.BytesIO(sample)).pages)
        print(f"[{NAME}] typical acta: {pages} pages, {len(sample):,} bytes unsigned", flush=True)
        for call in phases.values():  # warm-up: imports, font tables, first-call caches
            call(0)
        numbers = itertools.count(1)  # every call, in every phase, renders a new acta number
        results: dict[str, list[Measurement]] = {label: [] for label in phases}
        for round_no in range(rounds):
            for label, call in phases.items():

                def next_acta(_: int, call: Callable[[int], Any] = call) -> Any:
                    return call(next(numbers))

                m = drive(f"{label} (round {round_no + 1})", next_acta, duration=seconds, max_calls=MAX_CALLS)
                print(m.line(), flush=True)
                results[label].append(m)
        raw, render, signed = (Measurement.combine(label, parts) for label, parts in results.items())

    for m in (raw, render, signed):
        print(m.line(), flush=True)
    return [
        Row(
            NAME,
            f"renders/s, one process, no PAdES ({pages}-page acta, {render.count} renders)",
            "PDFs/s",
            render.rps,
            raw.rps,
            "raw canvas drawString",
            f"≥ {TARGET_RENDERS_PER_SECOND:g}/s",
            render.rps >= TARGET_RENDERS_PER_SECOND,
        ),
        Row(
            NAME,
            f"renders/s, one process, with PAdES B-B ({signed.count} renders)",
            "PDFs/s",
            signed.rps,
            raw.rps,
            "raw canvas drawString",
        ),
        Row(NAME, "render_pdf p99 (no PAdES)", "ms", render.p99_ms, raw.p99_ms, "raw canvas drawString"),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_pdf", description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each measured phase (default 5)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds of the three phases (default 2)")
    args = parser.parse_args(argv)
    print_rows(NAME, run(args.seconds, args.rounds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
