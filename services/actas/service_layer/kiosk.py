"""The kiosk flow: ``ingest`` a device-signed submission (verified, de-duplicated,
validated, sealed on arrival) and ``reject`` one that cannot be, for staff to review."""

from __future__ import annotations

import hashlib
import uuid

from services.actas.domain import submission
from services.actas.domain.errors import ActaError, FieldsInvalid, PermissionDenied
from services.actas.domain.model import Acta, Event, InvalidState, Role, Source, Status
from services.actas.domain.sealing import Sealing
from services.actas.domain.submission import RejectReason, SubmissionRejected
from services.actas.service_layer.base import (
    ACTAS,
    REJECTIONS,
    HandlersBase,
    IngestResult,
    KioskMessage,
    SubmissionContent,
    community_of,
    participants,
    received,
)
from services.actas.service_layer.ports import DuplicateSubmission, Rejection


class KioskFlow(HandlersBase):
    def ingest(self, message: KioskMessage) -> IngestResult:
        """Verify, de-duplicate, validate and seal one kiosk submission.

        Raises SubmissionRejected with a machine-readable reason; stores nothing then.
        """
        body_sha256 = hashlib.sha256(message.body).hexdigest()
        try:
            registered = self.repo.get_device(message.device_id) if message.device_id else None
            submission.verify(message.body, message.signature, registered.device if registered else None)
            content = message.content
            if content is None:
                raise SubmissionRejected(RejectReason.MALFORMED, message.malformed)
            if content.device_id != message.device_id:
                raise SubmissionRejected(RejectReason.MALFORMED, "el cuerpo nombra otro quiosco que el sobre")
            paired_for = registered.community_id if registered else ""
            if paired_for and content.community_id and content.community_id != paired_for:
                detail = f"el quiosco está emparejado con la comunidad {paired_for}, no con {content.community_id}"
                raise SubmissionRejected(RejectReason.INVALID_FIELDS, detail, {"community_id": detail})
            acta, images = self._kiosk_acta_resolved(content)
        except SubmissionRejected:
            # A redelivery of exact bytes stored before (the device may have been
            # revoked since) is a duplicate, not a new rejection.
            stored = self._stored_copy(message.submission_id, body_sha256)
            if stored is not None:
                return IngestResult(stored.acta_id, duplicate=True)
            raise
        # Duplicates are rare: the unique index on the submission id finds them at
        # insert time, instead of a lookup before every submission.
        sealing = Sealing(acta, self.clock.now(), (received(acta, content.gestor_id),))
        try:
            entry = self.repo.ingest(acta, sealing, images, body_sha256)
        except DuplicateSubmission as stored:  # a redelivery, or another worker stored it meanwhile
            return self._duplicate(stored, body_sha256)
        self.relay.flush(ACTAS, acta.id)
        return IngestResult(acta.id, duplicate=False, chain_seq=entry.seq)

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

    def _stored_copy(self, submission_id: str, body_sha256: str) -> DuplicateSubmission | None:
        stored = self.repo.find_submission(submission_id) if submission_id else None
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

        people, households = self._resolve(template, clean, unknown, fresh)
        community_id = content.community_id or community_of(people)
        gestor = self.repo.staff(content.gestor_id)  # the kiosk's body names only the user
        acta = Acta(
            id=Acta.new_id(),
            template_key=template.key,
            title=template.title,
            values=clean,
            participants=participants(template, clean, people),
            gestor_id=content.gestor_id,
            community_id=community_id,
            names=self._names(people, households, community_id),
            gestor_name=gestor.full_name if gestor else "",
            gestor_document=gestor.document if gestor else "",
            gestor_title=gestor.title if gestor else "",
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
                signature = self._signature(
                    given, people, images, acta.created_at, bad_evidence, verified_by=content.device_id
                )
                acta.add_signature(signature)
            except (FieldsInvalid, InvalidState, PermissionDenied) as exc:
                raise SubmissionRejected(RejectReason.BAD_EVIDENCE, str(exc)) from None
        if acta.status != Status.SIGNED:
            pending = ", ".join(acta.pending_signers()) or content.gestor_id
            raise SubmissionRejected(RejectReason.BAD_EVIDENCE, f"faltan firmas: {pending}", {"signatures": pending})
        return acta, images
