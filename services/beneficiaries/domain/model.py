"""Communities, families and beneficiaries: the commands that create them and the
rules that change them.

Pure domain: dataclasses and rules, no I/O. Every command is validated as a whole
so the caller learns about every bad field at once. The entities and vocabularies
themselves are in ``services.beneficiaries.domain.entities`` (re-exported here).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from services.beneficiaries.domain import normalise as norm
from services.beneficiaries.domain.entities import (
    CONSENT_KINDS,
    CONTACT_CHANNELS,
    EDUCATION_LEVELS,
    FINGERS,
    MAX_TEMPLATE_BYTES,
    MIN_TEMPLATE_BYTES,
    RELATIONSHIPS,
    SEXES,
    Actor,
    Beneficiary,
    Community,
    Consent,
    Family,
    new_id,
)
from services.beneficiaries.domain.entities import BiometricEnrolment as BiometricEnrolment
from services.beneficiaries.domain.entities import Event as Event
from services.beneficiaries.domain.errors import Conflict, ValidationFailed

T = TypeVar("T")


class _Errors:
    """Collects field errors while a command is validated."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def check(self, field_name: str, fn: Callable[[], T]) -> T | None:
        try:
            return fn()
        except norm.InvalidValue as exc:
            self.errors[field_name] = str(exc)
            return None

    def add(self, field_name: str, message: str) -> None:
        self.errors[field_name] = message

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)


def _choice(value: str, allowed: set[str], label: str, required: bool = True) -> str:
    value = (value or "").strip().lower()
    if not value:
        if required:
            raise norm.InvalidValue(f"{label} es obligatorio")
        return ""
    if value not in allowed:
        raise norm.InvalidValue(f"{label} desconocido {value!r}; use uno de: {', '.join(sorted(allowed))}")
    return value


def _required_text(value: str, label: str, max_length: int = 120) -> str:
    text = " ".join((value or "").split())
    if not text:
        raise norm.InvalidValue(f"{label} es obligatorio")
    if len(text) > max_length:
        raise norm.InvalidValue(f"{label} supera {max_length} caracteres")
    return text


def validate_id(id_value: str, field_name: str = "id") -> str:
    value = (id_value or "").strip()
    if not value:
        raise ValidationFailed({field_name: "El identificador es obligatorio"})
    return value


@dataclass(frozen=True)
class RegisterCommunity:
    name: str
    municipality: str
    department: str

    def build(self, now: datetime) -> Community:
        e = _Errors()
        name = e.check("name", lambda: _required_text(self.name, "El nombre"))
        municipality = e.check("municipality", lambda: _required_text(self.municipality, "El municipio"))
        department = e.check("department", lambda: _required_text(self.department, "El departamento"))
        e.raise_if_any()
        assert name and municipality and department
        return Community(new_id(), name, municipality, department, now)


@dataclass(frozen=True)
class RegisterFamily:
    community_id: str
    name: str
    address: str = ""

    def build(self, now: datetime) -> Family:
        e = _Errors()
        community_id = e.check("community_id", lambda: _required_text(self.community_id, "La comunidad"))
        name = e.check("name", lambda: _required_text(self.name, "El nombre del hogar"))
        address = " ".join((self.address or "").split())
        if len(address) > 200:
            e.add("address", "La dirección supera 200 caracteres")
        e.raise_if_any()
        assert community_id and name
        return Family(new_id(), community_id, name, address, now)


@dataclass(frozen=True)
class RegisterBeneficiary:
    id_type: str
    id_number: str
    first_names: str
    last_names: str
    birth_date: str
    sex: str
    community_id: str = ""
    family_id: str = ""
    relationship: str = ""
    whatsapp_phone: str = ""
    email: str = ""
    education_level: str = ""
    can_sign: bool = True
    contact_channels: Sequence[str] = ()

    def build(self, now: datetime, today: date) -> Beneficiary:
        e = _Errors()
        id_type = e.check("national_id.type", lambda: norm.normalise_id_type(self.id_type))
        id_number = None
        if id_type:
            id_number = e.check("national_id.number", lambda: norm.normalise_id_number(id_type, self.id_number))
        first = e.check("first_names", lambda: norm.clean_name(self.first_names, "El nombre"))
        last = e.check("last_names", lambda: norm.clean_name(self.last_names, "El apellido"))
        born = e.check("birth_date", lambda: norm.parse_birth_date(self.birth_date, today))
        sex = e.check("sex", lambda: _choice(self.sex, SEXES, "El sexo"))
        family_id = (self.family_id or "").strip() or None
        relationship = e.check(
            "relationship",
            lambda: _choice(self.relationship, RELATIONSHIPS, "El parentesco", bool(family_id)),
        )
        if relationship and not family_id:
            e.add("family_id", "El parentesco requiere indicar el hogar")
        community_id = (self.community_id or "").strip()
        if not community_id and not family_id:
            e.add("community_id", "Indique la comunidad o el hogar del beneficiario")
        phone = (
            e.check("whatsapp_phone", lambda: norm.normalise_phone(self.whatsapp_phone))
            if (self.whatsapp_phone or "").strip()
            else None
        )
        email = e.check("email", lambda: norm.normalise_email(self.email)) if (self.email or "").strip() else None
        channels = e.check("contact_channels", lambda: contact_channels(self.contact_channels))
        education = e.check(
            "education_level",
            lambda: _choice(self.education_level or "none", EDUCATION_LEVELS, "El nivel educativo"),
        )
        e.raise_if_any()
        assert id_type and id_number and first and last and born and sex and education
        return Beneficiary(
            id=new_id(),
            id_type=id_type,
            id_number=id_number,
            first_names=first,
            last_names=last,
            birth_date=born,
            sex=sex,
            community_id=community_id,
            family_id=family_id,
            relationship=relationship or None,
            whatsapp_phone=phone,
            email=email,
            education_level=education,
            can_sign=bool(self.can_sign),
            created_at=now,
            updated_at=now,
            contact_channels=channels or [],
        )


