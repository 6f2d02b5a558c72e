"""The PDF of a sealed acta: what it says (read back with pypdf), how it looks
(rasterised with pypdfium2, its QR code decoded with zxing-cpp) and its PAdES
signature (validated with pyHanko against the development certificate)."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pypdfium2
import pytest
import zxingcpp
from cryptography import x509
from PIL import Image, ImageDraw
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

from services.documents.domain.errors import RenderFailed, SigningFailed
from services.documents.domain.rendering import render_pdf
from services.documents.domain.signing import PdfSigner, development_identity
from services.documents.domain.view import ActaView, FieldLine, FingerprintEvidence, SignatureView

CAPTURED = datetime(2025, 3, 14, 15, 32, tzinfo=UTC)  # 10:32 in Bogotá (UTC-5)
CONTENT_HASH = hashlib.sha256(b"acta ACT-2025-000123").hexdigest()
VERIFY_URL = f"https://crm-social.example.org/verificar/ACT-2025-000123?h={CONTENT_HASH[:16]}"
TRICKY = "Seguimiento <b>negrita</b> & más — Ñandú, ¿qué?"


def signature_png(size: tuple[int, int] = (600, 200)) -> bytes:
    """A signature-pad-like PNG: blue strokes on a transparent background."""
    image = Image.new("RGBA", size, (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    w, h = size
    points = [(int(w * x), int(h * y)) for x, y in [(0.05, 0.7), (0.2, 0.2), (0.35, 0.8), (0.5, 0.25), (0.7, 0.75)]]
    draw.line(points, fill=(20, 40, 160, 255), width=6)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def acta(**changes: Any) -> ActaView:
    """A realistic sealed acta: three participants (fingerprint, handwritten,
    refusal) and the gestor's handwritten signature."""
    view = ActaView(
        acta_id="ACT-2025-000123",
        title="Acta de visita domiciliaria",
        template_key="visita_domiciliaria@1",
        place="Vereda El Ñandú, Bojayá (Chocó)",
        captured_at=CAPTURED,
        sealed_at=CAPTURED + timedelta(hours=2),
        gestor_name="María José Peñaloza",
        community_name="Comunidad Nueva Esperanza",
        fields=(
            FieldLine("Motivo de la visita", TRICKY),
            FieldLine("Personas presentes", "4"),
            FieldLine("Estado de la vivienda", "Regular: humedad en la cocina."),
            FieldLine("Compromisos", "1. Asistir al taller del 21 de marzo.\n2. Llevar copia de documentos."),
        ),
        signatures=(
            SignatureView(
                "José Ñáñez Rentería",
                "participante",
                "fingerprint",
                CAPTURED,
                "CC 1234567",
                fingerprint=FingerprintEvidence(
                    score=87,
                    finger="right_index",
                    sensor_id="ZFM-20 #0001",
                    mode="verify_1_1",
                    template_sha256=hashlib.sha256(b"template").hexdigest(),
                    matched_at=CAPTURED,
                    verification="device",
                    device_id="lector-bojaya-01",
                ),
            ),
            SignatureView("Ana Lucía Córdoba", "participante", "handwritten", CAPTURED, "CC 7654321", signature_png()),
            SignatureView(
                "Pedro Pérez Mosquera",
                "participante",
                "refused",
                None,
                "TI 99887766",
                refusal_reason="No está de acuerdo con los compromisos",
            ),
            SignatureView(
                "María José Peñaloza",
                "gestor",
                "handwritten",
                CAPTURED,
                "CC 5555555",
                signature_png((400, 150)),
                title="Psicóloga",
            ),
        ),
        content_hash=CONTENT_HASH,
        chain_seq=42,
        verify_url=VERIFY_URL,
        amends="ACT-2025-000100",
        gps=(6.55, -76.88),
        folio="VD-2025-000123",
        amends_folio="VD-2025-000100",
        amendment_reason="El número de personas presentes estaba mal",
        gestor_document="CC 5555555",
        gestor_title="Psicóloga",
    )
    return replace(view, **changes)


