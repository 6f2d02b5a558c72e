"""The PDF says a fingerprint was verified only when a paired device vouched for it
(issue 12, item 4): a desk match the gestor only declared is printed as declared,
with no score."""

from __future__ import annotations

import hashlib
import io
from dataclasses import replace
from datetime import UTC, datetime

from pypdf import PdfReader

from services.documents.domain.fingerprint import DECLARED_LABEL, fingerprint_label
from services.documents.domain.rendering import render_pdf
from services.documents.domain.view import FingerprintEvidence
from tests.unit.test_documents_pdf import acta

MATCHED = datetime(2026, 11, 20, tzinfo=UTC)
TEMPLATE = hashlib.sha256(b"t").hexdigest()
CLAIMED = FingerprintEvidence(187, "right_index", "ZFM-20 #0001", "verify_1_1", TEMPLATE, MATCHED)


def text_of(evidence: FingerprintEvidence) -> str:
    view = acta()
    first = replace(view.signatures[0], fingerprint=evidence)
    pdf = render_pdf(replace(view, signatures=(first, *view.signatures[1:])))
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())


def test_a_declared_desk_fingerprint_is_printed_as_declared_without_a_score() -> None:
    for evidence in (replace(CLAIMED, verification="declared"), CLAIMED, replace(CLAIMED, verification="device")):
        assert fingerprint_label(evidence) == DECLARED_LABEL, evidence
        text = text_of(evidence)
        assert "Huella declarada por el gestor (no verificada por un lector)" in text
        assert "Puntaje" not in text and "187" not in text and "Firma con huella" not in text


def test_a_device_verified_fingerprint_names_the_device_and_its_score() -> None:
    text = text_of(replace(CLAIMED, verification="device", device_id="lector-01"))
    assert "Firma con huella dactilar verificada por el lector lector-01" in text and "Puntaje: 187" in text
    assert "declarada" not in text
    assert CLAIMED.template_sha256[:16] not in text, "template hashes are not printed"
