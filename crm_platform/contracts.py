"""Typed, versioned contracts of the events services publish to each other.

Each event type is a frozen dataclass naming the fields a consumer may rely on and
their types. A contract has a version ``MAJOR.MINOR``: a minor version adds
optional fields (consumers ignore what they do not know), a major version changes
or removes fields (consumers of the old major cannot read it).

The contract is checked three times:
- when an event is made (``check`` from the publishing service's ``Event``), so a
  malformed event never enters an outbox;
- when it is published (``crm_platform.messaging.EventPublisher`` stamps
  ``schema_version`` and checks again: events from every outbox pass there);
- when it is consumed (``crm_platform.event_consumer``, and the beneficiaries'
  nameko handlers through ``parse``): an event that does not satisfy the contract
  the consumer was written for, or of a major version it does not know, is
  dead-lettered with the reason, never half-handled.

An event without ``schema_version`` (published before contracts existed) is read
as version 1.0.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

VERSION_FIELD = "schema_version"


class ContractViolation(ValueError):
    """The payload does not satisfy its contract; the message names what is wrong."""


@dataclass(frozen=True)
class Contract:
    SOURCE: ClassVar[str]
    TYPE: ClassVar[str]
    VERSION: ClassVar[str] = "1.0"


C = TypeVar("C", bound=Contract)

# -- actas ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ParticipantRef:
    beneficiary_id: str
    family_id: str


@dataclass(frozen=True)
class ActaSealed(Contract):
    SOURCE, TYPE = "actas", "acta_sealed"

    acta_id: str
    title: str
    template_key: str
    sealed_at: str
    captured_at: str
    gestor_id: str
    community_id: str
    content_hash: str
    amends: str
    source: str
    participants: list[ParticipantRef]
    family_ids: list[str]


@dataclass(frozen=True)
class ActaReceived(Contract):
    SOURCE, TYPE = "actas", "acta_received"

    acta_id: str
    template_key: str
    source: str
    device_id: str
    submission_id: str
    by: str
    received_at: str


@dataclass(frozen=True)
class ActaAmended(Contract):
    SOURCE, TYPE = "actas", "acta_amended"

    acta_id: str
    amends: str
    reason: str
    by: str


@dataclass(frozen=True)
class ActaRejected(Contract):
    SOURCE, TYPE = "actas", "acta_rejected"

    rejection_id: str
    reason: str
    detail: str
    device_id: str
    submission_id: str
    received_at: str


# -- beneficiaries -------------------------------------------------------------------


@dataclass(frozen=True)
class CommunityRegistered(Contract):
    SOURCE, TYPE = "beneficiaries", "community_registered"

    community_id: str
    name: str
    occurred_at: str
    by: str


@dataclass(frozen=True)
class FamilyRegistered(Contract):
    SOURCE, TYPE = "beneficiaries", "family_registered"

    family_id: str
    community_id: str
    name: str
    occurred_at: str
    by: str


@dataclass(frozen=True)
class NationalId:
    type: str
    number: str


@dataclass(frozen=True)
class BeneficiaryRegistered(Contract):
    """The person's summary: no biometric or consent data ever travels here."""

    SOURCE, TYPE = "beneficiaries", "beneficiary_registered"

    beneficiary_id: str
    national_id: NationalId
    first_names: str
    last_names: str
    community_id: str
    family_id: str | None  # not yet in a household
    relationship: str | None
    can_sign: bool
    version: int
    occurred_at: str
    by: str


@dataclass(frozen=True)
class BeneficiaryUpdated(BeneficiaryRegistered):
    SOURCE, TYPE = "beneficiaries", "beneficiary_updated"


@dataclass(frozen=True)
class ConsentChanged(Contract):
    SOURCE, TYPE = "beneficiaries", "consent_changed"

    beneficiary_id: str
    kind: str
    granted: bool
    recorded_by: str
    occurred_at: str
    version: int


# -- documents and notifications -----------------------------------------------------


@dataclass(frozen=True)
class DocumentStored(Contract):
    SOURCE, TYPE = "documents", "document_stored"

    acta_id: str
    bucket: str
    object_key: str
    sha256: str
    size_bytes: int
    pades_signed: bool
    stored_at: str