def pdf_text(pdf: bytes) -> str:
    """The text of every page, each run of whitespace (line wrapping included) as one space."""
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return " ".join(text.split())


@pytest.fixture(scope="module")
def rendered() -> bytes:
    return render_pdf(acta())


@pytest.fixture(scope="module")
def identity(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return development_identity(tmp_path_factory.mktemp("signing"))


@pytest.fixture(scope="module")
def signed(rendered: bytes, identity: tuple[Path, Path]) -> bytes:
    return PdfSigner.from_files(*identity).sign(rendered, location="Bojayá, Chocó")


# -- content ---------------------------------------------------------------------------


def test_the_pdf_says_what_the_acta_says(rendered: bytes) -> None:
    text = pdf_text(rendered)
    expected = [
        "CRM Social — Programa de Acompañamiento Social",
        "Acta de visita domiciliaria",
        "Acta N.º VD-2025-000123",
        "Corrige el acta VD-2025-000100",
        "Motivo de la corrección: El número de personas presentes estaba mal",
        "Lugar",
        "Vereda El Ñandú, Bojayá (Chocó)",
        "Fecha y hora",
        "14 de marzo de 2025, 10:32 (hora de Colombia)",  # shown in Bogotá time
        "Comunidad Nueva Esperanza",
        "Gestor(a) social",
        "Contenido del acta",
        "Motivo de la visita",
        "2. Llevar copia de documentos.",
        "Participantes y firmas",
        "José Ñáñez Rentería",
        "Ana Lucía Córdoba",
        "Pedro Pérez Mosquera",
        "María José Peñaloza",
        "CC 1234567",
        "Firma con huella dactilar verificada por el lector lector-bojaya-01",
        "Puntaje: 87",
        "índice derecho",
        "ZFM-20 #0001",
        "verificación 1:1",
        "Firma manuscrita",
        "Se negó a firmar: No está de acuerdo con los compromisos",
        "Huella digital del acta (SHA-256)",
        CONTENT_HASH,
        "Posición en la cadena de sellado: N.º 42",
        "Verifique este documento en:",
        VERIFY_URL,
    ]
    missing = [s for s in expected if s not in text]
    assert not missing, f"missing from the PDF text: {missing}"


def first_page_text(pdf: bytes) -> str:
    return " ".join(PdfReader(io.BytesIO(pdf)).pages[0].extract_text().split())


def test_the_first_page_carries_the_folio_the_hash_and_the_correction_notice(rendered: bytes) -> None:
    first = first_page_text(rendered)
    expected = ("Acta N.º VD-2025-000123", "Folio: VD-2025-000123", CONTENT_HASH, "Corrige el acta VD-2025-000100")
    assert all(e in first for e in expected), first


def test_every_page_says_which_page_of_how_many() -> None:
    pdf = render_pdf(acta(fields=(FieldLine("Situación encontrada", "Texto largo de la visita. " * 600),)))
    pages = PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) > 2
    for number, page in enumerate(pages, start=1):
        text = " ".join(page.extract_text().split())
        assert f"Página {number} de {len(pages)}" in text
        assert "Acta N.º VD-2025-000123" in text


def test_the_gestor_is_named_with_document_and_job_title_and_fingers_read_in_spanish(rendered: bytes) -> None:
    text = pdf_text(rendered)
    assert "Documento del gestor(a) CC 5555555" in text and "Cargo Psicóloga" in text
    assert "Rol: Psicóloga" in text  # the staff signer's real role, not "Gestor(a) social"
    assert "Dedo: índice derecho" in text and "right" not in text


def test_markup_characters_in_user_text_show_literally(rendered: bytes) -> None:
    assert TRICKY in pdf_text(rendered)


def test_control_characters_and_odd_text_do_not_break_the_renderer() -> None:
    odd = "línea\r\ncon\ttab\x00 y control\x07 </para> <br/> &amp; &#169; ]]> 🙂"
    text = pdf_text(render_pdf(acta(fields=(FieldLine("Raro <i>", odd),), place="<font name=x>")))
    assert "Raro <i>" in text and "&amp; &#169;" in text and "<font name=x>" in text


