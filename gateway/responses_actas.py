"""Response bodies of the actas routes: templates, actas, counts, chain
verification, documents and attachments (see ``gateway.responses``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from gateway.responses import Out, Timestamp


# -- acta templates and actas -------------------------------------------------------------
class TemplateFieldOut(Out):
    code: str
    label: str
    type: str
    required: bool
    options: list[str]
    minimum: float | None = None
    maximum: float | None = None
    max_length: int


class TemplateOut(Out):
    code: str
    version: int
    key: str
    title: str
    fields: list[TemplateFieldOut]


class TemplatesOut(Out):
    templates: list[TemplateOut]


class ParticipantOut(Out):
    beneficiary_id: str
    family_id: str
    full_name: str
    national_id: str


class FingerprintEvidenceOut(Out):
    score: int
    finger: str
    sensor_id: str
    mode: str
    template_sha256: str | None = Field(default=None, description="Solo para los roles que lo necesitan")
    matched_at: Timestamp | None = None
    device_id: str = Field(default="", description="El quiosco o lector emparejado que firmó la coincidencia")
    device_signature: str = Field(default="", description="Firma Ed25519 del lector (base64)")
    verification: str = Field(
        default="", description="device: firmada por un quiosco o lector emparejado; declared: declarada por el gestor"
    )


class SignatureOut(Out):
    signer_id: str
    role: str
    method: str
    signed_at: Timestamp | None = None
    fingerprint: FingerprintEvidenceOut | None = None
    handwritten_sha256: str
    handwritten_png: str = Field(default="", description="Base64; solo cuando se piden las imágenes")
    refusal_reason: str


class GeoPointOut(Out):
    lat: float
    lon: float
    accuracy_m: float


class ActaOut(Out):
    id: str
    template_key: str
    title: str
    status: str = Field(description="draft, signed o sealed")
    values: dict[str, Any] = Field(default_factory=dict)
    participants: list[ParticipantOut]
    signatures: list[SignatureOut]
    gestor_id: str
    community_id: str
    captured_at: Timestamp | None = None
    created_at: Timestamp | None = None
    sealed_at: Timestamp | None = None
    content_hash: str
    chain_seq: int
    source: str
    device_id: str
    submission_id: str
    amends: str
    amendment_reason: str
    amended_by: list[str]
    location: GeoPointOut | None = None
    folio: str = Field(default="", description="Número del acta sellada, p. ej. VD-2026-000123")
    names: dict[str, str] = Field(
        default_factory=dict, description="Nombres (comunidad, hogares, personas) al crear el acta: id -> nombre"
    )
    gestor_name: str = ""
    gestor_document: str = ""
    gestor_title: str = ""
    redacted: bool = Field(default=False, description="true: el rol no puede leer el contenido (``values`` vacío)")


class ActasOut(Out):
    actas: list[ActaOut]


class CountOut(Out):
    key: str
    count: int


class CountsOut(Out):
    counts: list[CountOut]


class ChainProblemOut(Out):
    kind: str
    seq: int
    acta_id: str
    detail: str


class ChainVerificationOut(Out):
    entries: int
    head_hash: str
    problems: list[ChainProblemOut]


class ActaRefOut(Out):
    acta_id: str
    folio: str
    sealed_at: Timestamp | None = None


class ActaVerificationOut(Out):
    valid: bool
    content_hash: str
    chain_seq: int
    problems: list[ChainProblemOut]
    folio: str = ""
    corrects: ActaRefOut | None = Field(default=None, description="El acta que esta corrige, si es una corrección")
    corrected_by: list[ActaRefOut] = Field(default_factory=list, description="Sus correcciones selladas")


# -- documents --------------------------------------------------------------------------
class ActaDocumentOut(Out):
    acta_id: str
    status: str = Field(description="pending o stored")
    sha256: str
    size_bytes: int
    pades_signed: bool
    stored_at: Timestamp | None = None
    download_url: str
    url_expires_at: Timestamp | None = None
    attempts: int
    last_error: str
    acta_content_hash: str


class AttachmentOut(Out):
    sha256: str
    content_type: str
    size_bytes: int
    download_url: str
    url_expires_at: Timestamp | None = None
