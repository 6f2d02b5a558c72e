"""Use cases of the beneficiaries service.

Each command validates, writes the aggregate together with its events (outbox),
and then asks the relay to publish them; a failed publish leaves the events in the
outbox for the relay's sweep, so an event is never announced before its write is
durable and never lost after it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crm_platform.clock import Clock
from services.beneficiaries.domain import model, name_index, normalise
from services.beneficiaries.domain.errors import (
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from services.beneficiaries.domain.model import (
    Actor,
    Beneficiary,
    BiometricEnrolment,
    Community,
    Event,
    Family,
)
from services.beneficiaries.domain.timeline import (
    SUBJECT_TYPES,
    TimelineEntry,
    entries_for_acta_sealed,
    entries_for_beneficiary_event,
    entries_for_income_event,
)
from services.beneficiaries.service_layer.ports import EventRelay, Repository, TemplateCipher

log = logging.getLogger(__name__)

BENEFICIARIES = "beneficiaries"
FAMILIES = "families"
COMMUNITIES = "communities"
# Roles allowed to read a plain biometric template (a paired kiosk verifying 1:1).
TEMPLATE_READERS = {"kiosk"}
MAX_SEARCH_RESULTS = 100
MAX_ROSTER_PAGE = 500
MAX_TIMELINE_ENTRIES = 500
MAX_NAME_LOOKUPS = 500


@dataclass
class BeneficiaryHandlers:
    repo: Repository
    relay: EventRelay
    cipher: TemplateCipher
    clock: Clock

    # -- communities and families -------------------------------------------------
    def register_community(self, cmd: model.RegisterCommunity, actor: Actor) -> Community:
        community = cmd.build(self.clock.now())
        event = Event(
            "community_registered",
            {
                "community_id": community.id,
                "name": community.name,
                "occurred_at": community.created_at.isoformat(),
                "by": actor.subject,
            },
        )
        self.repo.add_community(community, [event])
        self.relay.flush(COMMUNITIES, community.id)
        return community

    def list_communities(self) -> list[Community]:
        return self.repo.list_communities()

    def register_family(self, cmd: model.RegisterFamily, actor: Actor) -> Family:
        family = cmd.build(self.clock.now())
        self._community(family.community_id, "community_id")
        event = Event(
            "family_registered",
            {
                "family_id": family.id,
                "community_id": family.community_id,
                "name": family.name,
                "occurred_at": family.created_at.isoformat(),
                "by": actor.subject,
            },
        )
        self.repo.add_family(family, [event])
        self.relay.flush(FAMILIES, family.id)
        return family

    def get_family(self, family_id: str) -> Family:
        family_id = model.validate_id(family_id)
        family = self.repo.get_family(family_id)
        if family is None:
            raise NotFound("hogar", family_id)
        return family

    def family_members(self, family_id: str) -> list[Beneficiary]:
        return self.repo.family_members(self.get_family(family_id).id)

    def family_head(self, family_id: str) -> Beneficiary | None:
        return self.repo.family_head(family_id)

    # -- beneficiaries -------------------------------------------------------------
    def register_beneficiary(self, cmd: model.RegisterBeneficiary, actor: Actor) -> Beneficiary:
        now = self.clock.now()
        person = cmd.build(now, now.date())
        if person.family_id:
            family = self._family(person.family_id, as_field="family_id")
            if person.community_id and person.community_id != family.community_id:
                raise ValidationFailed({"community_id": "La comunidad no coincide con la del hogar indicado"})
            person.community_id = family.community_id
            assert person.relationship
            model.ensure_single_head(person.relationship, self.repo.family_head(family.id), person.id)
        else:
            self._community(person.community_id, "community_id")
        event = Event(
            "beneficiary_registered",
            {
                **person.summary(),
                "occurred_at": now.isoformat(),
                "by": actor.subject,
            },
        )
        self.repo.add_beneficiary(person, [event])
        self.relay.flush(BENEFICIARIES, person.id)
        return person

    def get_beneficiary(self, beneficiary_id: str) -> Beneficiary:
        beneficiary_id = model.validate_id(beneficiary_id)
        person = self.repo.get_beneficiary(beneficiary_id)
        if person is None:
            raise NotFound("beneficiario", beneficiary_id)
        return person

    def names(self, beneficiary_ids: Sequence[str], family_ids: Sequence[str]) -> tuple[dict[str, str], dict[str, str]]:
        """Display names by id (unknown ids left out), for lists that show many."""
        problems = {
            field: f"Como máximo {MAX_NAME_LOOKUPS} identificadores por consulta"
            for field, ids in (("beneficiary_ids", beneficiary_ids), ("family_ids", family_ids))
            if len(ids) > MAX_NAME_LOOKUPS
        }
        if problems:
            raise ValidationFailed(problems)
        unique = [list(dict.fromkeys(i.strip() for i in ids if i.strip())) for ids in (beneficiary_ids, family_ids)]
        return self.repo.names(*unique)

    def get_by_national_id(self, id_type: str, number: str) -> Beneficiary:
        try:
            kind = normalise.normalise_id_type(id_type)
        except normalise.InvalidValue as exc:
            raise ValidationFailed({"national_id.type": str(exc)}) from None
        try:
            value = normalise.normalise_id_number(kind, number)
        except normalise.InvalidValue as exc:
            raise ValidationFailed({"national_id.number": str(exc)}) from None
        person = self.repo.get_by_national_id(normalise.national_id_key(kind, value))
        if person is None:
            raise NotFound("beneficiario", f"{kind} {value}")
        return person

    def search(self, query: str, community_id: str = "", limit: int = 20) -> list[Beneficiary]:
        tokens = normalise.search_tokens(query or "")
        if not tokens:
            raise ValidationFailed({"query": "Escriba al menos una letra del nombre"})
        limit = max(1, min(limit or 20, MAX_SEARCH_RESULTS))
        return self.repo.search(tokens, community_id.strip() or None, limit)

    def community_members(self, community_id: str, after_id: str = "", limit: int = 200) -> list[Beneficiary]:
        """A page of everyone registered in the community, in id order."""
        community = self._community(model.validate_id(community_id, "community_id"), "community_id")
        limit = max(1, min(limit or 200, MAX_ROSTER_PAGE))
        return self.repo.community_members(community.id, after_id, limit)

    def add_member(self, family_id: str, beneficiary_id: str, relationship: str, actor: Actor) -> Beneficiary:
        return self._join(family_id, beneficiary_id, relationship, actor, moving=False)

    def move_member(self, beneficiary_id: str, to_family_id: str, relationship: str, actor: Actor) -> Beneficiary:
        return self._join(to_family_id, beneficiary_id, relationship, actor, moving=True)

    def _join(
        self, family_id: str, beneficiary_id: str, relationship: str, actor: Actor, *, moving: bool
    ) -> Beneficiary:
        relationship = model.check_relationship(relationship)
        family = self._family(model.validate_id(family_id, "family_id"))
        person = self._beneficiary(model.validate_id(beneficiary_id, "beneficiary_id"))
        if not moving and person.family_id and person.family_id != family.id:
            raise model.Conflict(
                f"{person.full_name} pertenece a otro hogar; use 'mover integrante'",
                field="beneficiary_id",
            )
        model.ensure_single_head(relationship, self.repo.family_head(family.id), person.id)
        previous_family, previous_community = person.family_id, person.community_id
        now = self.clock.now()
        model.join_family(person, family, relationship, now)
        change = {
            "change": "family",
            "previous_family_id": previous_family,
            "previous_community_id": previous_community,
        }
        return self._save_update(person, now, actor, change)

    def update_contact(
        self,
        beneficiary_id: str,
        phone: str | None,
        email: str | None,
        actor: Actor,
        channels: Sequence[str] | None = None,
    ) -> Beneficiary:
        """``None`` keeps a field as it is; an empty phone, email or channel list clears it."""
        person = self._beneficiary(model.validate_id(beneficiary_id, "beneficiary_id"))
        now = self.clock.now()
        changed = model.update_contact(person, phone, email, now, channels)
        if not changed:
            return person
        return self._save_update(person, now, actor, {"change": "contact", "fields": changed})

    def set_consent(self, beneficiary_id: str, kind: str, granted: bool, actor: Actor) -> Beneficiary:
        kind = model.check_consent_kind(kind)
        person = self._beneficiary(model.validate_id(beneficiary_id, "beneficiary_id"))
        now = self.clock.now()
        if not model.set_consent(person, kind, granted, actor, now):
            return person
        person.version += 1
        event = Event(
            "consent_changed",
            {
                "beneficiary_id": person.id,
                "kind": kind,
                "granted": granted,
                "recorded_by": actor.subject,
                "occurred_at": now.isoformat(),
                "version": person.version,
            },
        )
        self.repo.update_beneficiary(person, [event])
        self.relay.flush(BENEFICIARIES, person.id)
        return person

    # -- biometrics ---------------------------------------------------------------
    def store_biometric_template(
        self, beneficiary_id: str, finger: str, template: bytes, actor: Actor
    ) -> BiometricEnrolment:
        finger = model.check_template(finger, template)
        person = self._beneficiary(model.validate_id(beneficiary_id, "beneficiary_id"))
        model.require_biometric_consent(person)
        key_id, sealed = self.cipher.seal(template, _aad(person.id, finger))
        now = self.clock.now()
        enrolment = BiometricEnrolment(finger, model.template_digest(template), actor.subject, now, key_id, sealed)
        person.biometrics[finger] = enrolment
        person.updated_at = now
        self._save_update(
            person,
            now,
            actor,
            {
                "change": "biometric_enrolment",
                "finger": finger,
                "template_sha256": enrolment.template_sha256,
            },
        )
        return enrolment

    def get_biometric_template(
        self, beneficiary_id: str, finger: str, actor: Actor
    ) -> tuple[BiometricEnrolment, bytes]:
        if actor.role not in TEMPLATE_READERS:
            raise PermissionDenied("Solo un quiosco autorizado puede leer plantillas biométricas")
        person = self._beneficiary(model.validate_id(beneficiary_id, "beneficiary_id"))
        enrolment = person.biometrics.get((finger or "").strip().lower())
        if enrolment is None:
            raise NotFound("plantilla biométrica", f"{person.id}/{finger}")
        template = self.cipher.open(enrolment.key_id, enrolment.sealed_template, _aad(person.id, enrolment.finger))
        return enrolment, template

    # -- timeline -----------------------------------------------------------------
    def record_own_event(self, event_type: str, event_id: str, payload: dict[str, Any]) -> int:
        """Project one of this service's events: timeline entries and the name index.
        Returns how many timeline entries were new."""
        self.repo.index_names(name_index.entries_for_event(event_type, payload))
        return self.repo.append_timeline(entries_for_beneficiary_event(event_type, event_id, payload))

    def record_acta_sealed(self, event_id: str, payload: dict[str, Any]) -> int:
        return self.repo.append_timeline(entries_for_acta_sealed(event_id, payload))

    def record_income_event(self, event_type: str, event_id: str, payload: dict[str, Any]) -> int:
        return self.repo.append_timeline(entries_for_income_event(event_type, event_id, payload))

    def timeline(self, subject_type: str, subject_id: str, limit: int = 100) -> list[TimelineEntry]:
        subject_type = (subject_type or "").strip().lower()
        if subject_type not in SUBJECT_TYPES:
            raise ValidationFailed({"subject_type": "Use 'family' o 'beneficiary'"})
        if subject_type == "family":
            subject_id = self.get_family(subject_id).id
        else:
            subject_id = self.get_beneficiary(subject_id).id
        return self.repo.timeline(subject_type, subject_id, max(1, min(limit or 100, MAX_TIMELINE_ENTRIES)))

    # -- helpers ------------------------------------------------------------------
    def _save_update(self, person: Beneficiary, now: datetime, actor: Actor, change: dict[str, Any]) -> Beneficiary:
        person.version += 1
        event = Event(
            "beneficiary_updated",
            {
                **person.summary(),
                **change,
                "occurred_at": now.isoformat(),
                "by": actor.subject,
            },
        )
        self.repo.update_beneficiary(person, [event])
        self.relay.flush(BENEFICIARIES, person.id)
        return person

    def _community(self, community_id: str, field: str) -> Community:
        community = self.repo.get_community(community_id)
        if community is None:
            raise ValidationFailed({field: f"No existe la comunidad {community_id!r}"})
        return community

    def _family(self, family_id: str, as_field: str | None = None) -> Family:
        """The family, or NotFound; with ``as_field`` a missing family is a field error
        of the command instead (the id came in the body, not the path)."""
        family = self.repo.get_family(family_id)
        if family is None and as_field:
            raise ValidationFailed({as_field: f"No existe el hogar {family_id!r}"})
        if family is None:
            raise NotFound("hogar", family_id)
        return family

    def _beneficiary(self, beneficiary_id: str) -> Beneficiary:
        person = self.repo.get_beneficiary(beneficiary_id)
        if person is None:
            raise NotFound("beneficiario", beneficiary_id)
        return person


def _aad(beneficiary_id: str, finger: str) -> bytes:
    # Binds a sealed template to its owner and finger: a template copied onto
    # another record fails to decrypt instead of verifying the wrong person.
    return f"{beneficiary_id}:{finger}".encode()
