"""The beneficiaries service on the bus (nameko): RPC commands and queries, and
event handlers that build the timeline. Translation only; rules live in the
service layer."""

from __future__ import annotations

import contextlib
from typing import Any

from nameko.events import event_handler
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc
from nameko.timer import timer

from crm_platform.nameko_support import Caller, CallerInfo, Tracing, contract_checked
from services.beneficiaries import schemas
from services.beneficiaries.bootstrap import SERVICE_NAME, App, bootstrap
from services.beneficiaries.domain import errors, model

EXPECTED = (errors.DomainError,)


class Application(DependencyProvider):
    """Connects to MongoDB and the bus in ``setup()`` (never at import time) and
    injects the wired application."""

    def setup(self) -> None:
        self.app: App = bootstrap()

    def stop(self) -> None:
        self.app.close()

    def kill(self) -> None:
        # A killed container (see run_amqp) is started again with a new App.
        with contextlib.suppress(Exception):
            self.app.close()

    def get_dependency(self, worker_ctx: Any) -> App:
        return self.app


def _actor(caller: CallerInfo) -> model.Actor:
    if caller.error:
        raise errors.PermissionDenied(caller.error)
    return model.Actor(caller.subject, caller.role)


class BeneficiariesService:
    name = SERVICE_NAME

    tracing = Tracing()
    app: App = Application()
    caller: CallerInfo = Caller()

    # -- commands ------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def register_community(self, name: str, municipality: str, department: str) -> dict[str, Any]:
        cmd = model.RegisterCommunity(name, municipality, department)
        return schemas.community(self.app.handlers.register_community(cmd, _actor(self.caller)))

    @rpc(expected_exceptions=EXPECTED)
    def register_family(self, community_id: str, name: str, address: str = "") -> dict[str, Any]:
        cmd = model.RegisterFamily(community_id, name, address)
        return schemas.family(self.app.handlers.register_family(cmd, _actor(self.caller)))

    @rpc(expected_exceptions=EXPECTED)
    def register_beneficiary(self, data: dict[str, Any]) -> dict[str, Any]:
        national_id = data.get("national_id") or {}
        cmd = model.RegisterBeneficiary(
            id_type=str(national_id.get("type", "")),
            id_number=str(national_id.get("number", "")),
            first_names=str(data.get("first_names", "")),
            last_names=str(data.get("last_names", "")),
            birth_date=str(data.get("birth_date", "")),
            sex=str(data.get("sex", "")),
            community_id=str(data.get("community_id") or ""),
            family_id=str(data.get("family_id") or ""),
            relationship=str(data.get("relationship") or ""),
            whatsapp_phone=str(data.get("whatsapp_phone") or ""),
            email=str(data.get("email") or ""),
            education_level=str(data.get("education_level") or ""),
            can_sign=bool(data.get("can_sign", True)),
            contact_channels=tuple(str(c) for c in data.get("contact_channels") or ()),
        )
        return schemas.beneficiary(self.app.handlers.register_beneficiary(cmd, _actor(self.caller)))

    @rpc(expected_exceptions=EXPECTED)
    def add_member(self, family_id: str, beneficiary_id: str, relationship: str) -> dict[str, Any]:
        person = self.app.handlers.add_member(family_id, beneficiary_id, relationship, _actor(self.caller))
        return schemas.beneficiary(person)

    @rpc(expected_exceptions=EXPECTED)
    def move_member(self, beneficiary_id: str, to_family_id: str, relationship: str) -> dict[str, Any]:
        person = self.app.handlers.move_member(beneficiary_id, to_family_id, relationship, _actor(self.caller))
        return schemas.beneficiary(person)

    @rpc(expected_exceptions=EXPECTED)
    def update_contact(
        self,
        beneficiary_id: str,
        whatsapp_phone: str | None = None,
        email: str | None = None,
        contact_channels: list[str] | None = None,
    ) -> dict[str, Any]:
        person = self.app.handlers.update_contact(
            beneficiary_id, whatsapp_phone, email, _actor(self.caller), contact_channels
        )
        return schemas.beneficiary(person)

    @rpc(expected_exceptions=EXPECTED)
    def record_consent(self, beneficiary_id: str, kind: str) -> dict[str, Any]:
        return schemas.beneficiary(self.app.handlers.set_consent(beneficiary_id, kind, True, _actor(self.caller)))

    @rpc(expected_exceptions=EXPECTED)
    def withdraw_consent(self, beneficiary_id: str, kind: str) -> dict[str, Any]:
        return schemas.beneficiary(self.app.handlers.set_consent(beneficiary_id, kind, False, _actor(self.caller)))

    @rpc(expected_exceptions=EXPECTED)
    def store_biometric_template(self, beneficiary_id: str, finger: str, template_hex: str) -> dict[str, Any]:
        try:
            template = bytes.fromhex(template_hex)
        except (TypeError, ValueError):
            raise errors.ValidationFailed({"template": "La plantilla debe venir en hexadecimal"}) from None
        enrolment = self.app.handlers.store_biometric_template(beneficiary_id, finger, template, _actor(self.caller))
        return schemas.enrolment(beneficiary_id, enrolment)

    # -- queries -------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def get_beneficiary(self, beneficiary_id: str) -> dict[str, Any]:
        return schemas.beneficiary(self.app.handlers.get_beneficiary(beneficiary_id))

    @rpc(expected_exceptions=EXPECTED)
    def get_by_national_id(self, id_type: str, number: str) -> dict[str, Any]:
        return schemas.beneficiary(self.app.handlers.get_by_national_id(id_type, number))

    @rpc(expected_exceptions=EXPECTED)
    def search(self, query: str, community_id: str = "", limit: int = 20) -> list[dict[str, Any]]:
        return [schemas.beneficiary(p) for p in self.app.handlers.search(query, community_id, limit)]

    @rpc(expected_exceptions=EXPECTED)
    def family_members(self, family_id: str) -> list[dict[str, Any]]:
        return [schemas.beneficiary(p) for p in self.app.handlers.family_members(family_id)]

    @rpc(expected_exceptions=EXPECTED)
    def timeline(self, subject_type: str, subject_id: str, limit: int = 100) -> list[dict[str, Any]]:
        entries = self.app.handlers.timeline(subject_type, subject_id, limit)
        return [schemas.timeline_entry(e) for e in entries]

    # -- events -> timeline (idempotent: entries are keyed by event id) --------
    def _own_event(self, event_type: str, payload: dict[str, Any]) -> None:
        self.app.handlers.record_own_event(event_type, str(payload["event_id"]), payload)

    @event_handler(SERVICE_NAME, "family_registered")
    @contract_checked(SERVICE_NAME, SERVICE_NAME, "family_registered")
    def on_family_registered(self, payload: dict[str, Any]) -> None:
        self._own_event("family_registered", payload)

    @event_handler(SERVICE_NAME, "beneficiary_registered")
    @contract_checked(SERVICE_NAME, SERVICE_NAME, "beneficiary_registered")
    def on_beneficiary_registered(self, payload: dict[str, Any]) -> None:
        self._own_event("beneficiary_registered", payload)

    @event_handler(SERVICE_NAME, "beneficiary_updated")
    @contract_checked(SERVICE_NAME, SERVICE_NAME, "beneficiary_updated")
    def on_beneficiary_updated(self, payload: dict[str, Any]) -> None:
        self._own_event("beneficiary_updated", payload)

    @event_handler(SERVICE_NAME, "consent_changed")
    @contract_checked(SERVICE_NAME, SERVICE_NAME, "consent_changed")
    def on_consent_changed(self, payload: dict[str, Any]) -> None:
        self._own_event("consent_changed", payload)

    @event_handler("actas", "acta_sealed")
    @contract_checked(SERVICE_NAME, "actas", "acta_sealed")
    def on_acta_sealed(self, payload: dict[str, Any]) -> None:
        self.app.handlers.record_acta_sealed(str(payload["event_id"]), payload)

    # The income service's events about a household's productive units.
    def _income_event(self, event_type: str, payload: dict[str, Any]) -> None:
        self.app.handlers.record_income_event(event_type, str(payload["event_id"]), payload)

    @event_handler("income", "productive_unit_registered")
    @contract_checked(SERVICE_NAME, "income", "productive_unit_registered")
    def on_productive_unit_registered(self, payload: dict[str, Any]) -> None:
        self._income_event("productive_unit_registered", payload)

    @event_handler("income", "stage_changed")
    @contract_checked(SERVICE_NAME, "income", "stage_changed")
    def on_stage_changed(self, payload: dict[str, Any]) -> None:
        self._income_event("stage_changed", payload)

    @event_handler("income", "action_plan_approved")
    @contract_checked(SERVICE_NAME, "income", "action_plan_approved")
    def on_action_plan_approved(self, payload: dict[str, Any]) -> None:
        self._income_event("action_plan_approved", payload)

    @event_handler("income", "followup_recorded")
    @contract_checked(SERVICE_NAME, "income", "followup_recorded")
    def on_followup_recorded(self, payload: dict[str, Any]) -> None:
        self._income_event("followup_recorded", payload)

    # Microcredit (``timeline.LOAN_EVENTS``): disbursements, repayments, write-offs.
    @event_handler("income", "loan_disbursed")
    @contract_checked(SERVICE_NAME, "income", "loan_disbursed")
    def on_loan_disbursed(self, payload: dict[str, Any]) -> None:
        self._income_event("loan_disbursed", payload)

    @event_handler("income", "loan_repayment_recorded")
    @contract_checked(SERVICE_NAME, "income", "loan_repayment_recorded")
    def on_loan_repayment_recorded(self, payload: dict[str, Any]) -> None:
        self._income_event("loan_repayment_recorded", payload)

    @event_handler("income", "loan_written_off")
    @contract_checked(SERVICE_NAME, "income", "loan_written_off")
    def on_loan_written_off(self, payload: dict[str, Any]) -> None:
        self._income_event("loan_written_off", payload)

    # -- outbox sweep ----------------------------------------------------------
    @timer(interval=5)
    def sweep_outbox(self) -> None:
        self.app.relay.sweep()