@dataclass(frozen=True)
class PlanDocumentStored(Contract):
    """The signed PDF of an approved action plan version is in the object store."""

    SOURCE, TYPE = "documents", "plan_document_stored"

    unit_id: str
    plan_version: int
    bucket: str
    object_key: str
    sha256: str
    size_bytes: int
    pades_signed: bool
    stored_at: str


@dataclass(frozen=True)
class NotificationOutcome(Contract):
    SOURCE, TYPE = "notifications", "notification_sent"

    message_key: str
    recipient_id: str
    template: str
    trigger: str


@dataclass(frozen=True)
class NotificationFailed(NotificationOutcome):
    SOURCE, TYPE = "notifications", "notification_failed"

    reason: str


@dataclass(frozen=True)
class NotificationDelivered(NotificationOutcome):
    SOURCE, TYPE = "notifications", "notification_delivered"


# -- income (Generación de Ingresos) -------------------------------------------------


@dataclass(frozen=True)
class ProductiveUnitRegistered(Contract):
    SOURCE, TYPE = "income", "productive_unit_registered"

    unit_id: str
    name: str
    family_id: str
    owner_ids: list[str]
    community_id: str
    sector: str
    kind: str
    stage: str
    occurred_at: str
    by: str


@dataclass(frozen=True)
class StageChanged(Contract):
    SOURCE, TYPE = "income", "stage_changed"

    unit_id: str
    unit_name: str
    family_id: str
    owner_ids: list[str]
    transition: str
    from_stage: str
    to_stage: str
    to_stage_label: str
    version: int
    reason: str
    occurred_at: str
    by: str


@dataclass(frozen=True)
class ActionPlanApproved(Contract):
    SOURCE, TYPE = "income", "action_plan_approved"

    unit_id: str
    unit_name: str
    family_id: str
    owner_ids: list[str]
    plan_version: int
    viable: bool
    occurred_at: str
    by: str


@dataclass(frozen=True)
class FollowupRecorded(Contract):
    SOURCE, TYPE = "income", "followup_recorded"

    unit_id: str
    unit_name: str
    family_id: str
    owner_ids: list[str]
    acta_id: str
    operating: bool
    monthly_sales: str  # COP, decimal text
    jobs: int
    occurred_at: str


@dataclass(frozen=True)
class WorkflowOverdue(Contract):
    """A productive unit stayed in a workflow state past its due date (the
    engine's ``workflow_overdue``, once per state entry)."""

    SOURCE, TYPE = "income", "workflow_overdue"

    unit_id: str
    instance_id: str
    component: str
    state: str
    due_at: str
    entry_seq: int


# -- income: microcredits -------------------------------------------------------------


@dataclass(frozen=True)
class LoanEvent(Contract):
    """What every loan event carries, so timelines (the household's and each
    owner's) can place it: the loan, its UP, household, borrower and owners."""

    loan_id: str
    unit_id: str
    family_id: str
    borrower_id: str
    owner_ids: list[str]
    community_id: str
    occurred_at: str


@dataclass(frozen=True)
class LoanDisbursed(LoanEvent):
    SOURCE, TYPE = "income", "loan_disbursed"

    amount: str  # COP, decimal text
    disbursed_on: str
    principal: str
    by: str


@dataclass(frozen=True)
class LoanRepaymentRecorded(LoanEvent):
    SOURCE, TYPE = "income", "loan_repayment_recorded"

    posting_id: str
    kind: str  # pago | prepago
    amount: str
    paid_on: str
    principal_outstanding: str
    by: str


@dataclass(frozen=True)
class LoanBecameOverdue(LoanEvent):
    SOURCE, TYPE = "income", "loan_became_overdue"

    as_of: str
    oldest_unpaid_due: str
    days_past_due: int
    overdue_amount: str


@dataclass(frozen=True)
class LoanBucketChanged(LoanEvent):
    SOURCE, TYPE = "income", "loan_bucket_changed"

    as_of: str
    from_bucket: str  # "" : up to date
    to_bucket: str
    days_past_due: int


