"""Interfaces the notifications use cases need; adapters implement them, tests fake them."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from crm_platform import errors as vocabulary
from services.notifications.domain.model import (
    ChannelName,
    DeliveryStatus,
    Notification,
    Outgoing,
    Receipt,
    Sending,
    StatusReport,
    WebhookReply,
    WebhookRequest,
)


@dataclass(frozen=True)
class Contact:
    """A person as the beneficiaries service answers: the phone is as typed at
    registration (the use cases normalise it), consent as recorded."""

    recipient_id: str
    name: str
    phone: str = ""
    email: str = ""
    consents_to_notifications: bool = False
    # The channels the person wants messages on, in order, as recorded (names the
    # service may not know are kept: the use cases skip them); empty: the default.
    channels: tuple[str, ...] = ()


class DirectoryUnavailable(vocabulary.Unavailable):
    """The beneficiaries service did not answer; ask again later."""


class Directory(Protocol):
    """The beneficiaries service as the notifications' directory of people."""

    def contact(self, recipient_id: str) -> Contact | None:
        """The person, or None if there is no such person."""
        ...

    def family(self, family_id: str) -> list[Contact] | None:
        """The household's members, or None if there is no such household."""
        ...

    def community(self, community_id: str) -> list[Contact] | None:
        """Everyone registered in the community, or None if there is no such community."""
        ...


class DeliveryLog(Protocol):
    """One record per message key (unique), with an outbox of events."""

    def add(self, notification: Notification) -> bool:
        """Store a new notification; False (and nothing changed) if its key exists."""
        ...

    def get(self, message_key: str) -> Notification | None: ...

    def claim(self, notification: Notification, until: datetime) -> bool:
        """Take ``notification`` as read by ``due``, so no other dispatcher sends it
        before ``until``; False if it changed since (someone else took it)."""
        ...

    def due(self, now: datetime, limit: int) -> list[Notification]:
        """Queued notifications whose next attempt is due."""
        ...

    def save(self, notification: Notification, events: Sequence[Mapping[str, Any]] = ()) -> None:
        """Write the notification's state and queue ``events`` in its outbox, in one write."""
        ...

    def save_leased(
        self, notification: Notification, lease: datetime, events: Sequence[Mapping[str, Any]] = ()
    ) -> bool:
        """``save`` on condition that the record is queued with ``next_attempt_at ==
        lease`` (as read by ``due``, or as this holder last wrote it); False (nothing
        written) if someone else has taken it since."""
        ...

    def renew(self, message_key: str, lease: datetime, until: datetime) -> bool:
        """Move a held lease's end to ``until``, on the same condition as ``save_leased``."""
        ...

    def save_outcome(
        self, notification: Notification, attempt_id: str, events: Sequence[Mapping[str, Any]] = ()
    ) -> bool:
        """``save`` (the intent cleared) on condition that the record still holds the
        intent ``attempt_id``; False (nothing written) if it does not."""
        ...

    def note_accepted(self, attempt_id: str, provider_message_id: str) -> bool:
        """Record on the intent ``attempt_id``, if a record still holds it, that the
        provider accepted that send under ``provider_message_id``."""
        ...

    def by_recipient(self, recipient_id: str, limit: int) -> list[Notification]: ...
    def by_trigger(self, trigger: str, limit: int) -> list[Notification]: ...
    def by_status(self, status: DeliveryStatus, limit: int) -> list[Notification]: ...
    def count_since(self, status: DeliveryStatus, since: datetime) -> int: ...

    def by_provider_message_id(self, provider_message_id: str) -> Notification | None:
        """The notification one of whose attempts the provider accepted under this id."""
        ...

    def replace(self, previous: Notification, updated: Notification, events: Sequence[Mapping[str, Any]] = ()) -> bool:
        """``save`` on condition that the stored record still has ``previous``'s
        status and attempts; False (nothing written) if it changed since."""
        ...

    def park(self, channel: ChannelName, report: StatusReport, now: datetime) -> None:
        """Keep a report whose message is not known (yet): a provider may report a
        message before its send's reply was written. Parking the same one twice keeps one."""
        ...

    def parked(self, limit: int) -> list[ParkedReport]:
        """The parked reports, newest first."""
        ...

    def drop_parked(self, parked_before: datetime) -> int:
        """Forget the reports parked before ``parked_before``; returns how many."""
        ...

    def unpark(self, parked: ParkedReport) -> None: ...


@dataclass(frozen=True)
class ParkedReport:
    channel: ChannelName
    report: StatusReport
    parked_at: datetime


@runtime_checkable
class Channel(Protocol):
    """One way of reaching people; raises TransientFailure or PermanentFailure."""

    name: ChannelName

    def send(self, message: Outgoing) -> Receipt: ...


@runtime_checkable
class ReportingChannel(Channel, Protocol):
    """A channel whose provider reports delivery through a webhook (WhatsApp, SMS)."""

    def webhook(self, request: WebhookRequest) -> WebhookReply:
        """Check that ``request`` comes from the provider (``WebhookRejected``
        otherwise) and read its status reports (``WebhookMalformed`` if it is not
        the documented shape); a subscription check is answered in ``text``."""
        ...


@runtime_checkable
class LookupChannel(Channel, Protocol):
    """A channel whose provider can be asked whether it accepted a send (SMS: the
    provider lists the messages it holds)."""

    def find_sent(self, sending: Sending) -> Receipt | None:
        """The provider's receipt for ``sending`` (same address and text, created
        after it began), or None if it holds no such message; ``TransientFailure``
        if it cannot be asked now."""
        ...


class Renderer(Protocol):
    """Renders a template for one channel; raises a NotificationError (unknown
    template, missing variables, too long) rather than sending a half-filled text."""

    def __call__(
        self, template: str, channel: ChannelName, to: str, message_key: str, variables: Mapping[str, Any]
    ) -> Outgoing: ...


class PhoneNormaliser(Protocol):
    """E.164 from what was typed; raises on an invalid number."""

    def __call__(self, raw: str) -> str: ...


class RetryPolicy(Protocol):
    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before attempt ``attempt + 1``."""
        ...

    def gives_up(self, attempt: int) -> bool:
        """True once ``attempt`` transient failures are enough."""
        ...


class RateLimiter(Protocol):
    def acquire(self, channel: ChannelName, timeout: float) -> bool:
        """Wait for a send token of ``channel``; False if none came within ``timeout``."""
        ...


class EventRelay(Protocol):
    def flush(self, collection: str, aggregate_id: str) -> None: ...


class Clock(Protocol):
    def now(self) -> datetime: ...
