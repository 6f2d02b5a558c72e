"""Filling and signing an acta on the kiosk, offline, then sealing it for the outbox.

The values are validated against the cached template with the platform's own
rules (``services.actas.domain.templates``), and every referenced person must be
in the synced roster, so the platform does not reject later what the kiosk could
have caught now. Signatures follow the platform's rules too: each person listed
in the template's signature fields signs exactly once (fingerprint verified 1:1
or identified 1:N, a handwritten PNG, or a recorded refusal), then the gestor
signs last. The evidence of a fingerprint is its score, finger, sensor identity,
time and the hash of the enrolled template; never an image.

A draft gets its idempotency key (``submission_id``, a UUID) when it is started.
Sealing the same draft again gives the very same bytes (deterministic protobuf
serialisation, deterministic Ed25519), so queuing it twice stores it once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from crm_platform.proto_gen.crm.actas.v1 import submission_pb2 as sub_pb
from edge_agent import submissions
from edge_agent.flows import FINGER_NAMES, FlowError, Reader, require_pairing, template_from_json
from edge_agent.local_store import LocalStore, OwnerKind, TemplateRef
from edge_agent.reader import Prompter
from services.actas.domain.errors import FieldsInvalid
from services.actas.domain.model import MAX_HANDWRITTEN_BYTES, PNG_MAGIC
from services.actas.domain.templates import FieldSpec, FieldType
from services.actas.domain.templates import Template as ActaTemplate

# The platform's minimum match score (services.actas min_match_score); the sensor's
# own threshold at security level 3 is the same.
MIN_SCORE = 50
PARTICIPANT = "participante"
GESTOR = "gestor"


class InvalidValues(FlowError):
    """Values that break the template's rules; ``errors`` maps each field to why (Spanish)."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("Revise los datos del acta: " + "; ".join(self.errors.values()))


class NoMatch(FlowError):
    """The finger placed did not match (the gestor may retry, or use another method)."""

    def __init__(self, message: str, score: int) -> None:
        super().__init__(message)
        self.score = score


class Outbox(Protocol):
    """Where sealed submissions wait for the bus (``edge_agent.outbox.Outbox``)."""

    def enqueue(self, submission_id: str, envelope: bytes) -> object: ...


@dataclass
class ActaDraft:
    """An acta being filled and signed on the kiosk."""

    template: ActaTemplate
    values: dict[str, Any]
    gestor_id: str
    submission_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    captured_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    signatures: list[sub_pb.SubmittedSignature] = field(default_factory=list)

    @property
    def signers(self) -> list[str]:
        """Everyone in the template's signature fields, in order."""
        ids: list[str] = []
        for spec in self.template.fields:
            if spec.type == FieldType.SIGNATURE_LIST:
                ids.extend(self.values.get(spec.code) or [])
        return list(dict.fromkeys(ids))

    def pending(self) -> list[str]:
        signed = {s.signer_id for s in self.signatures if s.role == PARTICIPANT}
        return [i for i in self.signers if i not in signed]

    @property
    def complete(self) -> bool:
        return any(s.role == GESTOR for s in self.signatures)

    def add(self, signature: sub_pb.SubmittedSignature) -> None:
        """Add a signature if the platform's rules allow it now."""
        if self.complete:
            raise FlowError("El gestor ya firmó: el acta está cerrada.")
        if signature.role == PARTICIPANT:
            if signature.signer_id not in self.signers:
                raise FlowError(f"{signature.signer_id} no firma esta acta.")
            if signature.signer_id not in self.pending():
                raise FlowError(f"{signature.signer_id} ya firmó esta acta.")
        else:
            if signature.signer_id != self.gestor_id:
                raise FlowError(f"Solo {self.gestor_id}, quien captura el acta, firma como gestor.")
            if signature.WhichOneof("method") == "refusal":
                raise FlowError("El gestor no puede negarse a firmar el acta que capturó.")
            if self.pending():
                raise FlowError(f"El gestor firma al final; faltan: {', '.join(self.pending())}.")
        self.signatures.append(signature)


