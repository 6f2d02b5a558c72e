"""What every actas use case shares: the wiring (repository, directory, relay,
clock, templates), the values that cross the service layer's boundary, and the
checks that more than one flow makes (resolving people, checking a signature).

The use cases themselves live beside it: ``desk`` (create, sign, seal, amend),
``kiosk`` (ingest a device-signed submission, record a rejection), ``devices``
(the kiosk registry and the rejected submissions staff review) and ``queries``
(templates, reads, counts, tamper evidence). ``handlers.ActaHandlers`` composes them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from crm_platform import access
from services.actas.access import ACCESS
from services.actas.domain import chain
from services.actas.domain.catalogue import CATALOGUE
from services.actas.domain.errors import ActaError, FieldsInvalid, NotFound, PermissionDenied
from services.actas.domain.model import (
    VERIFIED_BY_DEVICE,
    Acta,
    Actor,
    Event,
    FingerprintEvidence,
    GeoPoint,
    Method,
    Participant,
    Role,
    Signature,
    handwritten_digest,
)
from services.actas.domain.templates import FieldType, Template
from services.actas.service_layer.ports import ActaRepository, Clock, Directory, EventRelay, Person, StaffProfile

ACTAS = "actas"
REJECTIONS = "rejections"
MAX_LIST = 500
GROUPINGS = ("template", "gestor", "community", "week")
COUNT_STATUSES = ("draft", "signed", "sealed", "todos")


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
class KioskMessage:
    """One kiosk message as the entrypoint decoded it, once: the signed body's bytes
    (what the device's signature covers) and what they decode to, or why not.

    Nothing in ``content`` is trusted before the signature over ``body`` has been
    verified (``KioskFlow.ingest``)."""

    device_id: str
    body: bytes
    signature: bytes
    content: SubmissionContent | None
    malformed: str = ""  # why the body is not a submission, when content is None
    submission_id: str = ""  # as far as the body could be read, for a rejection record


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
class HandlersBase:
    """The wiring every flow uses, and the checks several flows make."""

    repo: ActaRepository
    directory: Directory
    relay: EventRelay
    clock: Clock
    min_match_score: int = 50
    templates: dict[str, Template] = field(default_factory=lambda: {t.key: t for t in CATALOGUE})

    def template(self, key: str) -> Template:
        found = self.templates.get(key)
        if found is None:
            raise NotFound("plantilla", key)
        return found

    def get(self, acta_id: str) -> Acta:
        acta = self.repo.get(acta_id) if acta_id else None
        if acta is None:
            raise NotFound("acta", acta_id)
        return acta

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
    ) -> tuple[dict[str, Person], dict[str, str]]:
        """Every referenced person and household must exist; each unknown one is
        named. Returns the people and the referenced households' names."""
        wanted: list[str] = []
        for spec in template.fields:
            value = values.get(spec.code)
            if spec.type == FieldType.SIGNATURE_LIST and value:
                wanted.extend(value)
            elif spec.type == FieldType.BENEFICIARY_REF and value:
                wanted.append(value)
        people = self.directory.people(list(dict.fromkeys(wanted)), fresh=fresh)
        errors: dict[str, str] = {}
        households: dict[str, str] = {}
        for spec in template.fields:
            value = values.get(spec.code)
            if spec.type == FieldType.SIGNATURE_LIST and value:
                missing = [v for v in value if v not in people]
                if missing:
                    errors[spec.code] = f"{spec.label}: personas no registradas: {', '.join(missing)}"
            elif spec.type == FieldType.BENEFICIARY_REF and value and value not in people:
                errors[spec.code] = f"{spec.label}: persona no registrada {value}"
            elif spec.type == FieldType.FAMILY_REF and value:
                name = self.directory.family_name(value)
                if name is None:
                    errors[spec.code] = f"{spec.label}: hogar no registrado {value}"
                elif name:
                    households[value] = name
        if errors:
            raise error(errors)
        return people, households

    def _gestor(self, actor: Actor) -> StaffProfile | None:
        """Who signs as gestor, as the gateway named them: the profile the call carries
        (remembered for the actas a kiosk captures for them), else the one last recorded."""
        if actor.full_name:
            profile = StaffProfile(actor.subject, actor.full_name, actor.document, actor.title)
            if self.repo.staff(actor.subject) != profile:
                self.repo.put_staff(profile)
            return profile
        return self.repo.staff(actor.subject)

    def _names(self, people: dict[str, Person], households: dict[str, str], community_id: str) -> dict[str, str]:
        """What the acta records in words (id -> name): its community, the households
        and the people it refers to; a snapshot, as they were named when it was made."""
        names = {p.beneficiary_id: p.full_name for p in people.values() if p.full_name}
        names.update(households)
        community = self.directory.community_name(community_id) if community_id else ""
        if community:
            names[community_id] = community
        return names

    def _signature(
        self,
        given: SignatureInput,
        people: dict[str, Person],
        images: dict[str, bytes],
        now: datetime,
        error: Callable[[str, str], ActaError],
        verified_by: str = "",
    ) -> Signature:
        """``verified_by``: the device whose signature covers the whole submission (a kiosk)."""
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
        if given.method == Method.FINGERPRINT and verified_by and given.fingerprint is not None:
            vouched = replace(given.fingerprint, verification=VERIFIED_BY_DEVICE, device_id=verified_by)
            given = replace(given, fingerprint=replace(vouched, device_signature=b""))
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
        """A fingerprint a device vouched for counts only if it matched, well enough,
        the template the person enrolled for that finger. A declared one is the
        gestor's statement and is recorded as such: no score or template to check."""
        evidence = given.fingerprint
        if evidence is None:
            raise error("fingerprint", "Falta la evidencia de la huella")
        if evidence.declared:
            if given.role == Role.PARTICIPANT and given.signer_id not in people:
                raise error("signer_id", f"{given.signer_id} no está registrado")
            return
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


def require(actor: Actor, operation: str) -> None:
    """The service's access table (``services.actas.access``) for a use case that is
    given its actor: the gRPC server checked the same entry before the call."""
    if not access.allows(ACCESS, actor.role, operation):
        raise PermissionDenied(access.denial(actor.role, operation))


def field_error(name: str, message: str) -> ActaError:
    return FieldsInvalid({name: message})


def bounded(limit: int) -> int:
    return max(1, min(limit or 50, MAX_LIST))


def participants(template: Template, values: dict[str, Any], people: dict[str, Person]) -> list[Participant]:
    ids: list[str] = []
    for spec in template.fields:
        if spec.type == FieldType.SIGNATURE_LIST:
            ids.extend(values.get(spec.code) or [])
    return [Participant(p.beneficiary_id, p.family_id, p.full_name, p.national_id) for p in (people[i] for i in ids)]


def community_of(people: dict[str, Person]) -> str:
    communities = {p.community_id for p in people.values() if p.community_id}
    return communities.pop() if len(communities) == 1 else ""


def received(acta: Acta, by: str) -> Event:
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


def amended(acta: Acta) -> Event:
    return Event(
        "acta_amended",
        {
            "acta_id": acta.id,
            "amends": acta.amends,
            "reason": acta.amendment_reason,
            "by": acta.gestor_id,
        },
    )
