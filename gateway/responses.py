"""Response bodies of the HTTP API (pydantic), as the OpenAPI describes them.

The routes build their answers from the services' protobuf messages
(``gateway.deps.to_json``): every scalar field is present, 64-bit integers are
JSON numbers, timestamps are ISO-8601 text in UTC, and a message field that was
never set (a timestamp that has not happened yet) is absent rather than null.
Fields that some roles do not see are optional (``gateway.policy``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gateway import catalogs

Timestamp = str  # ISO-8601 in UTC, e.g. 2026-11-20T15:04:05.123Z


class Out(BaseModel):
    model_config = ConfigDict(extra="ignore")


# -- errors ----------------------------------------------------------------------------
class ErrorOut(Out):
    """Every error: a Spanish message, and for bad input the message of each field."""

    error: str = Field(description="Qué salió mal, en español")
    fields: dict[str, str] | None = Field(
        default=None, description="Por campo (``values.peso``, ``national_id.number``...), qué corregir"
    )


_ERRORS = {
    400: "Solicitud inválida: el cuerpo o un parámetro no es válido (``fields`` nombra cada campo)",
    401: "Falta el token de acceso, no es válido, expiró o fue revocado",
    403: "El rol del usuario no permite esta operación sobre este recurso",
    404: "El recurso no existe",
    409: "Conflicto con el estado actual (ya existe, o el recurso no admite la operación ahora)",
    413: "El cuerpo (o el adjunto) supera el tamaño máximo",
    429: "Demasiados intentos fallidos: espere los segundos que indica Retry-After",
    503: "Un servicio interno no está disponible; intente de nuevo",
}


def failures(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route: the error statuses it really sends, each with
    the error body; 503 (a service down) can happen on any route that calls one."""
    return {status: {"model": ErrorOut, "description": _ERRORS[status]} for status in (*statuses, 503)}


# The usual sets: a list without parameters; a query; a read by id; a change
# with a body; a change that needs none. A POST of either kind may carry a body
# over the gateway's limit, so both document 413.
LIST = failures(401, 403)
QUERY = failures(400, 401, 403)
READ = failures(400, 401, 403, 404)
WRITE = failures(400, 401, 403, 404, 409, 413)
ACTION = failures(400, 401, 403, 404, 409, 413)


# -- accounts ----------------------------------------------------------------------------
class SessionOut(Out):
    access_token: str
    token_type: str = Field(description="Siempre ``bearer``")
    expires_in: int = Field(description="Segundos de validez del token")
    role: str


class KioskSessionOut(SessionOut):
    community_id: str = Field(description="La comunidad para la que se emparejó el quiosco")


class UserOut(Out):
    username: str
    role: str
    full_name: str
    document: str = Field(default="", description="Documento de identidad, p. ej. CC 52123456")
    title: str = Field(default="", description="Cargo, p. ej. Psicóloga")


class AccountStateOut(Out):
    username: str
    active: bool


# -- communities, families, people ----------------------------------------------------------
class CommunityOut(Out):
    id: str
    name: str
    municipality: str
    department: str
    created_at: Timestamp | None = None


class CommunitiesOut(Out):
    communities: list[CommunityOut]


class FamilyOut(Out):
    id: str
    community_id: str
    name: str
    address: str
    head_beneficiary_id: str
    member_count: int
    created_at: Timestamp | None = None


class NationalIdOut(Out):
    type: str = Field(description=catalogs.describe("tipo_documento"))
    number: str


class ConsentOut(Out):
    kind: str = Field(description=catalogs.describe("consentimiento"))
    granted: bool
    recorded_by: str
    recorded_at: Timestamp | None = None


class BiometricEnrolmentOut(Out):
    beneficiary_id: str
    finger: str = Field(description=catalogs.describe("dedo"))
    template_sha256: str | None = Field(default=None, description="Solo para los roles que lo necesitan")
    enrolled_by: str
    enrolled_at: Timestamp | None = None


class BeneficiaryOut(Out):
    id: str
    national_id: NationalIdOut | None = None
    first_names: str
    last_names: str
    birth_date: str = Field(description="AAAA-MM-DD")
    sex: str = Field(description=catalogs.describe("sexo"))
    family_id: str
    relationship: str = Field(description=catalogs.describe("parentesco"))
    whatsapp_phone: str
    email: str
    education_level: str = Field(description=catalogs.describe("nivel_educativo"))
    can_sign: bool
    community_id: str
    consents: list[ConsentOut] = Field(default_factory=list, description="Solo para los roles que los consultan")
    biometrics: list[BiometricEnrolmentOut] = Field(
        default_factory=list, description="Solo para los roles que los consultan"
    )
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None
    version: int
    contact_channels: list[str] = Field(description=catalogs.describe("canal"))