# -- filling ---------------------------------------------------------------------------------
def load_template(store: LocalStore, key: str) -> ActaTemplate:
    raw = store.acta_template(key)
    if raw is None:
        known = ", ".join(t["key"] for t in store.acta_templates()) or "ninguna"
        raise FlowError(f"La plantilla {key!r} no está en el quiosco (disponibles: {known}); sincronice con conexión.")
    return template_from_json(raw)


def start_acta(
    store: LocalStore, template_key: str, answers: Mapping[str, Any], gestor_id: str, now: datetime | None = None
) -> ActaDraft:
    """Validate the answers offline and open a draft with its idempotency key."""
    if not gestor_id:
        raise FlowError("Indique el usuario del gestor que captura el acta.")
    template = load_template(store, template_key)
    try:
        clean = template.validate(answers)
    except FieldsInvalid as exc:
        raise InvalidValues(exc.errors) from None
    _check_references(store, template, clean)
    return ActaDraft(template, clean, gestor_id, captured_at=now or datetime.now(UTC))


def _check_references(store: LocalStore, template: ActaTemplate, values: Mapping[str, Any]) -> None:
    """The platform refuses people and households it does not know; so does the kiosk,
    against its roster."""
    people = {p.id for p in store.roster()}
    families = {p.family_id for p in store.roster() if p.family_id}
    errors: dict[str, str] = {}
    for spec in template.fields:
        value = values.get(spec.code)
        if not value:
            continue
        if spec.type == FieldType.SIGNATURE_LIST:
            missing = [v for v in value if v not in people]
            if missing:
                errors[spec.code] = f"{spec.label}: no están en la lista de la comunidad: {', '.join(missing)}"
        elif spec.type == FieldType.BENEFICIARY_REF and value not in people:
            errors[spec.code] = f"{spec.label}: {value} no está en la lista de la comunidad"
        elif spec.type == FieldType.FAMILY_REF and value not in families:
            errors[spec.code] = f"{spec.label}: el hogar {value} no está en la lista de la comunidad"
    if errors:
        raise InvalidValues(errors)


def parse_answer(spec: FieldSpec, text: str) -> Any:
    """What the gestor typed for one field, as the value the template expects.
    Blank is None; the template's validation then says whether that is allowed."""
    text = text.strip()
    if not text:
        return None
    kind = spec.type
    if kind == FieldType.NUMBER:
        try:
            number = float(text.replace(",", "."))
        except ValueError:
            raise InvalidValues({spec.code: f"{spec.label}: escriba un número"}) from None
        return int(number) if number.is_integer() else number
    if kind == FieldType.SINGLE_CHOICE:
        return _option(spec, text)
    if kind == FieldType.MULTIPLE_CHOICE:
        return [_option(spec, part) for part in text.split(",") if part.strip()]
    if kind == FieldType.SIGNATURE_LIST:
        return [part.strip() for part in text.split(",") if part.strip()]
    if kind == FieldType.GPS_POINT:
        return _gps(spec, text)
    if kind == FieldType.DATE and text.lower() == "hoy":
        return date.today().isoformat()
    return text


def _option(spec: FieldSpec, text: str) -> str:
    """An option by its number in the list (1-based) or by its code."""
    text = text.strip()
    if text.isdigit() and 1 <= int(text) <= len(spec.options):
        return spec.options[int(text) - 1]
    return text


def _gps(spec: FieldSpec, text: str) -> dict[str, float]:
    parts = [p.strip() for p in text.split(";" if ";" in text else ",")]
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise InvalidValues({spec.code: f"{spec.label}: escriba latitud, longitud[, precisión en metros]"}) from None
    if len(numbers) not in (2, 3):
        raise InvalidValues({spec.code: f"{spec.label}: escriba latitud, longitud[, precisión en metros]"})
    point = {"lat": numbers[0], "lon": numbers[1]}
    if len(numbers) == 3:
        point["accuracy_m"] = numbers[2]
    return point