def test_no_amendment_notice_for_an_original_acta() -> None:
    assert "corrige" not in pdf_text(render_pdf(acta(amends="", chain_seq=None)))


def test_metadata_names_the_acta(rendered: bytes) -> None:
    info = PdfReader(io.BytesIO(rendered)).metadata
    assert info is not None
    assert info.subject == "ACT-2025-000123"
    assert info.title is not None and "Acta de visita domiciliaria" in info.title
    assert info.author is not None and "María José Peñaloza" in info.author
    assert info.creator is not None and "CRM Social" in info.creator


def test_every_font_is_embedded(rendered: bytes) -> None:
    fonts = 0
    for page in PdfReader(io.BytesIO(rendered)).pages:
        resources = cast(DictionaryObject, page["/Resources"])
        for ref in cast(DictionaryObject, resources["/Font"]).values():
            font = cast(DictionaryObject, ref.get_object())
            descendants = font.get("/DescendantFonts")
            owner = cast(DictionaryObject, descendants[0].get_object()) if descendants else font
            descriptor = cast(DictionaryObject, owner["/FontDescriptor"].get_object())
            assert "/FontFile2" in descriptor, f"{font['/BaseFont']} is not embedded"
            fonts += 1
    assert fonts >= 2


def test_a_long_text_field_spans_pages_without_loss() -> None:
    long_text = "\n".join(f"Párrafo {i}: la familia relata su situación con detalle." * 3 for i in range(120))
    pdf = render_pdf(acta(fields=(FieldLine("Relato de la familia", long_text), *acta().fields)))
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) > 2
    text = pdf_text(pdf)
    assert "Párrafo 0:" in text and "Párrafo 119:" in text and CONTENT_HASH in text


def test_a_word_wider_than_the_column_is_broken_not_lost() -> None:
    word = "x" * 400
    text = pdf_text(render_pdf(acta(fields=(FieldLine("Código", word),))))
    assert text.replace(" ", "").count("x") >= 400


