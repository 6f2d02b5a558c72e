"""The desk flow: a gestor ``create``s a draft, participants then the gestor
``sign``, and ``seal`` chains it; ``amend`` corrects a sealed acta with a new one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.actas.domain.errors import FieldsInvalid, PermissionDenied
from services.actas.domain.model import Acta, Actor, Method, Role, Signature
from services.actas.domain.templates import FieldType
from services.actas.service_layer import desk_evidence
from services.actas.service_layer.base import (
    ACTAS,
    HandlersBase,
    SignatureInput,
    amended,
    community_of,
    field_error,
    participants,
    received,
    require,
)


class DeskFlow(HandlersBase):
    def create(
        self, template_key: str, values: dict[str, Any], community_id: str, captured_at: datetime | None, actor: Actor
    ) -> Acta:
        require(actor, "CreateActa")
        template = self._template_field(template_key)
        clean = template.validate(values)
        people = self._resolve(template, clean, lambda errors: FieldsInvalid(errors))
        now = self.clock.now()
        acta = Acta(
            id=Acta.new_id(),
            template_key=template.key,
            title=template.title,
            values=clean,
            participants=participants(template, clean, people),
            gestor_id=actor.subject,
            community_id=community_id or community_of(people),
            captured_at=captured_at or now,
            created_at=now,
        )
        self.repo.add(acta, [received(acta, actor.subject)], {})
        self.relay.flush(ACTAS, acta.id)
        return acta

    def sign(self, acta_id: str, given: SignatureInput, actor: Actor) -> Acta:
        require(actor, "SignActa")
        acta = self.get(acta_id)
        if given.role == Role.GESTOR and given.signer_id != actor.subject:
            raise PermissionDenied("El gestor firma con su propia sesión")
        given = desk_evidence.classify(self.repo, acta, given)  # verified by a reader, or declared
        images: dict[str, bytes] = {}
        people = self.directory.people([given.signer_id], fresh=True) if given.role == Role.PARTICIPANT else {}
        signature = self._signature(given, people, images, self.clock.now(), field_error)
        acta.add_signature(signature)
        self.repo.update(acta, [], images)
        return acta

    def seal(self, acta_id: str, actor: Actor) -> Acta:
        require(actor, "SealActa")
        acta = self.get(acta_id)
        events = [acta.seal(self.clock.now())]
        if acta.amends:
            events.insert(0, amended(acta))
        entry = self.repo.seal(acta, events)
        acta.chain_seq = entry.seq
        self.relay.flush(ACTAS, acta.id)
        return acta

    def amend(self, acta_id: str, changes: dict[str, Any], reason: str, actor: Actor) -> Acta:
        """A correction: a new acta with the changed values, signed by the gestor and sealed."""
        require(actor, "AmendActa")
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
        draft.participants = participants(template, clean, people)
        draft.add_signature(Signature(actor.subject, Role.GESTOR, Method.ELECTRONIC, now))
        self.repo.add(draft, [received(draft, actor.subject)], {})
        return self.seal(draft.id, actor)
