"""Request bodies of the HTTP API (pydantic); responses are in ``gateway.responses``.
Fields with a code list (sex, relationship, finger...) take the code or its Spanish
label (``gateway.catalogs``)."""

from __future__ import annotations

import base64
import binascii
import math
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field

from crm_platform.limits import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENT_MB, base64_length
from gateway import catalogs
from gateway.errors import ApiError

# -- query parameters: every integer bounded to its domain (and so to its int32) ----
MAX_PAGE = 500
MAX_LINK_TTL_SECONDS = 24 * 3600
# How many records a list returns (1 to 500).
PageLimit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
# Seconds a download link lasts (1 s to 24 h).
LinkTtl = Annotated[int, Query(ge=1, le=MAX_LINK_TTL_SECONDS)]

# -- attachments --------------------------------------------------------------------
MAX_ATTACHMENT_BASE64 = base64_length(MAX_ATTACHMENT_BYTES)
PHOTO_TOO_LARGE = f"La foto supera el tamaño máximo de {MAX_ATTACHMENT_MB} MB"


def decode_base64(text: str, field: str) -> bytes:
    """Strict base64 (ASCII, the standard alphabet, padded), or a 400 naming ``field``."""
    try:
        if not text.isascii():
            raise ValueError
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, "Solicitud inválida", {field: "No es base64 válido"}) from None


def refuse_non_finite(value: Any, field: str) -> None:
    """A 400 naming the first NaN or infinite number in ``value`` (``values.peso``):
    JSON has none, though Python's parser accepts them."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ApiError(400, "Solicitud inválida", {field: "No admite NaN ni infinito; use un número finito"})
    if isinstance(value, dict):
        for key, item in value.items():
            refuse_non_finite(item, f"{field}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            refuse_non_finite(item, f"{field}.{index}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginRequest(_Strict):
    username: str = Field(max_length=64)
    password: str = Field(max_length=256)


class CreateUserRequest(_Strict):
    username: str = Field(max_length=64)
    password: str = Field(max_length=256)
    role: catalogs.code("rol")  # type: ignore[valid-type]
    full_name: str = Field(default="", max_length=120)
    # What the actas they sign show of them.
    document: str = Field(default="", max_length=40, description='Documento de identidad, p. ej. "CC 52123456"')
    title: str = Field(default="", max_length=80, description='Cargo, p. ej. "Psicóloga", "Coordinadora"')


class CommunityIn(_Strict):
    name: str = Field(max_length=200)
    municipality: str = Field(max_length=200)
    department: str = Field(max_length=200)


class FamilyIn(_Strict):
    community_id: str = Field(max_length=64)
    name: str = Field(max_length=200)
    address: str = Field(default="", max_length=300)


class NationalIdIn(_Strict):
    type: catalogs.code("tipo_documento")  # type: ignore[valid-type]
    number: str = Field(max_length=32)


class BeneficiaryIn(_Strict):
    national_id: NationalIdIn
    first_names: str = Field(max_length=200)
    last_names: str = Field(max_length=200)
    birth_date: str = Field(max_length=20)
    sex: catalogs.code("sexo")  # type: ignore[valid-type]
    community_id: str = Field(default="", max_length=64)
    family_id: str = Field(default="", max_length=64)
    relationship: catalogs.code("parentesco", optional=True) = ""  # type: ignore[valid-type]
    whatsapp_phone: str = Field(default="", max_length=32)
    email: str = Field(default="", max_length=254)
    education_level: catalogs.code("nivel_educativo", optional=True) = ""  # type: ignore[valid-type]
    can_sign: bool = True
    # e.g. ["sms", "email"]: the channels the person wants messages on, in order
    contact_channels: catalogs.codes("canal") = Field(default_factory=list, max_length=3)  # type: ignore[valid-type]


class MemberIn(_Strict):
    beneficiary_id: str = Field(max_length=64)
    relationship: catalogs.code("parentesco")  # type: ignore[valid-type]


class MoveIn(_Strict):
    to_family_id: str = Field(max_length=64)
    relationship: catalogs.code("parentesco")  # type: ignore[valid-type]


class ContactIn(_Strict):
    whatsapp_phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=254)
    # [] restores the platform's order (WhatsApp, SMS, email)
    contact_channels: catalogs.codes("canal") | None = Field(default=None, max_length=3)  # type: ignore[valid-type]


class ConsentIn(_Strict):
    kind: catalogs.code("consentimiento")  # type: ignore[valid-type]


class BiometricIn(_Strict):
    finger: catalogs.code("dedo")  # type: ignore[valid-type]
    template_base64: str = Field(max_length=8192)


# -- actas --------------------------------------------------------------------------
class ActaIn(_Strict):
    template_key: str = Field(max_length=80)
    values: dict[str, Any]
    community_id: str = Field(default="", max_length=64)
    captured_at: datetime | None = None


class FingerprintEvidenceIn(_Strict):
    """A desk fingerprint match. It is recorded as verified only with the signature
    of a paired desk reader (``device_id``, ``signature_base64`` over
    ``crm_platform.fingerprint_evidence.evidence_message``); without one it is the
    gestor's declaration, and the acta says so."""

    score: int = Field(default=0, ge=0, le=65535)
    finger: catalogs.code("dedo")  # type: ignore[valid-type]
    sensor_id: str = Field(default="", max_length=120)
    mode: catalogs.code("modo_huella", strict=True) = "verify_1_1"  # type: ignore[valid-type]
    template_sha256: str = Field(default="", max_length=64)
    matched_at: datetime
    device_id: str = Field(default="", max_length=64)
    signature_base64: str = Field(default="", max_length=120)


