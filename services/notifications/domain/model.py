"""The notifications domain: who is reached, on which channel, with what, and how
a delivery attempt ended. Pure: no I/O.

One ``Notification`` is one message to one recipient, identified by its
``message_key`` (e.g. ``acta_sealed:<acta id>:<beneficiary id>``): sending the
same key twice sends nothing the second time. It may be attempted on several
channels in preference order (WhatsApp, then SMS, then email) when a channel
fails permanently.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from crm_platform import errors as vocabulary


class ChannelName(StrEnum):
    WHATSAPP = "whatsapp"
    SMS = "sms"
    EMAIL = "email"


DEFAULT_PREFERENCE: tuple[ChannelName, ...] = (ChannelName.WHATSAPP, ChannelName.SMS, ChannelName.EMAIL)


class DeliveryStatus(StrEnum):
    QUEUED = "queued"  # accepted, not yet attempted (or waiting for a retry)
    SENT = "sent"  # the provider accepted it
    DELIVERED = "delivered"  # the provider reported delivery (webhooks; not all channels)
    FAILED = "failed"  # every channel failed permanently, or no channel was possible
    SKIPPED = "skipped"  # not sent on purpose: no consent for notifications, no address


@dataclass(frozen=True)
class Recipient:
    """A person as the notifications service needs them (from the beneficiaries service)."""

    recipient_id: str  # beneficiary id, or a staff username
    name: str
    phone_e164: str = ""  # WhatsApp and SMS
    email: str = ""
    consents_to_notifications: bool = False
    preference: tuple[ChannelName, ...] = DEFAULT_PREFERENCE

    def addresses(self) -> dict[ChannelName, str]:
        """The channels this person can be reached on, in their order of preference."""
        found = {
            ChannelName.WHATSAPP: self.phone_e164,
            ChannelName.SMS: self.phone_e164,
            ChannelName.EMAIL: self.email,
        }
        return {c: found[c] for c in self.preference if found[c]}


@dataclass(frozen=True)
class Outgoing:
    """One message rendered for one channel and address: what a channel adapter sends."""

    message_key: str
    channel: ChannelName
    to: str  # E.164 phone, or an email address
    template: str  # template name, e.g. "acta_sellada"
    language: str  # "es"
    subject: str  # email subject ("" for the others)
    text: str  # the rendered body (email, SMS; WhatsApp keeps it for the log)
    # WhatsApp template messages carry their variables as ordered body parameters
    parameters: tuple[str, ...] = ()
    # Our id of this send (``Sending.attempt_id``), for a provider that echoes it in
    # its status reports (WhatsApp's ``biz_opaque_callback_data``); "" if none.
    reference: str = ""


@dataclass(frozen=True)
class Receipt:
    """A provider accepted the message."""

    provider: str
    provider_message_id: str


class TransientFailure(Exception):
    """Worth retrying later: a timeout, a 429, a 5xx, a connection refused.
    ``retry_after`` is the provider's own hint in seconds, when it gave one."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class PermanentFailure(Exception):
    """Retrying the same message on this channel cannot succeed: an invalid number,
    a 4xx the provider documents as final, a malformed reply. Another channel may."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ReportedState(StrEnum):
    """What a provider's status webhook says happened after it accepted a message.
    Intermediate states (queued, sent) are not reported, ``sent`` being ours already,
    except as ``ACCEPTED`` when the status names our send (below)."""

    DELIVERED = "delivered"  # it reached the phone (WhatsApp "delivered" or "read", SMS "delivered")
    FAILED = "failed"  # the provider gave up (WhatsApp "failed", SMS "undelivered" or "failed")
    # It accepted a send (WhatsApp "sent"): reported only when it names our send's
    # ``reference``, as proof of a send whose outcome we may have failed to write.
    ACCEPTED = "accepted"


@dataclass(frozen=True)
class StatusReport:
    """One delivery status from a provider's webhook, about a message it accepted."""

    provider_message_id: str  # the id the provider answered the send with (``Receipt``)
    state: ReportedState
    at: datetime  # the provider's time of the status (aware, UTC)
    detail: str = ""  # for failures: the provider's error code and title
    reference: str = ""  # our send's ``Outgoing.reference``, when the provider echoes it


@dataclass(frozen=True)
class WebhookRequest:
    """An HTTP request a provider made to our webhook, as the gateway received it."""

    method: str  # "GET" (WhatsApp's subscription check) or "POST"
    url: str  # the public URL the provider called (Twilio signs it)
    headers: Mapping[str, str]  # names in lower case
    query: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class WebhookReply:
    """What a channel made of a webhook request."""

    reports: tuple[StatusReport, ...] = ()
    text: str = ""  # the body to answer the provider with (WhatsApp's hub.challenge)


class WebhookRejected(vocabulary.PermissionDenied):
    """The request is not from the provider: a bad or missing signature, a wrong
    verify token. Answered with 403; nothing is applied. ``reason`` is what the
    channel found; the message the caller sees names it as a rejected webhook."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Webhook rechazado: {reason}")
        self.reason = reason


class WebhookMalformed(vocabulary.InvalidArgument):
    """Signed correctly but not the documented shape. Answered with 400 (no field
    details: ``reason`` names the first thing wrong)."""

    def __init__(self, reason: str) -> None:
        super().__init__(message=f"Webhook ilegible: {reason}")
        self.reason = reason


# What became of an attempt (``Attempt.outcome``).
SENT, TRANSIENT, PERMANENT, DELIVERED = "sent", "transient", "permanent", "delivered"


@dataclass
class Attempt:
    channel: ChannelName
    at: datetime
    outcome: str  # sent, transient, permanent, delivered (a provider's report)
    detail: str = ""
    provider_message_id: str = ""


@dataclass(frozen=True)
class Sending:
    """A send under way: written to the record before the provider is asked and
    cleared with the send's outcome. A later holder that finds one does not know
    whether the provider accepted the message (see ``service_layer.delivery``)."""

    attempt_id: str  # unique per send; given to the provider as ``Outgoing.reference``
    channel: ChannelName
    to: str
    at: datetime
    text_sha256: str = ""  # of the rendered text: what a provider lookup compares
    # Set when a provider's report named ``attempt_id``: the provider accepted it under this id.
    provider_message_id: str = ""
    # When a later holder first found it unresolved (it waits a little before judging).
    stale_since: datetime | None = None


@dataclass
class Notification:
    """The delivery log entry of one message."""

    message_key: str
    recipient_id: str
    template: str
    variables: Mapping[str, Any]
    trigger: str  # what caused it, e.g. "acta:<id>" or "rpc:<caller>"
    created_at: datetime
    status: DeliveryStatus = DeliveryStatus.QUEUED
    attempts: list[Attempt] = field(default_factory=list)
    next_attempt_at: datetime | None = None  # when due; while a dispatcher holds it: its lease's end
    reason: str = ""  # why it failed or was skipped
    sending: Sending | None = None  # a send whose outcome is not written yet
