"""The desk flow: a gestor ``create``s a draft, participants then the gestor
``sign``, and ``seal`` chains it; ``amend`` corrects a sealed acta with a new one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.actas.access import amend_denial, create_denial
from services.actas.domain.errors import FieldsInvalid, PermissionDenied
from services.actas.domain.model import Acta, Actor, Method, Role, Signature
from services.actas.domain.sealing import Sealing
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
from services.actas.service_layer.ports import StaffProfile


class DeskFlow(HandlersBase):
    def create(
        self, template_key: str, values: dict[str, Any], community_id: str, captured_at: datetime | None, actor: Actor
    ) -> Acta:
        require(actor, "CreateActa")
        template = self._template_field(template_key)
        denial = create_denial(actor.role, template.key)
        if denial:
            raise PermissionDenied(denial)
        clean = template.validate(values)
        people, households = self._resolve(template, clean, lambda errors: FieldsInvalid(errors))
        now = self.clock.now()
        community_id = community_id or community_of(people)
        gestor = self._gestor(actor)
        acta = Acta(
            id=Acta.new_id(),
            template_key=template.key,
            title=template.title,
            values=clean,
            participants=participants(template, clean, people),
            gestor_id=actor.subject,
            community_id=community_id,
            captured_at=captured_at or now,
            created_at=now,
            names=self._names(people, households, community_id),
            gestor_name=gestor.full_name if gestor else "",
            gestor_document=gestor.document if gestor else "",
            gestor_title=gestor.title if gestor else "",
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
        leading = (amended(acta),) if acta.amends else ()
        entry = self.repo.seal(acta, Sealing(acta, self.clock.now(), leading))
        acta.chain_seq = entry.seq
        self.relay.flush(ACTAS, acta.id)
        return acta

    def amend(self, acta_id: str, changes: dict[str, Any], reason: str, actor: Actor) -> Acta:
        """A correction: a new acta with the changed values and the reason, signed
        and sealed by whoever corrects it (the acta's gestor, or a coordinator; a
        restricted acta only by those who may read it), who is its only signer."""
        require(actor, "AmendActa")
        original = self.get(acta_id)
        denial = amend_denial(actor.subject, actor.role, original.gestor_id, original.template_key)
        if denial:
            raise PermissionDenied(denial)
        template = self.template(original.template_key)
        signer_fields = [f.code for f in template.fields if f.type == FieldType.SIGNATURE_LIST and f.code in changes]
        if signer_fields:
            message = "Quienes firmaron no se corrigen: capture un acta nueva con los participantes"
            raise FieldsInvalid(dict.fromkeys(signer_fields, message))
        clean = template.validate({**original.values, **changes})
        people, households = self._resolve(template, clean, lambda errors: FieldsInvalid(errors))
        now = self.clock.now()
        gestor = self._gestor(actor)
        if gestor is not None:
            actor = Actor(actor.subject, actor.role, gestor.full_name, gestor.document, gestor.title)
        draft = original.amendment(Acta.new_id(), clean, reason, actor, now)
        draft.names = {**original.names, **self._names(people, households, draft.community_id)}
        draft.add_signature(Signature(actor.subject, Role.GESTOR, Method.ELECTRONIC, now))
        self.repo.add(draft, [received(draft, actor.subject)], {})
        return self.seal(draft.id, actor)

    def put_staff_profile(self, profile: StaffProfile, actor: Actor) -> StaffProfile:
        """Record a staff account's profile (the gateway, when it creates the account)."""
        require(actor, "PutStaffProfile")
        profile = StaffProfile(
            profile.username.strip().lower(), profile.full_name.strip(), profile.document.strip(), profile.title.strip()
        )
        errors = {
            name: f"Hasta {limit} caracteres"
            for name, limit in (("full_name", 120), ("document", 40), ("title", 80))
            if len(getattr(profile, name)) > limit
        }
        if not profile.username or len(profile.username) > 64:
            errors["username"] = "Indique el usuario (hasta 64 caracteres)"
        if not profile.full_name:
            errors["full_name"] = "Indique el nombre completo"
        if errors:
            raise FieldsInvalid(errors)
        self.repo.put_staff(profile)
        return profile