class SignatureIn(_Strict):
    """A participant's signature (``signer_id``), or the gestor's own when it is empty."""

    signer_id: str = Field(default="", max_length=64)
    method: catalogs.code("metodo_firma", strict=True)  # type: ignore[valid-type]
    fingerprint: FingerprintEvidenceIn | None = None
    handwritten_png_base64: str = Field(default="", max_length=360_000)
    refusal_reason: str = Field(default="", max_length=500)


class AmendmentIn(_Strict):
    changes: dict[str, Any]
    reason: str = Field(max_length=1000)


class DeviceIn(_Strict):
    id: str = Field(max_length=64)
    public_key: str = Field(max_length=100)
    # Mandatory: every device serves exactly one community.
    community_id: str = Field(max_length=64)
    description: str = Field(default="", max_length=200)


class PairingCodeIn(_Strict):
    community_id: str = Field(max_length=64)
    description: str = Field(default="", max_length=200)


class PairingCodeOut(BaseModel):
    """A one-time pairing code: shown once, valid 24 h, pairs one device."""

    code: str
    community_id: str
    issued_by: str
    issued_at: datetime
    expires_at: datetime
    description: str = ""


class KioskPairingIn(_Strict):
    """A kiosk or desk reader pairing itself with a code a coordinator issued."""

    code: str = Field(max_length=20)
    device_id: str = Field(max_length=64)
    public_key: str = Field(max_length=100)
    description: str = Field(default="", max_length=200)


class ResolutionIn(_Strict):
    note: str = Field(max_length=1000)


class AttachmentIn(_Strict):
    content_type: Literal["image/jpeg", "image/png", "application/pdf"]
    # Up to crm_platform.limits.MAX_ATTACHMENT_BYTES of content, base64-encoded; a
    # longer text is a 413 (the route, and the body limit before it is read).
    content_base64: str


class KioskSessionIn(_Strict):
    device_id: str = Field(max_length=64)
    # ISO-8601 with its offset, exactly as signed.
    issued_at_text: str = Field(alias="issued_at", max_length=40)
    signature_base64: str = Field(max_length=120)


class NotificationIn(_Strict):
    """An ad-hoc message (e.g. a meeting reminder) to people, a family or a community."""

    recipient_ids: list[str] = Field(default_factory=list, max_length=500)
    family_id: str = Field(default="", max_length=64)
    community_id: str = Field(default="", max_length=64)
    template: str = Field(max_length=60)
    variables: dict[str, str] = Field(default_factory=dict)
    # Names this send among yours (keys are per sender); the same key with the same
    # content sends nothing twice, with other content it is a 409.
    key: str = Field(min_length=3, max_length=120)