@dataclass(frozen=True)
class LoanWrittenOff(LoanEvent):
    SOURCE, TYPE = "income", "loan_written_off"

    principal: str
    interest: str
    reason: str
    requested_by: str
    approved_by: str


@dataclass(frozen=True)
class LoanRepaymentDue(LoanEvent):
    """A reminder, N days before an installment's due date (once per installment)."""

    SOURCE, TYPE = "income", "loan_repayment_due"

    installment: int
    due_date: str
    amount_due: str


CONTRACTS: dict[tuple[str, str], type[Contract]] = {
    (c.SOURCE, c.TYPE): c
    for c in (
        ActaSealed,
        ActaReceived,
        ActaAmended,
        ActaRejected,
        CommunityRegistered,
        FamilyRegistered,
        BeneficiaryRegistered,
        BeneficiaryUpdated,
        ConsentChanged,
        DocumentStored,
        PlanDocumentStored,
        NotificationOutcome,
        NotificationFailed,
        NotificationDelivered,
        ProductiveUnitRegistered,
        StageChanged,
        ActionPlanApproved,
        FollowupRecorded,
        WorkflowOverdue,
        LoanDisbursed,
        LoanRepaymentRecorded,
        LoanBecameOverdue,
        LoanBucketChanged,
        LoanWrittenOff,
        LoanRepaymentDue,
    )
}


def contract_of(source: str, event_type: str) -> type[Contract]:
    try:
        return CONTRACTS[(source, event_type)]
    except KeyError:
        raise ContractViolation(f"no contract for event {source}.{event_type}") from None


def check(source: str, event_type: str, payload: Mapping[str, Any]) -> None:
    """Raise ContractViolation unless ``payload`` satisfies the current contract."""
    parse(contract_of(source, event_type), payload)


def stamped(source: str, event_type: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """``payload`` checked and stamped with its contract's version, for publishing."""
    contract = contract_of(source, event_type)
    parse(contract, payload)
    return {**payload, VERSION_FIELD: contract.VERSION}


def parse(contract: type[C], payload: Mapping[str, Any]) -> C:
    """The typed event, if ``payload`` satisfies ``contract`` (fields it does not
    name are ignored: a later minor version may add them)."""
    if not isinstance(payload, Mapping):
        raise ContractViolation(f"{contract.TYPE}: the body is not a JSON object")
    version = str(payload.get(VERSION_FIELD) or "1.0")
    major = version.split(".", 1)[0]
    if major != contract.VERSION.split(".", 1)[0]:
        raise ContractViolation(
            f"{contract.TYPE}: version {version} is not readable by a consumer of version {contract.VERSION}"
        )
    return typing.cast(C, _build(contract, payload, contract.TYPE))


def _build(cls: type, payload: Mapping[str, Any], where: str) -> Any:
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in payload:
            raise ContractViolation(f"{where}: missing field {f.name!r}")
        values[f.name] = _value(hints[f.name], payload[f.name], f"{where}.{f.name}")
    return cls(**values)


def _value(kind: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(kind)
    if origin is list:
        (item,) = typing.get_args(kind)
        if not isinstance(value, list):
            raise ContractViolation(f"{where}: expected a list, got {type(value).__name__}")
        return [_value(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(kind):
            try:
                return _value(option, value, where)
            except ContractViolation:
                continue
        raise ContractViolation(f"{where}: {value!r} matches none of {kind}")
    if dataclasses.is_dataclass(kind):
        if not isinstance(value, Mapping):
            raise ContractViolation(f"{where}: expected an object, got {type(value).__name__}")
        return _build(typing.cast(type, kind), value, where)
    if kind is type(None):
        if value is not None:
            raise ContractViolation(f"{where}: expected null")
        return None
    # bool is an int in Python; JSON keeps them apart, and so do contracts.
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ContractViolation(f"{where}: expected an integer, got {type(value).__name__}")
    if not isinstance(value, kind):
        raise ContractViolation(f"{where}: expected {kind.__name__}, got {type(value).__name__}")
    return value
