"""Use cases of the notifications service.

Queueing and sending are separate steps. A trigger (``acta_sealed``, an ad-hoc
``Send``, a loan's repayment reminder or overdue notice: ``loans``) only writes
one queued record per message key; the key is unique, so a redelivered trigger
adds nothing. The dispatcher then takes each due record,
asks the beneficiaries service for the person's consent and addresses, renders
the template for the preferred channel and sends it (``delivery``: the intent
written before the send leases the record, so two dispatchers never send the
same message, and the outcome of a send is written even through a store outage):

- accepted: ``sent``, and ``notification_sent`` in the record's outbox;
- transient failure (timeout, 429, 5xx): back to ``queued`` with a backoff, until
  the retry policy gives up, then ``failed``;
- permanent failure (invalid number, 4xx, garbage reply): the next channel in the
  person's preference, and ``failed`` when none is left.

Every outcome, including "no consent" and rendering errors, is written with its
reason; ``notification_failed`` goes through the outbox like ``notification_sent``.

After a send, the provider may report on it through a webhook (WhatsApp, SMS):
``delivered`` makes the record ``delivered``; ``failed`` (WhatsApp accepted the
message but the number is not on WhatsApp, the SMS was undeliverable) closes that
channel for the message and queues it again, so it falls back like a permanent
failure at send time.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from crm_platform import errors as vocabulary
from crm_platform.access import is_restricted
from services.notifications.domain import errors
from services.notifications.domain.model import (
    Attempt,
    ChannelName,
    DeliveryStatus,
    Notification,
    ReportedState,
    StatusReport,
    WebhookRequest,
)
from services.notifications.domain.templates import spanish_date
from services.notifications.service_layer.delivery import (
    DELIVERED,
    NOT_CHANNEL_SPECIFIC,
    NOTIFICATIONS,
    PERMANENT,
    SENT,
    TRANSIENT,
    Delivery,
    event,
    preference,
    summary,
)
from services.notifications.service_layer.leases import Leases
from services.notifications.service_layer.loans import LoanMessages
from services.notifications.service_layer.ports import (
    Channel,
    Clock,
    DeliveryLog,
    Directory,
    EventRelay,
    PhoneNormaliser,
    RateLimiter,
    Renderer,
    ReportingChannel,
    RetryPolicy,
)
from services.notifications.service_layer.sends import (
    Audience,
    InvalidRequest,
    KeyConflict,
    NotFound,
    Queued,
    scoped_trigger,
)

log = logging.getLogger(__name__)

__all__ = [  # what other modules import from here, some defined in ``delivery``
    "DELIVERED",
    "NOTIFICATIONS",
    "NOT_CHANNEL_SPECIFIC",
    "PERMANENT",
    "SENT",
    "TRANSIENT",
    "Audience",
    "InvalidRequest",
    "KeyConflict",
    "NotFound",
    "NotificationHandlers",
    "Queued",
    "ReportConflict",
    "SystemClock",
    "WebhookOutcome",
    "preference",
    "scoped_trigger",
]

ACTA_TEMPLATE = "acta_sellada"
# For an acta whose content only some roles may read: neutral wording, no title.
RESTRICTED_ACTA_TEMPLATE = "acta_registrada"
REPORT_WRITE_TRIES = 5
# The messages that did not reach their recipient: few, so a list by status stays cheap.
LISTABLE_STATUSES = (DeliveryStatus.FAILED, DeliveryStatus.SKIPPED)
MAX_LIST = 500
COLOMBIA = ZoneInfo("America/Bogota")


class ReportConflict(errors.NotificationError, vocabulary.Unavailable):
    """A delivery report could not be applied: its record kept changing. The
    provider retries the webhook (so it is ``Unavailable``: the same request may
    succeed later)."""


class SystemClock:
    def now(self) -> datetime:
        now = datetime.now(UTC)
        return now.replace(microsecond=now.microsecond // 1000 * 1000)  # what MongoDB keeps


@dataclass(frozen=True)
class WebhookOutcome:
    text: str  # what to answer the provider with
    applied: int
    parked: int


@dataclass
class NotificationHandlers(Delivery, LoanMessages):
    log: DeliveryLog
    directory: Directory
    channels: Mapping[ChannelName, Channel]
    render: Renderer
    normalise_phone: PhoneNormaliser
    retry: RetryPolicy
    limiter: RateLimiter
    relay: EventRelay
    clock: Clock
    verify_base_url: str = "http://127.0.0.1:8080/verificar"
    # A dispatcher's hold on a record it is sending, renewed by its heartbeat while
    # it lives: a dead holder's messages go out again at most this long after it died.
    lease: timedelta = timedelta(seconds=10)
    directory_backoff: timedelta = timedelta(seconds=15)
    rate_wait: float = 1.0  # seconds a dispatcher waits for a send token before moving on
    parked_report_ttl: timedelta = timedelta(hours=24)
    rng: random.Random = field(default_factory=random.Random)
    # A send found without its outcome is judged once it is this old (a provider's
    # report naming it may still come), and no sooner than ``settle`` after it was
    # first found (its owner may be alive, writing the outcome after a store outage).
    unknown_outcome_wait: timedelta = timedelta(seconds=30)
    settle: timedelta = timedelta(seconds=5)
    outcome_retry: tuple[float, float] = (0.05, 2.0)  # first and longest pause between outcome writes
    pause: Callable[[float], None] = time.sleep
    leases: Leases = field(default_factory=Leases)

    # -- triggers ------------------------------------------------------------------
    def on_acta_sealed(self, payload: Mapping[str, Any]) -> Queued:
        """One ``acta_sellada`` message per participant, with the link to the acta.
        Returns once every record is durable (the consumer acknowledges then).

        An acta of a restricted template (``crm_platform.access``: psychosocial
        interventions) gets ``acta_registrada`` instead: neutral wording on every
        channel, and its title is not even kept in the record's variables."""
        acta_id = str(payload["acta_id"])
        restricted = is_restricted(str(payload.get("template_key") or ""))
        variables = {
            "acta_id": acta_id,
            "fecha": _local_date(payload.get("captured_at") or payload.get("sealed_at")),
            "enlace": f"{self.verify_base_url.rstrip('/')}/{acta_id}",
        }
        if not restricted:
            variables["titulo"] = str(payload.get("title") or "")
        template = RESTRICTED_ACTA_TEMPLATE if restricted else ACTA_TEMPLATE
        ids = [str(p["beneficiary_id"]) for p in payload.get("participants") or [] if p.get("beneficiary_id")]
        return self._queue(dict.fromkeys(ids), template, variables, f"acta_sealed:{acta_id}", f"acta:{acta_id}")

    # -- delivery reports ------------------------------------------------------------
    def receive_webhook(self, channel: ChannelName, request: WebhookRequest) -> WebhookOutcome:
        """A provider's webhook: verified and read by the channel's adapter
        (``WebhookRejected``, ``WebhookMalformed``), then each report is applied to
        its message. A report about a message not known yet is parked and applied
        by ``reconcile_reports`` (a provider can report before the send's reply was
        written). A report naming our send (``reference``) is also noted on that
        send's intent if a record still holds it: proof that the provider accepted
        it, for a dispatcher that finds the intent without its outcome."""
        adapter = self.channels.get(channel)
        if not isinstance(adapter, ReportingChannel):
            raise NotFound(f"El canal {channel} no está configurado para recibir reportes de entrega")
        reply = adapter.webhook(request)
        applied = parked = 0
        for report in reply.reports:
            noted = bool(report.reference) and self.log.note_accepted(report.reference, report.provider_message_id)
            if report.state is ReportedState.ACCEPTED:
                applied += noted
            elif self.apply_report(channel, report):
                applied += 1
            else:
                self.log.park(channel, report, self.clock.now())
                parked += 1
        return WebhookOutcome(reply.text, applied, parked)

    def apply_report(self, channel: ChannelName, report: StatusReport) -> bool:
        """Apply one report; False if no message has this provider id (yet).

        ``delivered`` marks a sent message delivered (``notification_delivered``
        leaves through the outbox). ``failed`` closes that channel
        for the message and queues it again, so the dispatcher falls back to the
        next channel (or records the failure when none is left). A report about an
        attempt that is no longer the message's latest send (it was re-sent on
        another channel) or a repeated report changes nothing.
        """
        for _ in range(REPORT_WRITE_TRIES):
            current = self.log.by_provider_message_id(report.provider_message_id)
            if current is None:
                return False
            updated = self._reported(current, channel, report)
            if updated is None:
                return True
            events = []
            if updated.status == DeliveryStatus.DELIVERED:
                payload = {**summary(updated), "channel": str(channel), "delivered_at": report.at.isoformat()}
                events.append(event("notification_delivered", payload))
            if self.log.replace(current, updated, events):
                if events:
                    self.relay.flush(NOTIFICATIONS, updated.message_key)
                return True
        raise ReportConflict(f"El mensaje de {report.provider_message_id} cambió {REPORT_WRITE_TRIES} veces seguidas")

    def _reported(self, n: Notification, channel: ChannelName, report: StatusReport) -> Notification | None:
        if report.state is ReportedState.ACCEPTED:
            return None  # the send's own outcome says so already
        sends = [a for a in n.attempts if a.outcome == SENT]
        latest = sends[-1] if sends else None
        if latest is None or latest.provider_message_id != report.provider_message_id or latest.channel != channel:
            return None
        attempts = list(n.attempts)
        if report.state is ReportedState.DELIVERED:
            if n.status != DeliveryStatus.SENT:
                return None  # delivered already, or queued again after a failure report
            attempts.append(Attempt(channel, report.at, DELIVERED, report.detail, report.provider_message_id))
            return replace(n, status=DeliveryStatus.DELIVERED, attempts=attempts)
        if n.status not in (DeliveryStatus.SENT, DeliveryStatus.DELIVERED):
            return None
        detail = f"El proveedor no pudo entregarlo: {report.detail or 'sin detalle'}"
        attempts.append(Attempt(channel, report.at, PERMANENT, detail, report.provider_message_id))
        log.info("%s: %s reported failed (%s); trying the next channel", n.message_key, channel, report.detail)
        return replace(n, status=DeliveryStatus.QUEUED, attempts=attempts, next_attempt_at=self.clock.now())

    def reconcile_reports(self, limit: int = 200) -> int:
        """Apply parked reports whose message is known by now, newest first (an early
        report is seconds old; reports about messages that are not ours, sent from
        the provider's own console, would otherwise crowd it out); drop those parked
        for longer than ``parked_report_ttl``. Returns how many were applied."""
        dropped = self.log.drop_parked(self.clock.now() - self.parked_report_ttl)
        if dropped:
            log.warning("dropped %d delivery reports about messages never seen here", dropped)
        applied = 0
        for parked in self.log.parked(limit):
            if self.apply_report(parked.channel, parked.report):
                self.log.unpark(parked)
                applied += 1
        return applied

    # -- queries -------------------------------------------------------------------
    def notification(self, message_key: str) -> Notification:
        found = self.log.get(message_key)
        if found is None:
            raise NotFound(f"No hay notificación con la clave {message_key}")
        return found

    def counts_since(self, since: datetime | None) -> dict[str, int]:
        """How many messages created since ``since`` are in each status."""
        if since is None:
            raise InvalidRequest({"created_from": "Indique desde cuándo contar"})
        return {str(s): self.log.count_since(s, since) for s in DeliveryStatus}

    def deliveries(
        self, *, recipient_id: str = "", trigger: str = "", status: str = "", limit: int = 50
    ) -> list[Notification]:
        """Newest first, by recipient, by triggering record, or every message that did
        not reach its recipient (``failed`` or ``skipped``, the dead letters)."""
        if sum(bool(x) for x in (recipient_id, trigger, status)) != 1:
            message = "Indique un destinatario, un registro de origen o un estado (uno solo)"
            raise InvalidRequest({"filter": message})
        limit = min(limit if limit > 0 else 50, MAX_LIST)
        if recipient_id:
            return self.log.by_recipient(recipient_id, limit)
        if trigger:
            return self.log.by_trigger(trigger, limit)
        if status not in LISTABLE_STATUSES:
            allowed = " o ".join(str(s) for s in LISTABLE_STATUSES)
            raise InvalidRequest({"status": f"Se listan por estado solo los mensajes {allowed}, no {status!r}"})
        return self.log.by_status(DeliveryStatus(status), limit)


def _local_date(iso: object) -> str:
    """The day of an ISO timestamp in Colombia, in Spanish words ("" if unreadable:
    rendering then reports the missing variable rather than inventing a date)."""
    try:
        moment = datetime.fromisoformat(str(iso))
    except ValueError:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return spanish_date(moment.astimezone(COLOMBIA).date())
