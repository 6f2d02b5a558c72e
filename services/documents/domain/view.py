"""What the renderer takes: a sealed acta flattened for display.

These are plain frozen dataclasses with no behaviour; the service's adapters build
them from the actas service's sealed record. Values are display-ready strings
except the datetimes, which the renderer shows in Colombian time (America/Bogota).
Every string here may come from user input: the renderer escapes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# Signature methods (``SignatureView.method``).
FINGERPRINT = "fingerprint"
HANDWRITTEN = "handwritten"
REFUSED = "refused"
# A staff member signing at the desk as the authenticated user.
ELECTRONIC = "electronic"
SIGNATURE_METHODS = (FINGERPRINT, HANDWRITTEN, REFUSED, ELECTRONIC)

# Fingerprint matching modes (``FingerprintEvidence.mode``).
VERIFY_1_1 = "verify_1_1"
IDENTIFY_1_N = "identify_1_n"


@dataclass(frozen=True)
class FingerprintEvidence:
    """How the sensor matched a participant's finger against their enrolled template."""

    score: int  # matcher score from the sensor
    finger: str  # e.g. "indice_derecho"
    sensor_id: str  # sensor identity, e.g. "ZFM-20 #0001"
    mode: str  # "verify_1_1" or "identify_1_n"
    template_sha256: str  # hex
    matched_at: datetime
    # "device" when a paired kiosk or desk reader vouched for the match (device_id
    # names it); anything else was declared by the gestor (see domain.fingerprint).
    verification: str = ""
    device_id: str = ""


@dataclass(frozen=True)
class SignatureView:
    """One signer of the acta (a participant or the gestor) and how they signed."""

    name: str  # full name of the signer
    role: str  # "participante" or "gestor"
    method: str  # "fingerprint" | "handwritten" | "refused" | "electronic"
    signed_at: datetime | None
    national_id: str = ""  # e.g. "CC 1234567" (shown)
    handwritten_png: bytes | None = None
    fingerprint: FingerprintEvidence | None = None
    refusal_reason: str = ""
    title: str = ""  # a staff signer's job title, e.g. "Psicóloga" (shown instead of the role)


@dataclass(frozen=True)
class FieldLine:
    """One template field as shown: its Spanish label and its formatted value."""

    label: str  # Spanish label of the template field
    value: str  # already formatted for display (may be long, multi-line text)


@dataclass(frozen=True)
class ActaView:
    """Everything the PDF of one sealed acta shows."""

    acta_id: str
    title: str  # e.g. "Acta de visita domiciliaria"
    template_key: str  # e.g. "visita_domiciliaria@1"
    place: str
    captured_at: datetime  # when the activity happened (tz-aware)
    sealed_at: datetime
    gestor_name: str
    community_name: str
    fields: tuple[FieldLine, ...]
    signatures: tuple[SignatureView, ...]
    content_hash: str  # sha256 hex of the sealed acta's canonical form
    chain_seq: int | None  # position in the tamper-evidence chain
    verify_url: str  # what the QR code encodes
    amends: str = ""  # acta id this one corrects, if an amendment
    gps: tuple[float, float] | None = None  # (latitude, longitude) where it was captured
    folio: str = ""  # the human number, e.g. "VD-2026-000123" ("" for actas sealed before folios)
    amends_folio: str = ""  # the folio of the acta this one corrects
    amendment_reason: str = ""  # why this correction was made
    gestor_document: str = ""  # e.g. "CC 52123456"
    gestor_title: str = ""  # e.g. "Gestora social", "Psicóloga"
