"""Communities, families and beneficiaries: the entities, their vocabularies, and
who acts (``Actor``) and what happened (``Event``).

Pure state, no I/O and no validation: the commands and rules that build and change
these objects, checking every field, are in ``services.beneficiaries.domain.model``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from services.beneficiaries.domain import normalise as norm

SEXES = {"female", "male", "intersex"}
RELATIONSHIPS = {
    "head",
    "spouse",
    "child",
    "parent",
    "sibling",
    "grandchild",
    "grandparent",
    "other_relative",
    "non_relative",
}
# The ways the notifications service can reach a person, in the platform's order.
CONTACT_CHANNELS = ("whatsapp", "sms", "email")
EDUCATION_LEVELS = {
    "none",
    "primary",
    "secondary",
    "technical",
    "technological",
    "university",
    "postgraduate",
}
CONSENT_KINDS = {"data_processing", "biometrics", "notifications"}
FINGERS = {
    f"{side}_{finger}" for side in ("right", "left") for finger in ("thumb", "index", "middle", "ring", "little")
}
# ZhianTec sensors upload one template as 512 bytes (two 256-byte buffers);
# other readers differ, so accept a sane range rather than one size.
MIN_TEMPLATE_BYTES = 64
MAX_TEMPLATE_BYTES = 4096


def new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Actor:
    """Who performs a command: a user name or device id, and their role."""

    subject: str
    role: str


@dataclass(frozen=True)
class Event:
    """A domain event, published after the write that produced it is durable."""

    type: str
    payload: dict[str, Any]
    id: str = field(default_factory=new_id)


@dataclass
class Community:
    id: str
    name: str
    municipality: str
    department: str
    created_at: datetime


@dataclass
class Family:
    id: str
    community_id: str
    name: str
    address: str
    created_at: datetime


@dataclass
class Consent:
    kind: str
    granted: bool
    recorded_by: str
    recorded_at: datetime


@dataclass
class BiometricEnrolment:
    finger: str
    template_sha256: str
    enrolled_by: str
    enrolled_at: datetime
    key_id: str
    sealed_template: bytes


@dataclass
class Beneficiary:
    id: str
    id_type: str
    id_number: str
    first_names: str
    last_names: str
    birth_date: date
    sex: str
    community_id: str
    family_id: str | None
    relationship: str | None
    whatsapp_phone: str | None
    email: str | None
    education_level: str
    can_sign: bool
    created_at: datetime
    updated_at: datetime
    consents: dict[str, Consent] = field(default_factory=dict)
    biometrics: dict[str, BiometricEnrolment] = field(default_factory=dict)
    version: int = 1
    # The channels the person wants messages on, in order; empty: CONTACT_CHANNELS.
    contact_channels: list[str] = field(default_factory=list)

    @property
    def national_id_key(self) -> str:
        return norm.national_id_key(self.id_type, self.id_number)

    @property
    def search_tokens(self) -> list[str]:
        return norm.search_tokens(self.first_names, self.last_names)

    @property
    def full_name(self) -> str:
        return f"{self.first_names} {self.last_names}"

    def has_consent(self, kind: str) -> bool:
        consent = self.consents.get(kind)
        return bool(consent and consent.granted)

    def summary(self) -> dict[str, Any]:
        """The event payload describing this person (no biometric or consent data)."""
        return {
            "beneficiary_id": self.id,
            "national_id": {"type": self.id_type, "number": self.id_number},
            "first_names": self.first_names,
            "last_names": self.last_names,
            "community_id": self.community_id,
            "family_id": self.family_id,
            "relationship": self.relationship,
            "whatsapp_phone": self.whatsapp_phone,
            "email": self.email,
            "contact_channels": list(self.contact_channels),
            "can_sign": self.can_sign,
            "version": self.version,
        }
