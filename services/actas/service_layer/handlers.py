"""Use cases of the actas service.

Desk flow: ``create`` a draft, ``sign`` (participants, then the gestor), ``seal``.
Kiosk flow: ``ingest`` a device-signed submission, which arrives signed by
everyone and is sealed on arrival. Sealing stores the acta, its chain entry and
its events in one transaction; the relay publishes the events afterwards.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from services.actas.domain import chain, submission
from services.actas.domain.catalogue import CATALOGUE
from services.actas.domain.errors import (
    ActaError,
    AlreadyExists,
    FieldsInvalid,
    NotFound,
    PermissionDenied,
)
from services.actas.domain.model import (
    Acta,
    Actor,
    Event,
    FingerprintEvidence,
    GeoPoint,
    InvalidState,
    Method,
    Participant,
    Role,
    Signature,
    Source,
    Status,
    handwritten_digest,
)
from services.actas.domain.submission import RejectReason, SubmissionRejected
from services.actas.domain.templates import FieldType, Template
from services.actas.service_layer.ports import (
    ActaFilter,
    ActaRepository,
    Clock,
    Directory,
    DuplicateSubmission,
    EventRelay,
    Person,
    RegisteredDevice,
    Rejection,
)

log = logging.getLogger(__name__)

ACTAS = "actas"
REJECTIONS = "rejections"
STAFF = frozenset({"admin", "coordinator", "gestor", "psychosocial"})
DEVICE_ADMINS = frozenset({"admin", "coordinator"})
DEVICE_PAIRING = DEVICE_ADMINS | {"gestor"}
READERS = STAFF | {"auditor"}
MAX_LIST = 500
GROUPINGS = ("template", "gestor", "week")


class SystemClock:
    def now(self) -> datetime:
        now = datetime.now(UTC)  # MongoDB keeps milliseconds; truncate so values read back equal
        return now.replace(microsecond=now.microsecond // 1000 * 1000)


@dataclass(frozen=True)
class SignatureInput:
    """One signature as captured (desk or kiosk), before it is checked."""

    signer_id: str
    role: Role
    method: Method
    signed_at: datetime | None = None
    fingerprint: FingerprintEvidence | None = None
    handwritten_png: bytes | None = None
    refusal_reason: str = ""


@dataclass(frozen=True)
class SubmissionContent:
    """A decoded kiosk submission body."""

    submission_id: str
    device_id: str
    template_key: str
    values: dict[str, Any]
    signatures: tuple[SignatureInput, ...]
    captured_at: datetime
    gestor_id: str
    community_id: str
    location: GeoPoint | None = None


class MalformedSubmission(ValueError):
    """The submission bytes do not decode into a submission."""


@dataclass(frozen=True)
class IngestResult:
    acta_id: str
    duplicate: bool
    chain_seq: int = 0


@dataclass(frozen=True)
class VerifyReport:
    entries: int
    head_hash: str
    problems: list[chain.ChainProblem] = field(default_factory=list)


@dataclass
class ActaHandlers:
    repo: ActaRepository
    directory: Directory
    relay: EventRelay
    clock: Clock
    min_match_score: int = 50
    templates: dict[str, Template] = field(default_factory=lambda: {t.key: t for t in CATALOGUE})

    # -- templates ---------------------------------------------------------------
    def list_templates(self) -> list[Template]:
        return sorted(self.templates.values(), key=lambda t: t.key)

    def template(self, key: str) -> Template:
        found = self.templates.get(key)
        if found is None:
            raise NotFound("plantilla", key)
        return found

    # -- desk flow ---------------------------------------------------------------
    def create(
        self, template_key: str, values: dict[str, Any], community_id: str, captured_at: datetime | None, actor: Actor
    ) -> Acta:
        _require(actor, STAFF)
        template = self._template_field(template_key)
        clean = template.validate(values)
        people = self._resolve(template, clean, lambda errors: FieldsInvalid(errors))
        now = self.clock.now()
        acta = Acta(
            id=Acta.new_id(),
            template_key=template.key,
            title=template.title,
            values=clean,
            participants=_participants(template, clean, people),
            gestor_id=actor.subject,
            community_id=community_id or _community_of(people),
            captured_at=captured_at or now,
            created_at=now,
        )
        self.repo.add(acta, [_received(acta, actor.subject)], {})
        self.relay.flush(ACTAS, acta.id)
        return acta

    def sign(self, acta_id: str, given: SignatureInput, actor: Actor) -> Acta:
        _require(actor, STAFF)
        acta = self.get(acta_id)
        if given.role == Role.GESTOR and given.signer_id != actor.subject:
            raise PermissionDenied("El gestor firma con su propia sesión")
        images: dict[str, bytes] = {}
        people = self.directory.people([given.signer_id], fresh=True) if given.role == Role.PARTICIPANT else {}
        signature = self._signature(given, people, images, self.clock.now(), _field_error)
        acta.add_signature(signature)
        self.repo.update(acta, [], images)
        return acta

    def seal(self, acta_id: str, actor: Actor) -> Acta:
        _require(actor, STAFF)
        acta = self.get(acta_id)
        events = [acta.seal(self.clock.now())]
        if acta.amends:
            events.insert(0, _amended(acta))
        entry = self.repo.seal(acta, events)
        acta.chain_seq = entry.seq
        self.relay.flush(ACTAS, acta.id)
        return acta

    def amend(self, acta_id: str, changes: dict[str, Any], reason: str, actor: Actor) -> Acta:
        """A correction: a new acta with the changed values, signed by the gestor and sealed."""
        _require(actor, STAFF)
        original = self.get(acta_id)
        template = self.template(original.template_key)
        signer_fields = [f.code for f in template.fields if f.type == FieldType.SIGNATURE_LIST and f.code in changes]
        if signer_fields:
            message = "Quienes firmaron no se corrigen: capture un acta nueva con los participantes"
            raise FieldsInvalid(dict.fromkeys(signer_fields, message))
        clean = template.validate({**original.values, **changes})
        people = self._resolve(template, clean, lambda errors: FieldsInvalid(errors))
        now = self.clock.now()
        draft = original.amendment(Acta.new_id(), clean, reason, actor, now)
        draft.participants = _participants(template, clean, people)
        draft.add_signature(Signature(actor.subject, Role.GESTOR, Method.ELECTRONIC, now))
        self.repo.add(draft, [_received(draft, actor.subject)], {})
        return self.seal(draft.id, actor)

    # -- kiosk flow ----------------------------------------------------------------
    def ingest(
        self, device_id: str, body: bytes, signature: bytes, decode: Callable[[bytes], SubmissionContent]
    ) -> IngestResult:
        """Verify, de-duplicate, validate and seal one kiosk submission.

        Raises SubmissionRejected with a machine-readable reason; stores nothing then.
        """
        body_sha256 = hashlib.sha256(body).hexdigest()
        try:
            registered = self.repo.get_device(device_id) if device_id else None
            submission.verify(body, signature, registered.device if registered else None)
            try:
                content = decode(body)
            except MalformedSubmission as exc:
                raise SubmissionRejected(RejectReason.MALFORMED, str(exc)) from None
            if content.device_id != device_id:
                raise SubmissionRejected(RejectReason.MALFORMED, "el cuerpo nombra otro quiosco que el sobre")
            acta, images = self._kiosk_acta_resolved(content)
        except SubmissionRejected:
            # A redelivery of exact bytes stored before (the device may have been
            # revoked since) is a duplicate, not a new rejection.
            stored = self._stored_copy(body, body_sha256, decode)
            if stored is not None:
                return IngestResult(stored.acta_id, duplicate=True)
            raise
        # Duplicates are rare: the unique index on the submission id finds them at
        # insert time, instead of a lookup before every submission.
        events = [_received(acta, content.gestor_id), acta.seal(self.clock.now())]
        try:
            entry = self.repo.ingest(acta, events, images, body_sha256)
        except DuplicateSubmission as stored:  # a redelivery, or another worker stored it meanwhile
            return self._duplicate(stored, body_sha256)
        self.relay.flush(ACTAS, acta.id)
        return IngestResult(acta.id, duplicate=False, chain_seq=entry.seq)

    def _stored_copy(
        self, body: bytes, body_sha256: str, decode: Callable[[bytes], SubmissionContent]
    ) -> DuplicateSubmission | None:
        try:
            submission_id = decode(body).submission_id
        except MalformedSubmission:
            return None
        stored = self.repo.find_submission(submission_id)
        return stored if stored is not None and stored.body_sha256 == body_sha256 else None

    def _duplicate(self, stored: DuplicateSubmission, body_sha256: str) -> IngestResult:
        if stored.body_sha256 != body_sha256:
            raise SubmissionRejected(
                RejectReason.IDEMPOTENCY_CONFLICT,
                f"la clave de idempotencia ya se usó para otro contenido (acta {stored.acta_id})",
            )
        return IngestResult(stored.acta_id, duplicate=True)

    def _kiosk_acta_resolved(self, content: SubmissionContent) -> tuple[Acta, dict[str, bytes]]:
        """Participants come from the directory's short-lived cache; a refusal that
        may stem from a stale entry (unknown person, enrolment changed) is decided
        again on fresh data."""
        try:
            return self._kiosk_acta(content, fresh=False)
        except SubmissionRejected as exc:
            if exc.reason not in (RejectReason.UNKNOWN_PARTICIPANT, RejectReason.BAD_EVIDENCE):
                raise
            return self._kiosk_acta(content, fresh=True)

    def _kiosk_acta(self, content: SubmissionContent, fresh: bool) -> tuple[Acta, dict[str, bytes]]:
        template = self.templates.get(content.template_key)
        if template is None:
            message = f"plantilla desconocida {content.template_key!r}"
            raise SubmissionRejected(RejectReason.INVALID_FIELDS, message, {"template_key": message})
        try:
            clean = template.validate(content.values)
        except FieldsInvalid as exc:
            raise SubmissionRejected(RejectReason.INVALID_FIELDS, str(exc), exc.errors) from None

        def unknown(errors: dict[str, str]) -> ActaError:
            return SubmissionRejected(RejectReason.UNKNOWN_PARTICIPANT, "; ".join(errors.values()), errors)

        people = self._resolve(template, clean, unknown, fresh)
        acta = Acta(
            id=Acta.new_id(),
            template_key=template.key,
            title=template.title,
            values=clean,
            participants=_participants(template, clean, people),
            gestor_id=content.gestor_id,
            community_id=content.community_id or _community_of(people),
            captured_at=content.captured_at,
            created_at=self.clock.now(),
            source=Source.KIOSK,
            device_id=content.device_id,
            submission_id=content.submission_id,
            location=content.location,
        )
        images: dict[str, bytes] = {}

        def bad_evidence(name: str, message: str) -> ActaError:
            return SubmissionRejected(RejectReason.BAD_EVIDENCE, message, {name: message})

        for given in content.signatures:
            if given.role == Role.GESTOR and given.signer_id != content.gestor_id:
                raise bad_evidence("signatures", f"firma del gestor {given.signer_id!r} en un acta de otro gestor")
            try:
                acta.add_signature(self._signature(given, people, images, acta.created_at, bad_evidence))
            except (FieldsInvalid, InvalidState, PermissionDenied) as exc:
                raise SubmissionRejected(RejectReason.BAD_EVIDENCE, str(exc)) from None
        if acta.status != Status.SIGNED:
            pending = ", ".join(acta.pending_signers()) or content.gestor_id
            raise SubmissionRejected(RejectReason.BAD_EVIDENCE, f"faltan firmas: {pending}", {"signatures": pending})
        return acta, images

    def reject(
        self,
        error: SubmissionRejected,
        device_id: str,
        submission_id: str,
        rejection_id: str = "",
    ) -> Rejection:
        """Record a refused submission for staff to review, and announce it (once per id)."""
        rejection = Rejection(
            id=rejection_id or uuid.uuid4().hex,
            reason=str(error.reason),
            detail=error.detail,
            device_id=device_id,
            submission_id=submission_id,
            received_at=self.clock.now(),
            field_errors=error.field_errors,
        )
        event = Event(
            "acta_rejected",
            {
                "rejection_id": rejection.id,
                "reason": rejection.reason,
                "detail": rejection.detail,
                "device_id": device_id,
                "submission_id": submission_id,
                "received_at": rejection.received_at.isoformat(),
            },
        )
        self.repo.add_rejection(rejection, [event])
        self.relay.flush(REJECTIONS, rejection.id)
        return rejection

    def list_rejections(self, include_resolved: bool, limit: int, actor: Actor) -> list[Rejection]:
        _require(actor, READERS)
        return self.repo.list_rejections(include_resolved, _bounded(limit))

    def resolve_rejection(self, rejection_id: str, note: str, actor: Actor) -> Rejection:
        _require(actor, DEVICE_ADMINS)
        if not note.strip():
            raise FieldsInvalid({"note": "Indique cómo se resolvió"})
        resolved = self.repo.resolve_rejection(rejection_id, actor.subject, note.strip())
        if resolved is None:
            raise NotFound("envío rechazado", rejection_id)
        return resolved

    # -- devices -------------------------------------------------------------------
    def register_device(
        self, device_id: str, public_key: str, community_id: str, description: str, actor: Actor
    ) -> RegisteredDevice:
        _require(actor, DEVICE_PAIRING)
        errors: dict[str, str] = {}
        if not device_id or len(device_id) > 64 or not device_id.replace("-", "").replace("_", "").isalnum():
            errors["id"] = "Identificador de quiosco inválido (letras, números, - y _; hasta 64)"
        try:
            submission.decode_public_key(public_key)
        except ValueError as exc:
            errors["public_key"] = str(exc)
        if errors:
            raise FieldsInvalid(errors)
        if self.repo.get_device(device_id) is not None:
            raise AlreadyExists(f"El quiosco {device_id} ya está registrado")
        device = RegisteredDevice(
            submission.Device(device_id, public_key),
            community_id,
            description.strip(),
            actor.subject,
            self.clock.now(),
        )
        self.repo.add_device(device)
        return device

    def revoke_device(self, device_id: str, actor: Actor) -> RegisteredDevice:
        _require(actor, DEVICE_ADMINS)
        revoked = self.repo.revoke_device(device_id, self.clock.now())
        if revoked is None:
            raise NotFound("quiosco", device_id)
        return revoked

    def device(self, device_id: str) -> RegisteredDevice:
        """One paired kiosk, revoked or not (the gateway checks a kiosk's key with it)."""
        found = self.repo.get_device(device_id) if device_id else None
        if found is None:
            raise NotFound("quiosco", device_id)
        return found

    def list_devices(self, actor: Actor) -> list[RegisteredDevice]:
        _require(actor, READERS)
        return self.repo.list_devices()

    # -- queries ---------------------------------------------------------------------
    def get(self, acta_id: str) -> Acta:
        acta = self.repo.get(acta_id) if acta_id else None
        if acta is None:
            raise NotFound("acta", acta_id)
        return acta

    def images(self, acta_id: str) -> dict[str, bytes]:
        return self.repo.images(acta_id)

    def amended_by(self, acta_id: str) -> list[str]:
        return self.repo.amended_by(acta_id)

    def query(self, query: ActaFilter) -> list[Acta]:
        if query.captured_from and query.captured_to and query.captured_from > query.captured_to:
            raise FieldsInvalid({"captured_from": "La fecha inicial es posterior a la final"})
        return self.repo.query(ActaFilter(**{**query.__dict__, "limit": _bounded(query.limit)}))

    def count(self, group_by: str, captured_from: datetime | None, captured_to: datetime | None) -> dict[str, int]:
        if group_by not in GROUPINGS:
            raise FieldsInvalid({"group_by": f"Use uno de: {', '.join(GROUPINGS)}"})
        return self.repo.count(group_by, captured_from, captured_to)

    # -- tamper evidence -----------------------------------------------------------
    def verify_chain(self) -> VerifyReport:
        return verify_chain(self.repo)

    def verify_acta(self, acta_id: str) -> tuple[Acta, list[chain.ChainProblem]]:
        """One acta: its stored content still hashes to what was sealed and chained."""
        acta = self.get(acta_id)
        if acta.status != Status.SEALED:
            raise InvalidState(f"El acta {acta_id} no está sellada")
        problems: list[chain.ChainProblem] = []
        recomputed = acta.compute_hash()
        entry = self.repo.chain_entry(acta_id)
        if recomputed != acta.content_hash:
            problems.append(
                chain.ChainProblem("altered_acta", acta.chain_seq, acta_id, "el contenido no coincide con su hash")
            )
        if entry is None:
            problems.append(chain.ChainProblem("unchained_acta", 0, acta_id, "el acta no está en la cadena"))
        else:
            if entry.acta_hash != recomputed:
                problems.append(
                    chain.ChainProblem("altered_acta", entry.seq, acta_id, "el acta no coincide con la encadenada")
                )
            if entry.entry_hash != chain.entry_hash(entry.seq, entry.acta_id, entry.acta_hash, entry.prev_hash):
                problems.append(chain.ChainProblem("altered_entry", entry.seq, acta_id, "entrada de cadena alterada"))
        return acta, problems

    # -- helpers -----------------------------------------------------------------------
    def _template_field(self, key: str) -> Template:
        found = self.templates.get(key)
        if found is None:
            raise FieldsInvalid({"template_key": f"Plantilla desconocida {key!r}"})
        return found

    def _resolve(
        self,
        template: Template,
        values: dict[str, Any],
        error: Callable[[dict[str, str]], ActaError],
        fresh: bool = True,
    ) -> dict[str, Person]:
        """Every referenced person and household must exist; each unknown one is named."""
        wanted: list[str] = []
        for spec in template.fields:
            value = values.get(spec.code)
            if spec.type == FieldType.SIGNATURE_LIST and value:
                wanted.extend(value)
            elif spec.type == FieldType.BENEFICIARY_REF and value:
                wanted.append(value)
        people = self.directory.people(list(dict.fromkeys(wanted)), fresh=fresh)
        errors: dict[str, str] = {}
        for spec in template.fields:
            value = values.get(spec.code)
            if spec.type == FieldType.SIGNATURE_LIST and value:
                missing = [v for v in value if v not in people]
                if missing:
                    errors[spec.code] = f"{spec.label}: personas no registradas: {', '.join(missing)}"
            elif spec.type == FieldType.BENEFICIARY_REF and value and value not in people:
                errors[spec.code] = f"{spec.label}: persona no registrada {value}"
            elif spec.type == FieldType.FAMILY_REF and value and not self.directory.family_exists(value):
                errors[spec.code] = f"{spec.label}: hogar no registrado {value}"
        if errors:
            raise error(errors)
        return people

    def _signature(
        self,
        given: SignatureInput,
        people: dict[str, Person],
        images: dict[str, bytes],
        now: datetime,
        error: Callable[[str, str], ActaError],
    ) -> Signature:
        handwritten_sha256 = ""
        if given.method == Method.HANDWRITTEN:
            if not given.handwritten_png:
                raise error("handwritten_png", "Falta la imagen de la firma manuscrita")
            try:
                handwritten_sha256 = handwritten_digest(given.handwritten_png)
            except FieldsInvalid as exc:
                raise error("handwritten_png", exc.errors["handwritten_png"]) from None
            images[handwritten_sha256] = given.handwritten_png
        if given.method == Method.ELECTRONIC and given.role != Role.GESTOR:
            raise error("method", "Un participante firma con huella, a mano o deja constancia de que no firma")
        if given.method == Method.FINGERPRINT:
            self._check_evidence(given, people, error)
        return Signature(
            signer_id=given.signer_id,
            role=given.role,
            method=given.method,
            signed_at=given.signed_at or now,
            fingerprint=given.fingerprint,
            handwritten_sha256=handwritten_sha256,
            refusal_reason=given.refusal_reason.strip(),
        )

    def _check_evidence(
        self, given: SignatureInput, people: dict[str, Person], error: Callable[[str, str], ActaError]
    ) -> None:
        """A fingerprint counts only if it matched, well enough, the template the
        person enrolled for that finger."""
        evidence = given.fingerprint
        if evidence is None:
            raise error("fingerprint", "Falta la evidencia de la huella")
        if evidence.score < self.min_match_score:
            raise error(
                "fingerprint",
                f"{given.signer_id}: puntaje de coincidencia {evidence.score} menor que {self.min_match_score}",
            )
        if given.role != Role.PARTICIPANT:
            return  # staff fingerprints are enrolled on the kiosk, not in the beneficiaries registry
        person = people.get(given.signer_id)
        if person is None:
            raise error("signer_id", f"{given.signer_id} no está registrado")
        enrolled = person.enrolled.get(evidence.finger)
        if enrolled is None:
            raise error("fingerprint", f"{given.signer_id} no tiene enrolado el dedo {evidence.finger}")
        if enrolled != evidence.template_sha256:
            raise error("fingerprint", f"{given.signer_id}: la huella no se cotejó con la plantilla enrolada")


def verify_chain(repo: ActaRepository) -> VerifyReport:
    """Recompute every entry and every sealed acta's hash; name each problem.
    Needs nothing but the records, so an auditor can run it straight on the database."""
    entries = list(repo.chain_in_order())
    hashes = {a.id: a.compute_hash() for a in repo.sealed_actas()}
    problems = chain.verify(entries, hashes)
    chained = {e.acta_id for e in entries}
    for acta_id in sorted(set(hashes) - chained):
        problems.append(chain.ChainProblem("unchained_acta", 0, acta_id, "acta sellada que no está en la cadena"))
    return VerifyReport(len(entries), entries[-1].entry_hash if entries else chain.GENESIS, problems)


def _require(actor: Actor, roles: frozenset[str]) -> None:
    if actor.role not in roles:
        raise PermissionDenied(f"El rol {actor.role!r} no puede realizar esta operación")


def _field_error(name: str, message: str) -> ActaError:
    return FieldsInvalid({name: message})


def _bounded(limit: int) -> int:
    return max(1, min(limit or 50, MAX_LIST))


def _participants(template: Template, values: dict[str, Any], people: dict[str, Person]) -> list[Participant]:
    ids: list[str] = []
    for spec in template.fields:
        if spec.type == FieldType.SIGNATURE_LIST:
            ids.extend(values.get(spec.code) or [])
    return [Participant(p.beneficiary_id, p.family_id, p.full_name, p.national_id) for p in (people[i] for i in ids)]


def _community_of(people: dict[str, Person]) -> str:
    communities = {p.community_id for p in people.values() if p.community_id}
    return communities.pop() if len(communities) == 1 else ""


def _received(acta: Acta, by: str) -> Event:
    return Event(
        "acta_received",
        {
            "acta_id": acta.id,
            "template_key": acta.template_key,
            "source": str(acta.source),
            "device_id": acta.device_id,
            "submission_id": acta.submission_id,
            "by": by,
            "received_at": acta.created_at.isoformat(),
        },
    )


def _amended(acta: Acta) -> Event:
    return Event(
        "acta_amended",
        {
            "acta_id": acta.id,
            "amends": acta.amends,
            "reason": acta.amendment_reason,
            "by": acta.gestor_id,
        },
    )