def check_relationship(raw: str) -> str:
    e = _Errors()
    value = e.check("relationship", lambda: _choice(raw, RELATIONSHIPS, "El parentesco"))
    e.raise_if_any()
    assert value
    return value


def ensure_single_head(relationship: str, current_head: Beneficiary | None, joining_id: str) -> None:
    """A household has at most one head."""
    if relationship == "head" and current_head is not None and current_head.id != joining_id:
        raise Conflict(f"El hogar ya tiene jefe de hogar ({current_head.full_name})", field="relationship")


def join_family(person: Beneficiary, family: Family, relationship: str, now: datetime) -> None:
    if person.family_id == family.id:
        raise Conflict(f"{person.full_name} ya es integrante de este hogar", field="beneficiary_id")
    person.family_id = family.id
    person.community_id = family.community_id
    person.relationship = relationship
    person.updated_at = now


def contact_channels(raw: Sequence[str]) -> list[str]:
    """The preferred channels, validated: each one known, none twice, in the given order."""
    channels = [(c or "").strip().lower() for c in raw]
    unknown = [c for c in channels if c not in CONTACT_CHANNELS]
    if unknown:
        allowed = ", ".join(CONTACT_CHANNELS)
        raise norm.InvalidValue(f"Canal desconocido: {', '.join(repr(c) for c in unknown)} (use {allowed})")
    repeated = sorted({c for c in channels if channels.count(c) > 1})
    if repeated:
        raise norm.InvalidValue(f"Canal repetido: {', '.join(repeated)}")
    return channels


def update_contact(
    person: Beneficiary,
    phone: str | None,
    email: str | None,
    now: datetime,
    channels: Sequence[str] | None = None,
) -> list[str]:
    """Apply contact changes (``None`` keeps, empty string or list clears); return changed fields."""
    e = _Errors()
    changes: dict[str, str | list[str] | None] = {}
    if phone is not None:
        changes["whatsapp_phone"] = (
            e.check("whatsapp_phone", lambda: norm.normalise_phone(phone)) if phone.strip() else None
        )
    if email is not None:
        changes["email"] = e.check("email", lambda: norm.normalise_email(email)) if email.strip() else None
    if channels is not None:
        changes["contact_channels"] = e.check("contact_channels", lambda: contact_channels(channels))
    if not changes and not e.errors:
        e.add("contact", "Indique el teléfono, el correo o los canales a actualizar")
    e.raise_if_any()
    changed = [k for k, v in changes.items() if getattr(person, k) != v]
    for key in changed:
        setattr(person, key, changes[key])
    if changed:
        person.updated_at = now
    return changed


def check_consent_kind(raw: str) -> str:
    e = _Errors()
    value = e.check("kind", lambda: _choice(raw, CONSENT_KINDS, "El tipo de consentimiento"))
    e.raise_if_any()
    assert value
    return value


def set_consent(person: Beneficiary, kind: str, granted: bool, actor: Actor, now: datetime) -> bool:
    """Record a grant or withdrawal; returns False when nothing changes."""
    current = person.consents.get(kind)
    if current is not None and current.granted == granted:
        return False
    person.consents[kind] = Consent(kind, granted, actor.subject, now)
    person.updated_at = now
    return True


def check_template(finger: str, template: bytes) -> str:
    e = _Errors()
    value = e.check("finger", lambda: _choice(finger, FINGERS, "El dedo"))
    if not template:
        e.add("template", "La plantilla biométrica está vacía")
    elif not MIN_TEMPLATE_BYTES <= len(template) <= MAX_TEMPLATE_BYTES:
        e.add(
            "template",
            f"La plantilla biométrica debe tener entre {MIN_TEMPLATE_BYTES} y "
            f"{MAX_TEMPLATE_BYTES} bytes (tiene {len(template)})",
        )
    e.raise_if_any()
    assert value
    return value


def require_biometric_consent(person: Beneficiary) -> None:
    if not person.has_consent("biometrics"):
        raise Conflict(
            f"{person.full_name} no ha dado consentimiento para datos biométricos",
            field="consent",
        )


def template_digest(template: bytes) -> str:
    return hashlib.sha256(template).hexdigest()
