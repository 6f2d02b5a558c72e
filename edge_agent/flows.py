"""Kiosk use cases: pair with the platform, sync down, enrol a fingerprint.

Each function takes its ports as arguments (the platform client, the local store,
the reader) so the unit tests drive them with fakes; the CLI only gathers input
and shows results. Filling and signing an acta is in ``edge_agent.acta_flow``.
Every :class:`FlowError` message is Spanish and meant for the gestor.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from hashlib import sha256
from typing import Any, Protocol, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge_agent.http_client import Conflict, Login, Offline, Unauthorized
from edge_agent.keys import load_device_key, load_or_create_device_key, public_key_b64
from edge_agent.local_store import LocalStore, OwnerKind, Pairing, Person, Template, TemplateRef
from edge_agent.reader import Enrolment, Prompter
from services.actas.domain.errors import TemplateInvalid
from services.actas.domain.model import FINGERS
from services.actas.domain.templates import MAX_TEXT, FieldSpec, FieldType
from services.actas.domain.templates import Template as ActaTemplate

FINGER_NAMES = {
    "right_thumb": "pulgar derecho",
    "right_index": "índice derecho",
    "right_middle": "medio derecho",
    "right_ring": "anular derecho",
    "right_little": "meñique derecho",
    "left_thumb": "pulgar izquierdo",
    "left_index": "índice izquierdo",
    "left_middle": "medio izquierdo",
    "left_ring": "anular izquierdo",
    "left_little": "meñique izquierdo",
}
assert set(FINGER_NAMES) == FINGERS
T = TypeVar("T")


class FlowError(Exception):
    """A kiosk step cannot go on; the message says why, in Spanish, for the gestor."""


class NotPaired(FlowError):
    """The kiosk has no device key or pairing yet."""


class NeedsConnection(FlowError):
    """The step needs the platform, and it cannot be reached."""


# -- ports -------------------------------------------------------------------------------
class Platform(Protocol):
    """What the flows need from the gateway (``edge_agent.http_client.PlatformClient``)."""

    def login(self, username: str, password: str) -> Login: ...
    def pair_device(
        self, *, code: str, device_id: str, public_key_b64: str, description: str = ...
    ) -> dict[str, Any]: ...
    def kiosk_session(self, device_id: str, key: Ed25519PrivateKey, now: datetime | None = ...) -> str: ...
    def acta_templates(self, token: str) -> list[dict[str, Any]]: ...
    def roster(self, token: str, community_id: str) -> list[dict[str, Any]]: ...
    def record_biometric_consent(self, token: str, beneficiary_id: str) -> dict[str, Any]: ...
    def store_biometric(self, token: str, beneficiary_id: str, finger: str, template: bytes) -> str: ...


class Reader(Protocol):
    """What the flows need from the fingerprint reader (``edge_agent.reader.FingerprintReader``)."""

    @property
    def identity(self) -> str: ...
    def enrol(self, prompt: Prompter, *, store: bool = ...) -> Enrolment: ...
    def verify_1_1(self, template: bytes, prompt: Prompter) -> int: ...
    def identify_1_n(self, prompt: Prompter) -> tuple[int, int]: ...
    def replace_library(self, templates: Sequence[bytes]) -> list[int]: ...
    def template_count(self) -> int: ...


# -- pairing --------------------------------------------------------------------------------
@dataclass(frozen=True)
class PairingResult:
    device_id: str
    community_id: str
    public_key_b64: str
    # True when this kiosk was already paired with this community (a retried pairing).
    already_registered: bool


def pair(
    platform: Platform,
    store: LocalStore,
    *,
    platform_url: str,
    code: str,
    device_id: str,
    description: str = "",
) -> PairingResult:
    """Pair this kiosk with a one-time code a coordinator issued for one community,
    creating the device key if needed; the community comes from the code.

    The key is written before the platform hears of it, so a reply lost after the
    pairing is harmless: pairing again with the same code, id and key returns the
    same device (``already_registered``).
    """
    existing = store.pairing()
    if existing is not None and existing.device_id != device_id:
        raise FlowError(
            f"Este quiosco ya está emparejado como {existing.device_id!r}. Para cambiarlo, "
            "un coordinador debe revocarlo y se debe usar un directorio de datos nuevo."
        )
    if not code.strip():
        raise FlowError("Escriba el código de emparejamiento que le dio el coordinador.")
    key, _ = load_or_create_device_key(store.data_dir)
    public = public_key_b64(key)
    try:
        device = _online(
            lambda: platform.pair_device(
                code=code.strip(),
                device_id=device_id,
                public_key_b64=public,
                description=description or f"Quiosco {device_id}",
            ),
            "emparejar el quiosco",
        )
    except Unauthorized as exc:
        raise FlowError(exc.message) from None
    except Conflict:
        raise FlowError(
            f"Ya existe otro quiosco con el identificador {device_id!r}; elija un identificador distinto."
        ) from None
    community_id = str(device.get("community_id", ""))
    if not community_id:
        raise FlowError("La plataforma no asignó comunidad al quiosco; pida un código nuevo al coordinador.")
    already = existing is not None and existing.community_id == community_id
    store.save_pairing(Pairing(device_id, community_id, platform_url))
    return PairingResult(device_id, community_id, public, already)


def require_pairing(store: LocalStore) -> tuple[Pairing, Ed25519PrivateKey]:
    pairing = store.pairing()
    if pairing is None:
        raise NotPaired("El quiosco no está emparejado: ejecute `crm-kiosk pair` con conexión.")
    return pairing, load_device_key(store.data_dir)


# -- sync down --------------------------------------------------------------------------------
@dataclass(frozen=True)
class SyncReport:
    templates: int
    people: int
    fingerprints: int
    synced_at: datetime
    problems: list[str] = field(default_factory=list)


def sync_down(
    platform: Platform,
    store: LocalStore,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    step: Callable[[str], None] = lambda _: None,
) -> SyncReport:
    """Fetch acta templates and the community's roster with its enrolled templates,
    and replace the local copy in one transaction. ``step`` reports progress."""
    pairing, key = require_pairing(store)
    if not pairing.community_id:
        raise FlowError("El quiosco no tiene comunidad asignada; emparéjelo de nuevo con un código del coordinador.")
    step("Abriendo sesión del quiosco")
    token = _online(lambda: platform.kiosk_session(pairing.device_id, key, now()), "abrir la sesión del quiosco")
    step("Descargando plantillas de actas")
    templates = _online(lambda: platform.acta_templates(token), "descargar las plantillas")
    problems = []
    usable = []
    for raw in templates:
        try:
            template = template_from_json(raw)
        except (TemplateInvalid, KeyError, TypeError, ValueError) as exc:
            problems.append(f"Plantilla {raw.get('key', '?')} ignorada: {exc}")
            continue
        usable.append({**raw, "key": template.key})
    step("Descargando la lista de la comunidad y sus huellas")
    entries = _online(lambda: platform.roster(token, pairing.community_id), "descargar la lista de la comunidad")
    people, biometrics, roster_problems = parse_roster(entries)
    step("Guardando en el quiosco (huellas cifradas)")
    synced_at = now()
    store.apply_sync(usable, people, biometrics, synced_at)
    return SyncReport(len(usable), len(people), len(biometrics), synced_at, problems + roster_problems)


def parse_roster(entries: Iterable[Mapping[str, Any]]) -> tuple[list[Person], list[Template], list[str]]:
    """People and templates from the roster JSON; a template whose bytes do not hash
    to what the platform says is left out and named, never stored."""
    people: list[Person] = []
    templates: list[Template] = []
    problems: list[str] = []
    for entry in entries:
        if not entry.get("id"):
            problems.append("Una persona sin identificador fue ignorada.")
            continue
        national = entry.get("national_id") or {}
        person = Person(
            id=str(entry["id"]),
            first_names=str(entry.get("first_names", "")),
            last_names=str(entry.get("last_names", "")),
            national_id=f"{national.get('type', '')} {national.get('number', '')}".strip(),
            family_id=str(entry.get("family_id", "")),
            can_sign=bool(entry.get("can_sign", True)),
        )
        people.append(person)
        for biometric in entry.get("biometrics") or []:
            finger = str(biometric.get("finger", ""))
            try:
                data = base64.b64decode(str(biometric.get("template_base64", "")), validate=True)
            except (binascii.Error, ValueError):
                data = b""
            digest = str(biometric.get("template_sha256", ""))
            if finger not in FINGERS or not data or sha256(data).hexdigest() != digest:
                problems.append(f"Huella {finger or '?'} de {person.full_name} ignorada: llegó dañada.")
                continue
            templates.append(Template(OwnerKind.BENEFICIARY, person.id, finger, digest, data))
    return people, templates, problems


def template_from_json(data: Mapping[str, Any]) -> ActaTemplate:
    """An acta template as the gateway sends it (protobuf JSON) as the platform's own
    domain object, so the kiosk validates with exactly the platform's rules."""
    fields = tuple(
        FieldSpec(
            code=str(f["code"]),
            label=str(f.get("label", f["code"])),
            type=FieldType(f["type"]),
            required=bool(f.get("required", False)),
            options=tuple(str(o) for o in f.get("options") or ()),
            minimum=None if f.get("minimum") is None else float(f["minimum"]),
            maximum=None if f.get("maximum") is None else float(f["maximum"]),
            max_length=int(f.get("max_length") or MAX_TEXT),
        )
        for f in data.get("fields") or ()
    )
    template = ActaTemplate(str(data["code"]), int(data["version"]), str(data.get("title", "")), fields)
    if data.get("key") and data["key"] != template.key:
        raise TemplateInvalid(f"la clave {data['key']!r} no corresponde a {template.key!r}")
    return template