# -- signatures --------------------------------------------------------------------------------
def sign_with_fingerprint(
    store: LocalStore,
    reader: Reader,
    draft: ActaDraft,
    signer_id: str,
    prompt: Prompter,
    *,
    sensor_id: str,
    finger: str | None = None,
) -> sub_pb.SubmittedSignature:
    """A participant places a finger; it is compared on the sensor (1:1) with the
    template they enrolled for that finger."""
    _expect_pending(draft, signer_id)
    ref = _enrolled(store, signer_id, finger, OwnerKind.BENEFICIARY)
    score = _verify(store, reader, ref, prompt)
    signature = submissions.fingerprint_signature(
        signer_id, score=score, finger=ref.finger, sensor_id=sensor_id, template_sha256=ref.template_sha256
    )
    draft.add(signature)
    return signature


def sign_by_identification(
    store: LocalStore,
    reader: Reader,
    draft: ActaDraft,
    prompt: Prompter,
    *,
    sensor_id: str,
    on_reload: Callable[[int], None] = lambda _: None,
) -> sub_pb.SubmittedSignature:
    """Whoever places a finger is identified (1:N) in the sensor's library; it must be
    someone who still has to sign this acta."""
    slots = ensure_sensor_library(store, reader, on_reload)
    position, score = reader.identify_1_n(prompt)
    if position < 0 or score < MIN_SCORE:
        raise NoMatch("La huella no corresponde a nadie enrolado en esta comunidad.", max(score, 0))
    ref = slots.get(position)
    if ref is None:
        raise FlowError("El lector tiene huellas que el quiosco no reconoce; sincronice e intente de nuevo.")
    if ref.owner not in draft.pending():
        who = _name(store, ref.owner)
        done = ref.owner in draft.signers
        raise FlowError(f"La huella es de {who}, que {'ya firmó' if done else 'no firma'} esta acta.")
    signature = submissions.fingerprint_signature(
        ref.owner,
        score=score,
        finger=ref.finger,
        sensor_id=sensor_id,
        template_sha256=ref.template_sha256,
        mode="identify_1_n",
    )
    draft.add(signature)
    return signature


def sign_handwritten(
    store: LocalStore, draft: ActaDraft, signer_id: str, png: bytes, *, role: str = PARTICIPANT
) -> sub_pb.SubmittedSignature:
    """A handwritten signature image (PNG, at most 256 KB)."""
    if role == PARTICIPANT:
        _expect_pending(draft, signer_id)
        person = store.person(signer_id)
        if person is not None and not person.can_sign:
            raise FlowError(f"{person.full_name} no firma a mano; use la huella o registre que no firma.")
    if not png.startswith(PNG_MAGIC):
        raise FlowError("La firma manuscrita debe ser una imagen PNG.")
    if len(png) > MAX_HANDWRITTEN_BYTES:
        raise FlowError(f"La imagen de la firma supera {MAX_HANDWRITTEN_BYTES // 1024} KB.")
    signature = submissions.handwritten_signature(signer_id, png, role=role)
    draft.add(signature)
    return signature


def record_refusal(draft: ActaDraft, signer_id: str, reason: str) -> sub_pb.SubmittedSignature:
    """A participant who does not sign; the reason is recorded instead."""
    _expect_pending(draft, signer_id)
    if not reason.strip():
        raise FlowError("Indique el motivo por el que la persona no firma.")
    signature = submissions.refusal(signer_id, reason.strip())
    draft.add(signature)
    return signature


def gestor_signs_with_fingerprint(
    store: LocalStore,
    reader: Reader,
    draft: ActaDraft,
    prompt: Prompter,
    *,
    sensor_id: str,
    finger: str | None = None,
) -> sub_pb.SubmittedSignature:
    """The gestor closes the acta with the finger enrolled on this kiosk."""
    if draft.pending():
        raise FlowError(f"El gestor firma al final; faltan: {', '.join(draft.pending())}.")
    ref = _enrolled(store, draft.gestor_id, finger, OwnerKind.STAFF)
    score = _verify(store, reader, ref, prompt)
    signature = submissions.fingerprint_signature(
        draft.gestor_id, score=score, finger=ref.finger, sensor_id=sensor_id, template_sha256=ref.template_sha256
    )
    signature.role = GESTOR
    draft.add(signature)
    return signature