class MembersOut(Out):
    members: list[BeneficiaryOut]


class BeneficiariesOut(Out):
    beneficiaries: list[BeneficiaryOut]


class TimelineEntryOut(Out):
    id: str
    subject_type: str
    subject_id: str
    occurred_at: Timestamp | None = None
    kind: str
    summary: str
    source_service: str
    source_id: str


class TimelineOut(Out):
    entries: list[TimelineEntryOut]


# -- kiosks ------------------------------------------------------------------------------
class DeviceOut(Out):
    id: str
    public_key: str
    community_id: str
    description: str
    revoked: bool
    registered_by: str
    registered_at: Timestamp | None = None
    revoked_at: Timestamp | None = None
    last_submission_at: Timestamp | None = None
    submissions: int = 0


class DevicesOut(Out):
    devices: list[DeviceOut]


class RejectedSubmissionOut(Out):
    id: str
    reason: str
    detail: str
    device_id: str
    submission_id: str
    received_at: Timestamp | None = None
    resolved: bool
    resolved_by: str
    resolution_note: str
    field_errors: dict[str, str]


class RejectedSubmissionsOut(Out):
    rejected: list[RejectedSubmissionOut]


class RosterBiometricOut(Out):
    finger: str
    template_sha256: str
    template_base64: str


class RosterEntryOut(Out):
    id: str
    first_names: str
    last_names: str
    national_id: NationalIdOut | None = None
    family_id: str
    can_sign: bool
    biometrics: list[RosterBiometricOut]


class RosterOut(Out):
    community_id: str
    beneficiaries: list[RosterEntryOut]


# -- notifications ------------------------------------------------------------------------
class SendOut(Out):
    message_keys: list[str]
    queued: int = Field(description="Cuántos mensajes eran nuevos (los demás ya estaban en cola)")
    trigger: str = Field(description="envio:<usuario>:<clave>: con esto (o solo la clave) se consulta el envío")


class AttemptOut(Out):
    channel: str
    at: Timestamp | None = None
    outcome: str
    detail: str
    provider_message_id: str


class NotificationOut(Out):
    message_key: str
    recipient_id: str
    template: str
    trigger: str
    status: str
    reason: str
    attempts: list[AttemptOut]
    created_at: Timestamp | None = None
    next_attempt_at: Timestamp | None = None


class NotificationsOut(Out):
    notifications: list[NotificationOut]


class DeliveryCountsOut(Out):
    by_status: dict[str, int] = Field(description="queued, sent, delivered, failed, skipped")


class MessageTemplateOut(Out):
    name: str
    variables: list[str] = Field(default_factory=list, description="Las que usa el texto, en orden")
    per_recipient: list[str] = Field(default_factory=list, description="Las que se llenan para cada persona")
    subject: str = ""
    body: str = Field("", description="El texto en español (fuente Jinja2)")
    whatsapp_template: str = ""


class MessageTemplatesOut(Out):
    templates: list[MessageTemplateOut]


# -- code lists -----------------------------------------------------------------------------
class CatalogEntryOut(Out):
    codigo: str = Field(description="El código que usa la API")
    etiqueta: str = Field(description="Lo que ve la persona, en español")


class CatalogsOut(Out):
    """Each code list of the API with its Spanish labels (``gateway.catalogs``)."""

    sexo: list[CatalogEntryOut]
    parentesco: list[CatalogEntryOut]
    nivel_educativo: list[CatalogEntryOut]
    tipo_documento: list[CatalogEntryOut]
    consentimiento: list[CatalogEntryOut]
    dedo: list[CatalogEntryOut]
    canal: list[CatalogEntryOut]
    metodo_firma: list[CatalogEntryOut]
    modo_huella: list[CatalogEntryOut]
    rol: list[CatalogEntryOut]
    estado_acta: list[CatalogEntryOut]


def catalogs_body() -> dict[str, list[dict[str, str]]]:
    return {
        name: [{"codigo": e.code, "etiqueta": e.label} for e in catalog.entries]
        for name, catalog in catalogs.CATALOGS.items()
    }


assert set(CatalogsOut.model_fields) == set(catalogs.CATALOGS)
