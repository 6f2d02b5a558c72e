"""What an auditor reads on an acta's PDF, as the documents service flattens the
sealed acta (``build_view``): names instead of ids, dates and labels in Spanish,
the gestor's snapshot, the folio, and what a correction corrects and why."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from crm_platform.proto_gen.crm.actas.v1 import actas_pb2 as apb
from services.actas.domain.catalogue import by_key
from services.actas.entrypoints import proto_mapping
from services.documents.adapters.actas_source import build_view
from services.documents.domain.rendering import render_pdf
from tests.unit.test_documents_pdf import pdf_text

SEALED = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)


def ts(moment: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(moment)
    return out


def sealed_visit(**changes: object) -> apb.Acta:
    acta = apb.Acta(
        id="0f3a9c",
        template_key="visita_domiciliaria@1",
        title="Acta de visita domiciliaria",
        status="sealed",
        participants=[apb.Participant(beneficiary_id="b1", family_id="f1", full_name="Rosa Mena", national_id="CC 1")],
        signatures=[
            apb.Signature(signer_id="b1", role="participante", method="refused", refusal_reason="No quiso"),
            apb.Signature(signer_id="ana", role="gestor", method="electronic", signed_at=ts(SEALED)),
        ],
        gestor_id="ana",
        community_id="c0ffee",
        captured_at=ts(SEALED),
        sealed_at=ts(SEALED),
        content_hash="ab" * 32,
        chain_seq=7,
        folio="VD-2026-000123",
        names={"c0ffee": "Nuevo Roche", "f1": "Familia Mena Córdoba", "b1": "Rosa Mena"},
        gestor_name="Ana María Pérez",
        gestor_document="CC 52123456",
        gestor_title="Gestora social",
    )
    acta.values.update(
        {
            "fecha": "2026-12-06",
            "lugar": "Nuevo Roche",
            "hogar": "f1",
            "motivo": "atencion_caso",
            "situacion_encontrada": "Sin novedad",
            "personas_presentes": 2,
            "firmantes": ["b1"],
        }
    )
    for key, value in changes.items():
        setattr(acta, key, value)
    return acta


TEMPLATE = proto_mapping.template(by_key()["visita_domiciliaria@1"])


def test_community_household_and_gestor_are_named_and_dates_and_options_read_in_spanish() -> None:
    view = build_view(sealed_visit(), TEMPLATE, "https://x/verificar/0f3a9c")
    fields = {f.label: f.value for f in view.fields}
    assert view.community_name == "Nuevo Roche"  # not the community's id
    assert fields["Hogar visitado"] == "Familia Mena Córdoba"  # not the household's id
    assert fields["Fecha de la actividad"] == "6 de diciembre de 2026"
    assert fields["Motivo de la visita"] == "Atención caso"
    assert fields["Participantes que firman"] == "Rosa Mena"
    assert (view.gestor_name, view.gestor_document, view.gestor_title) == (
        "Ana María Pérez",
        "CC 52123456",
        "Gestora social",
    )
    assert view.folio == "VD-2026-000123"
    gestor = view.signatures[-1]
    assert (gestor.name, gestor.national_id, gestor.title) == ("Ana María Pérez", "CC 52123456", "Gestora social")
    text = pdf_text(render_pdf(view))
    for expected in ("Nuevo Roche", "Familia Mena Córdoba", "6 de diciembre de 2026", "Atención caso", "Rol: Gestora"):
        assert expected in text
    assert "c0ffee" not in text


def test_a_correction_says_which_acta_it_corrects_by_folio_and_why() -> None:
    correction = sealed_visit(amends="0f3a9c", amendment_reason="Hogar equivocado", folio="VD-2026-000130")
    view = build_view(correction, TEMPLATE, "https://x/verificar/9", amends_folio="VD-2026-000123")
    text = pdf_text(render_pdf(view))
    assert "Corrige el acta VD-2026-000123" in text
    assert "Motivo de la corrección: Hogar equivocado" in text


def test_every_option_of_the_catalogue_has_a_label_with_its_accents() -> None:
    labels = {
        code: label
        for template in by_key().values()
        for spec in proto_mapping.template(template).fields
        for code, label in zip(spec.options, spec.option_labels, strict=True)
    }
    assert labels["adaptacion_familiar"] == "Adaptación familiar"
    assert labels["educacion_financiera"] == "Educación financiera"
    assert labels["si"] == "Sí"