def _expect_pending(draft: ActaDraft, signer_id: str) -> None:
    if signer_id not in draft.signers:
        raise FlowError(f"{signer_id} no firma esta acta.")
    if signer_id not in draft.pending():
        raise FlowError(f"{signer_id} ya firmó esta acta.")


def _enrolled(store: LocalStore, owner: str, finger: str | None, kind: OwnerKind) -> TemplateRef:
    refs = store.templates_of(owner, kind)
    if finger is not None:
        refs = [r for r in refs if r.finger == finger]
    if not refs:
        which = f" el dedo {FINGER_NAMES.get(finger, finger)}" if finger else " ninguna huella"
        raise FlowError(
            f"{_name(store, owner)} no tiene enrolado{which} en este quiosco; "
            "use la firma manuscrita o registre que no firma."
        )
    return refs[0]


def _verify(store: LocalStore, reader: Reader, ref: TemplateRef, prompt: Prompter) -> int:
    template = store.template(ref.owner, ref.finger, ref.kind)
    if template is None:  # removed by a sync between listing and reading
        raise FlowError("La huella enrolada ya no está en el quiosco; sincronice e intente de nuevo.")
    score = reader.verify_1_1(template.data, prompt)
    if score < MIN_SCORE:
        raise NoMatch(
            f"La huella no coincide con el {FINGER_NAMES.get(ref.finger, ref.finger)} enrolado de "
            f"{_name(store, ref.owner)} (puntaje {score}, se requiere {MIN_SCORE}).",
            score,
        )
    return score


def _name(store: LocalStore, owner: str) -> str:
    person = store.person(owner)
    return person.full_name if person else owner


def ensure_sensor_library(
    store: LocalStore, reader: Reader, on_reload: Callable[[int], None] = lambda _: None
) -> dict[int, TemplateRef]:
    """Make the sensor's library hold exactly the community's enrolled templates, and
    return which slot is whose. Reloads only when the roster or the sensor changed;
    ``on_reload`` is told how many templates are about to be loaded."""
    slots = store.sensor_slots()
    templates = list(store.all_templates(OwnerKind.BENEFICIARY))
    wanted = {(t.owner, t.finger, t.template_sha256) for t in templates}
    held = {(r.owner, r.finger, r.template_sha256) for r in slots.values()}
    if held == wanted and reader.template_count() == len(slots):
        return slots
    on_reload(len(templates))
    positions = reader.replace_library([t.data for t in templates])
    fresh = {
        pos: TemplateRef(t.kind, t.owner, t.finger, t.template_sha256)
        for pos, t in zip(positions, templates, strict=True)
    }
    store.replace_sensor_slots(fresh.items())
    return fresh


# -- sealing ---------------------------------------------------------------------------------
def seal(
    draft: ActaDraft,
    *,
    device_id: str,
    key: Ed25519PrivateKey,
    community_id: str = "",
    location: tuple[float, float, float] | None = None,
) -> bytes:
    """The signed envelope of a complete draft: the body serialised once, signed with the device key."""
    if not draft.complete:
        pending = draft.pending()
        raise FlowError(f"Faltan firmas: {', '.join(pending)}." if pending else "Falta la firma del gestor.")
    content = submissions.body(
        submission_id=draft.submission_id,
        device_id=device_id,
        template_key=draft.template.key,
        values=draft.values,
        signatures=draft.signatures,
        gestor_id=draft.gestor_id,
        community_id=community_id,
        captured_at=draft.captured_at,
        location=location,
    )
    return submissions.envelope(content, key)


def queue_submission(outbox: Outbox, submission_id: str, envelope: bytes) -> None:
    """Hand a sealed submission to the outbox; it is durable when this returns."""
    outbox.enqueue(submission_id, envelope)


def finish_acta(store: LocalStore, outbox: Outbox, draft: ActaDraft) -> str:
    """Seal a complete draft with this kiosk's key, pairing and location, and queue it."""
    pairing, key = require_pairing(store)
    envelope = seal(
        draft, device_id=pairing.device_id, key=key, community_id=pairing.community_id, location=store.location()
    )
    queue_submission(outbox, draft.submission_id, envelope)
    return draft.submission_id