def test_concurrent_renders_do_not_mix_documents() -> None:
    """Workers render from threads (gRPC, nameko): reportlab's font subsets are per document."""
    views = [acta(folio=f"ACT-HILO-{i}", content_hash=hashlib.sha256(bytes([i])).hexdigest()) for i in range(6)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        pdfs = list(pool.map(render_pdf, views))
    for view, pdf in zip(views, pdfs, strict=True):
        text = pdf_text(pdf)
        assert f"Acta N.º {view.folio}" in text and view.content_hash in text and "Ana Lucía Córdoba" in text


# -- failures --------------------------------------------------------------------------


def _with_signature(**changes: Any) -> ActaView:
    view = acta()
    return replace(view, signatures=(replace(view.signatures[1], **changes),))


@pytest.mark.parametrize(
    "changes",
    [
        {"handwritten_png": b"\x89PNG\r\n\x1a\n not really a png"},
        {"handwritten_png": signature_png()[:200]},  # truncated
        {"handwritten_png": None},
        {"method": "telepathy"},
        {"method": "fingerprint", "fingerprint": None},
    ],
    ids=["corrupt-png", "truncated-png", "missing-png", "unknown-method", "fingerprint-without-evidence"],
)
def test_bad_signature_data_fails_naming_the_acta(changes: dict[str, Any]) -> None:
    with pytest.raises(RenderFailed) as failure:
        render_pdf(_with_signature(**changes))
    assert failure.value.acta_id == "ACT-2025-000123"
    assert "ACT-2025-000123" in str(failure.value)


# -- appearance ------------------------------------------------------------------------


def _first_page_image(pdf: bytes, scale: float) -> Image.Image:
    document = pypdfium2.PdfDocument(pdf)
    try:
        return document[0].render(scale=scale).to_pil().convert("L")
    finally:
        document.close()


def test_the_first_page_rasterises_to_a_letter_page_with_ink(rendered: bytes) -> None:
    image = _first_page_image(rendered, scale=1.0)
    assert abs(image.width / image.height - 8.5 / 11) < 0.01
    histogram = image.histogram()
    dark = sum(histogram[:128])
    assert dark > 0.005 * image.width * image.height  # text, rules, signatures


def test_the_qr_code_decodes_to_the_verification_url(rendered: bytes) -> None:
    document = pypdfium2.PdfDocument(rendered)
    try:
        image = document[0].render(scale=3.0).to_pil()  # the verification block is on the first page
    finally:
        document.close()
    texts = [b.text for b in zxingcpp.read_barcodes(image) if b.format == zxingcpp.BarcodeFormat.QRCode]
    assert texts == [VERIFY_URL]


# -- PAdES signature -------------------------------------------------------------------


def _validate(pdf: bytes, cert_path: Path) -> Any:
    reader = PdfFileReader(io.BytesIO(pdf))
    (signature,) = reader.embedded_signatures
    context = ValidationContext(trust_roots=[load_cert_from_pemder(str(cert_path))], allow_fetching=False)
    return validate_pdf_signature(signature, context), signature


def test_the_signed_pdf_validates_and_covers_the_whole_document(signed: bytes, identity: tuple[Path, Path]) -> None:
    status, signature = _validate(signed, identity[1])
    assert status.intact and status.valid and status.trusted
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert status.bottom_line
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES
    assert signature.sig_object["/Reason"] == "Acta sellada por CRM Social"
    assert CONTENT_HASH in pdf_text(signed)  # still the same document


def test_a_byte_changed_after_signing_breaks_the_signature(signed: bytes, identity: tuple[Path, Path]) -> None:
    target = b"servicio de documentos"  # the PDF's /Creator, inside the signed byte range
    at = signed.index(target)
    tampered = signed[:at] + b"servicio de documentoz" + signed[at + len(target) :]
    assert len(tampered) == len(signed)
    try:
        status, _ = _validate(tampered, identity[1])
    except SignatureValidationError:
        return  # refusing to validate at all is also a failure to validate
    assert not status.intact
    assert not status.bottom_line


def test_development_identity_is_made_once_with_a_private_key_file(tmp_path: Path) -> None:
    key_path, cert_path = development_identity(tmp_path / "dev")
    assert key_path.stat().st_mode & 0o777 == 0o600
    first = key_path.read_bytes(), cert_path.read_bytes()
    assert development_identity(tmp_path / "dev") == (key_path, cert_path)
    assert (key_path.read_bytes(), cert_path.read_bytes()) == first
    subject = x509.load_pem_x509_certificate(first[1]).subject.rfc4514_string()
    assert subject == "O=CRM Social,CN=CRM Social desarrollo"


def test_a_key_that_does_not_match_the_certificate_is_refused(tmp_path: Path, identity: tuple[Path, Path]) -> None:
    other_key, _ = development_identity(tmp_path / "other")
    with pytest.raises(SigningFailed, match="does not match"):
        PdfSigner(other_key.read_bytes(), identity[1].read_bytes())


@pytest.mark.parametrize("which", ["key", "cert"])
def test_unreadable_key_material_is_refused(which: str, identity: tuple[Path, Path]) -> None:
    key, cert = identity[0].read_bytes(), identity[1].read_bytes()
    with pytest.raises(SigningFailed):
        if which == "key":
            PdfSigner(b"-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n", cert)
        else:
            PdfSigner(key, b"not a certificate")


def test_signing_something_that_is_not_a_pdf_fails_clearly(identity: tuple[Path, Path]) -> None:
    with pytest.raises(SigningFailed):
        PdfSigner.from_files(*identity).sign(b"%PDF-1.4 but not really")


@pytest.fixture
def no_leftover_files(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    assert not list(tmp_path.rglob("*.tmp"))


def test_development_identity_leaves_no_temporary_files(no_leftover_files: Path) -> None:
    development_identity(no_leftover_files / "dev")
