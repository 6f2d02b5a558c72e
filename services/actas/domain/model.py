"""The acta aggregate: a filled template, its participants and their signatures,
and the lifecycle draft -> signed -> sealed.

A sealed acta is immutable; its ``content_hash`` commits to everything a reader of
the record relies on (values, participants, each signature and its evidence,
who captured it, where and when). Corrections are new actas that reference the
sealed one (``amends``).
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from crm_platform import contracts
from services.actas.domain.canonical import digest
from services.actas.domain.errors import FieldsInvalid, InvalidState, PermissionDenied

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_HANDWRITTEN_BYTES = 256 * 1024
FINGERS = frozenset(
    f"{side}_{finger}" for side in ("right", "left") for finger in ("thumb", "index", "middle", "ring", "little")
)
MATCH_MODES = frozenset({"verify_1_1", "identify_1_n"})
MAX_REASON = 1000  # characters of an amendment's reason
# How a fingerprint match is known (``FingerprintEvidence.verification``): signed by a
# paired device (a kiosk's submission or a desk reader's signature over the match),
# or only stated by the gestor at the desk. Records sealed before this distinction
# have it empty: kiosk ones were device-signed, desk ones declared.
VERIFIED_BY_DEVICE = "device"
DECLARED = "declared"


class Status(StrEnum):
    DRAFT = "draft"
    SIGNED = "signed"
    SEALED = "sealed"


class Method(StrEnum):
    # A staff member's signature at the desk: the authenticated user's own act.
    ELECTRONIC = "electronic"
    FINGERPRINT = "fingerprint"
    HANDWRITTEN = "handwritten"
    REFUSED = "refused"


class Role(StrEnum):
    PARTICIPANT = "participante"
    GESTOR = "gestor"


class Source(StrEnum):
    DESK = "desk"
    KIOSK = "kiosk"


@dataclass(frozen=True)
class Actor:
    subject: str
    role: str
    # A staff member's profile as their account holds it (the gateway passes it when
    # they create or correct an acta): snapshotted on the acta they sign as gestor.
    full_name: str = ""
    document: str = ""
    title: str = ""


@dataclass(frozen=True)
class Event:
    """An event of the actas service, checked against its contract when made
    (``crm_platform.contracts``): a malformed one never reaches the outbox."""

    type: str
    payload: dict[str, Any]
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def __post_init__(self) -> None:
        contracts.check("actas", self.type, self.payload)


@dataclass(frozen=True)
class Participant:
    beneficiary_id: str
    family_id: str
    full_name: str
    national_id: str


@dataclass(frozen=True)
class FingerprintEvidence:
    score: int
    finger: str
    sensor_id: str
    mode: str
    template_sha256: str
    matched_at: datetime
    verification: str = ""
    device_id: str = ""  # the paired device that vouched for the match
    device_signature: bytes = b""  # a desk reader's Ed25519 signature over the match

    @property
    def declared(self) -> bool:
        return self.verification == DECLARED

    def problems(self) -> list[str]:
        found = []
        if self.finger not in FINGERS:
            found.append(f"dedo desconocido {self.finger!r}")
        if self.mode not in MATCH_MODES:
            found.append(f"modo de cotejo desconocido {self.mode!r}")
        if self.declared:
            return found  # the gestor's statement: nothing a reader measured to check
        if len(self.template_sha256) != 64:
            found.append("falta el hash de la plantilla cotejada")
        if not self.sensor_id:
            found.append("falta la identidad del sensor")
        return found


@dataclass(frozen=True)
class Signature:
    signer_id: str
    role: Role
    method: Method
    signed_at: datetime
    fingerprint: FingerprintEvidence | None = None
    handwritten_sha256: str = ""
    refusal_reason: str = ""

    def canonical(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "signer_id": self.signer_id,
            "role": str(self.role),
            "method": str(self.method),
            "signed_at": _iso(self.signed_at),
        }
        if self.fingerprint is not None:
            fp = self.fingerprint
            body["fingerprint"] = {
                "score": fp.score,
                "finger": fp.finger,
                "sensor_id": fp.sensor_id,
                "mode": fp.mode,
                "template_sha256": fp.template_sha256,
                "matched_at": _iso(fp.matched_at),
            }
            # Only when set, so actas sealed before keep their hash.
            if fp.verification:
                body["fingerprint"]["verification"] = fp.verification
            if fp.device_id:
                body["fingerprint"]["device_id"] = fp.device_id
            if fp.device_signature:
                body["fingerprint"]["device_signature"] = base64.b64encode(fp.device_signature).decode()
        if self.handwritten_sha256:
            body["handwritten_sha256"] = self.handwritten_sha256
        if self.refusal_reason:
            body["refusal_reason"] = self.refusal_reason
        return body


def handwritten_digest(png: bytes) -> str:
    """SHA-256 of a handwritten signature image, after checking it is a PNG."""
    if not png.startswith(PNG_MAGIC):
        raise FieldsInvalid({"handwritten_png": "La firma manuscrita debe ser una imagen PNG"})
    if len(png) > MAX_HANDWRITTEN_BYTES:
        raise FieldsInvalid({"handwritten_png": f"La imagen supera {MAX_HANDWRITTEN_BYTES // 1024} KB"})
    return hashlib.sha256(png).hexdigest()


@dataclass(frozen=True)
class GeoPoint:
    lat: float
    lon: float
    accuracy_m: float = 0.0


@dataclass
class Acta:
    id: str
    template_key: str
    title: str
    values: dict[str, Any]
    participants: list[Participant]
    gestor_id: str
    community_id: str
    captured_at: datetime
    created_at: datetime
    status: Status = Status.DRAFT
    signatures: list[Signature] = field(default_factory=list)
    source: Source = Source.DESK
    device_id: str = ""
    submission_id: str = ""
    amends: str = ""
    amendment_reason: str = ""
    location: GeoPoint | None = None
    # What a reader of the record needs in words, snapshotted when the acta is made:
    # the names of the community, households and people it refers to (id -> name),
    # and who the gestor is (full name, identity document, job title).
    names: dict[str, str] = field(default_factory=dict)
    gestor_name: str = ""
    gestor_document: str = ""
    gestor_title: str = ""
    # The human number of a sealed acta, e.g. "VD-2026-000123": one counter per
    # template prefix and year, assigned inside the seal's transaction.
    folio: str = ""
    sealed_at: datetime | None = None
    content_hash: str = ""
    chain_seq: int = 0
    version: int = 0

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex

    @property
    def template_code(self) -> str:
        return self.template_key.split("@", 1)[0]

    # -- signing ----------------------------------------------------------------
    def pending_signers(self) -> list[str]:
        if self.amends:
            return []  # a correction is the gestor's act; participants signed the original
        signed = {s.signer_id for s in self.signatures if s.role == Role.PARTICIPANT}
        return [p.beneficiary_id for p in self.participants if p.beneficiary_id not in signed]

    def add_signature(self, signature: Signature) -> None:
        """Participants sign in any order; the gestor signs last, which completes the acta."""
        if self.status != Status.DRAFT:
            raise InvalidState(f"El acta {self.id} ya no admite firmas (estado {self.status})")
        if signature.role == Role.PARTICIPANT:
            if signature.signer_id not in {p.beneficiary_id for p in self.participants}:
                raise FieldsInvalid({"signer_id": f"{signature.signer_id} no es participante de esta acta"})
            if signature.signer_id not in self.pending_signers():
                raise InvalidState(f"{signature.signer_id} ya firmó esta acta")
        else:
            if signature.signer_id != self.gestor_id:
                raise PermissionDenied(f"Solo {self.gestor_id}, quien capturó el acta, firma como gestor")
            if signature.method == Method.REFUSED:
                raise FieldsInvalid({"method": "El gestor no puede negarse a firmar el acta que capturó"})
            pending = self.pending_signers()
            if pending:
                raise InvalidState(f"El gestor firma al final; faltan: {', '.join(pending)}")
        if signature.method == Method.FINGERPRINT:
            if signature.fingerprint is None:
                raise FieldsInvalid({"fingerprint": "Falta la evidencia de la huella"})
            problems = signature.fingerprint.problems()
            if problems:
                raise FieldsInvalid({"fingerprint": "; ".join(problems)})
        if signature.method == Method.REFUSED and not signature.refusal_reason.strip():
            raise FieldsInvalid({"refusal_reason": "Indique el motivo por el que no firma"})
        self.signatures.append(signature)
        if signature.role == Role.GESTOR:
            self.status = Status.SIGNED

    # -- sealing ----------------------------------------------------------------
    def canonical(self) -> dict[str, Any]:
        """Everything the content hash commits to."""
        body: dict[str, Any] = {
            "id": self.id,
            "template_key": self.template_key,
            "values": self.values,
            "participants": [
                {
                    "beneficiary_id": p.beneficiary_id,
                    "family_id": p.family_id,
                    "full_name": p.full_name,
                    "national_id": p.national_id,
                }
                for p in self.participants
            ],
            "signatures": [s.canonical() for s in self.signatures],
            "gestor_id": self.gestor_id,
            "community_id": self.community_id,
            "captured_at": _iso(self.captured_at),
            "sealed_at": _iso(self.sealed_at) if self.sealed_at else None,
            "source": str(self.source),
            "device_id": self.device_id,
            "submission_id": self.submission_id,
            "amends": self.amends,
            "amendment_reason": self.amendment_reason,
        }
        # Added later: hashed only when present, so actas sealed before still verify.
        for key in ("names", "gestor_name", "gestor_document", "gestor_title", "folio"):
            if getattr(self, key):
                body[key] = getattr(self, key)
        if self.location is not None:
            body["location"] = {"lat": self.location.lat, "lon": self.location.lon, "acc": self.location.accuracy_m}
        return body

    def compute_hash(self) -> str:
        return digest(self.canonical())

    def ensure_sealable(self) -> None:
        if self.status == Status.SEALED:
            raise InvalidState(f"El acta {self.id} ya está sellada")
        if self.status != Status.SIGNED:
            pending = self.pending_signers()
            missing = f"faltan las firmas de: {', '.join(pending)}" if pending else "falta la firma del gestor"
            raise InvalidState(f"El acta {self.id} no se puede sellar; {missing}")

    def seal(self, now: datetime, folio: str = "") -> Event:
        self.ensure_sealable()
        self.status = Status.SEALED
        self.sealed_at = now
        self.folio = folio
        self.content_hash = self.compute_hash()
        return self.sealed_event()

    def sealed_event(self) -> Event:
        assert self.sealed_at is not None
        family_ids = sorted({p.family_id for p in self.participants if p.family_id})
        return Event(
            "acta_sealed",
            {
                "acta_id": self.id,
                "title": self.title,
                "template_key": self.template_key,
                "sealed_at": _iso(self.sealed_at),
                "captured_at": _iso(self.captured_at),
                "gestor_id": self.gestor_id,
                "community_id": self.community_id,
                "content_hash": self.content_hash,
                "amends": self.amends,
                "source": str(self.source),
                "participants": [
                    {"beneficiary_id": p.beneficiary_id, "family_id": p.family_id} for p in self.participants
                ],
                "family_ids": family_ids,
            },
        )

    def amendment(self, new_id: str, values: dict[str, Any], reason: str, actor: Actor, now: datetime) -> Acta:
        """A draft correcting this sealed acta; the caller validates ``values`` and
        decides whether ``actor`` may correct it (``services.actas.access.amend_denial``).

        Its participants are only those who sign the correction (the one who
        corrects it): the people who signed the original did not sign this one."""
        if self.status != Status.SEALED:
            raise InvalidState(f"Solo se corrige un acta sellada; {self.id} está en estado {self.status}")
        if not reason.strip():
            raise FieldsInvalid({"reason": "Indique el motivo de la corrección"})
        if len(reason.strip()) > MAX_REASON:
            raise FieldsInvalid({"reason": f"El motivo admite hasta {MAX_REASON} caracteres"})
        return replace(
            self,
            id=new_id,
            title=f"Corrección: {self.title}",
            values=values,
            participants=[],
            gestor_id=actor.subject,
            gestor_name=actor.full_name,
            gestor_document=actor.document,
            gestor_title=actor.title,
            created_at=now,
            status=Status.DRAFT,
            signatures=[],
            source=Source.DESK,
            device_id="",
            submission_id="",
            amends=self.id,
            amendment_reason=reason.strip(),
            sealed_at=None,
            content_hash="",
            chain_seq=0,
            folio="",
            version=0,
        )


def _iso(moment: datetime) -> str:
    """UTC, to the millisecond: what MongoDB stores, so a stored acta re-hashes equal."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")