# -- enrolment ------------------------------------------------------------------------------
@dataclass(frozen=True)
class EnrolmentResult:
    owner: str
    finger: str
    template_sha256: str
    sensor_position: int


def enrol_beneficiary(
    platform: Platform,
    store: LocalStore,
    reader: Reader,
    *,
    gestor: Login,
    beneficiary_id: str,
    finger: str,
    consent_given: bool,
    prompt: Prompter,
) -> EnrolmentResult:
    """Record the person's biometric consent, take two captures, send the template to
    the beneficiaries service and keep it (encrypted) for offline verification."""
    check_finger(finger)
    if not consent_given:
        raise FlowError("Sin el consentimiento expreso de la persona no se toman huellas.")
    person = store.person(beneficiary_id)
    if person is None:
        raise FlowError(f"{beneficiary_id} no está en la lista de esta comunidad; sincronice el quiosco primero.")
    # Consent goes on record first: no biometric is taken before the platform has it.
    _online(lambda: platform.record_biometric_consent(gestor.access_token, person.id), "registrar el consentimiento")
    enrolment = reader.enrol(prompt)
    digest = sha256(enrolment.template).hexdigest()
    recorded = _online(
        lambda: platform.store_biometric(gestor.access_token, person.id, finger, enrolment.template),
        "guardar la huella en la plataforma",
    )
    if recorded and recorded != digest:
        raise FlowError("La plataforma registró una huella distinta de la capturada; repita el enrolamiento.")
    store.add_template(Template(OwnerKind.BENEFICIARY, person.id, finger, digest, enrolment.template))
    if enrolment.position >= 0:
        store.add_sensor_slot(enrolment.position, TemplateRef(OwnerKind.BENEFICIARY, person.id, finger, digest))
    return EnrolmentResult(person.id, finger, digest, enrolment.position)


def enrol_gestor(store: LocalStore, reader: Reader, *, username: str, finger: str, prompt: Prompter) -> EnrolmentResult:
    """Enrol the gestor's own finger on this kiosk only (staff are not in the beneficiaries
    registry); it lets the gestor sign actas with a fingerprint."""
    check_finger(finger)
    if not username:
        raise FlowError("Indique el usuario del gestor.")
    enrolment = reader.enrol(prompt, store=False)
    digest = sha256(enrolment.template).hexdigest()
    store.add_template(Template(OwnerKind.STAFF, username, finger, digest, enrolment.template))
    return EnrolmentResult(username, finger, digest, -1)


def check_finger(finger: str) -> None:
    if finger not in FINGERS:
        choices = ", ".join(f"{code} ({name})" for code, name in FINGER_NAMES.items())
        raise FlowError(f"Dedo desconocido {finger!r}; use uno de: {choices}.")


def _online(call: Callable[[], T], what: str) -> T:
    try:
        return call()
    except Offline as exc:
        raise NeedsConnection(f"Para {what} se necesita conexión con la plataforma. {exc.message}") from None
