"""Sending one queued message: the dispatch half of the notifications use cases.

A send is three writes around the provider's call, each conditional, so that two
dispatchers never both send a message and a send's outcome is never lost:

1. The intent (``Notification.sending``: a fresh attempt id, the channel, the
   address, the time and the text's SHA-256), written before the provider is
   asked, on condition that the record is as this dispatcher read it. That write
   is the lease: ``next_attempt_at`` moves ``lease`` (10 s) ahead, and the
   dispatcher's heartbeat (``renew_leases``) keeps moving it while this process
   lives, however long the provider takes.
2. The send, carrying the attempt id as ``Outgoing.reference`` (WhatsApp echoes
   it, as ``biz_opaque_callback_data``, in every status it reports).
3. The outcome, on condition that the record still holds this intent. Once the
   provider has answered, this write is retried with backoff (``outcome_retry``)
   for as long as the process lives: a store outage delays it and loses nothing,
   and meanwhile no one sends the message again, because the record holds the
   intent.

A holder that dies leaves either no intent (its lease lapses at most ``lease``
after its last renewal and the message goes out then) or an intent whose outcome
nobody knows; ``recovery`` says what a later holder does with it, and what can
still go wrong.
"""

from __future__ import annotations

import hashlib
import logging
import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from services.notifications.domain import errors
from services.notifications.domain.model import (
    DEFAULT_PREFERENCE,
    DELIVERED,
    PERMANENT,
    SENT,
    TRANSIENT,
    Attempt,
    ChannelName,
    DeliveryStatus,
    Notification,
    Outgoing,
    PermanentFailure,
    Recipient,
    Sending,
    TransientFailure,
)
from services.notifications.service_layer.leases import Lease, Leases
from services.notifications.service_layer.ports import (
    Channel,
    Clock,
    Contact,
    DeliveryLog,
    Directory,
    DirectoryUnavailable,
    EventRelay,
    PhoneNormaliser,
    RateLimiter,
    Renderer,
    RetryPolicy,
)
from services.notifications.service_layer.recovery import Recovery

log = logging.getLogger(__name__)

__all__ = ["DELIVERED", "NOTIFICATIONS", "NOT_CHANNEL_SPECIFIC", "PERMANENT", "SENT", "TRANSIENT", "Delivery"]

NOTIFICATIONS = "notifications"  # the collection whose outbox the relay flushes
# Rendering errors that no other channel can fix; others (a text too long for SMS) may.
NOT_CHANNEL_SPECIFIC: tuple[type[Exception], ...] = (errors.UnknownTemplate, errors.MissingVariables)


class Delivery(Recovery):
    """Dispatching queued records. ``NotificationHandlers`` mixes it in and
    provides these attributes (its fields)."""

    log: DeliveryLog
    directory: Directory
    channels: Mapping[ChannelName, Channel]
    render: Renderer
    normalise_phone: PhoneNormaliser
    retry: RetryPolicy
    limiter: RateLimiter
    relay: EventRelay
    clock: Clock
    lease: timedelta
    directory_backoff: timedelta
    rate_wait: float
    rng: random.Random
    leases: Leases

    def dispatch_due(self, limit: int = 100) -> int:
        """Send what is due now; returns how many records this call took."""
        taken = 0
        for due in self.log.due(self.clock.now(), limit):
            taken += self.dispatch(due) is not None
        return taken

    def dispatch(self, due: Notification) -> Notification | None:
        """One delivery step for a record read by ``due``; None if it is not due or
        someone else took it first."""
        now = self.clock.now()
        if due.status != DeliveryStatus.QUEUED or due.next_attempt_at is None or due.next_attempt_at > now:
            return None
        lease = Lease(due.message_key, due.next_attempt_at)
        self.leases.track(lease)
        try:
            return self._dispatch(replace(due, attempts=list(due.attempts)), lease)
        finally:
            self.leases.forget(lease)

    def renew_leases(self) -> int:
        """The heartbeat: extend the lease of every record this process is sending."""
        return self.leases.renew(self.log.renew, self.clock.now, self.lease)

    def _dispatch(self, taken: Notification, lease: Lease) -> Notification | None:
        if taken.sending is not None:
            # An earlier holder's send with no outcome: hold the record while judging it.
            until = self.clock.now() + self.lease
            if not self.log.claim(taken, until):
                return None
            with lease.lock:
                lease.token, lease.held = until, True
            finished, settled = self._settle_intent(replace(taken, next_attempt_at=until), lease)
            if finished or settled is None:
                return settled
            taken = settled
        try:
            contact = self.directory.contact(taken.recipient_id)
        except DirectoryUnavailable as exc:
            at = self.clock.now() + self.directory_backoff
            return self._later(taken, lease, None, at, f"Directorio no disponible: {exc}")
        if contact is None:
            return self._finish(taken, lease, None, DeliveryStatus.FAILED, "Destinatario desconocido")
        if not contact.consents_to_notifications:
            reason = "Sin consentimiento para notificaciones"
            return self._finish(taken, lease, None, DeliveryStatus.SKIPPED, reason)
        recipient, phone_problem = self._recipient(contact)
        return self._deliver(taken, lease, recipient, phone_problem)

    def _recipient(self, contact: Contact) -> tuple[Recipient, str]:
        phone, problem = "", ""
        if contact.phone.strip():
            try:
                phone = self.normalise_phone(contact.phone)
            except errors.NotificationError as exc:
                problem = f"Teléfono inválido ({contact.phone}): {exc}"
        recipient = Recipient(
            contact.recipient_id,
            contact.name,
            phone,
            contact.email.strip(),
            contact.consents_to_notifications,
            preference(contact.channels),
        )
        return recipient, problem

    def _deliver(self, n: Notification, lease: Lease, recipient: Recipient, phone_problem: str) -> Notification | None:
        closed = {a.channel for a in n.attempts if a.outcome == PERMANENT}
        candidates = [(c, to) for c, to in recipient.addresses().items() if c not in closed and c in self.channels]
        variables = {"nombre": recipient.name, **n.variables}
        outstanding: str | None = None  # our send whose outcome is not written yet
        for channel_name, to in candidates:
            if not self.limiter.acquire(channel_name, self.rate_wait):
                # Busy channel: not a failure; the record is due again in a moment.
                return self._later(n, lease, outstanding, self.clock.now() + timedelta(seconds=1), n.reason)
            try:
                message = self.render(n.template, channel_name, to, n.message_key, variables)
            except NOT_CHANNEL_SPECIFIC as exc:
                return self._finish(n, lease, outstanding, DeliveryStatus.FAILED, f"Plantilla {n.template}: {exc}")
            except errors.NotificationError as exc:
                n.attempts.append(Attempt(channel_name, self.clock.now(), PERMANENT, f"Plantilla: {exc}"))
                continue
            attempt_id = uuid.uuid4().hex
            if not self._begin(n, lease, message, attempt_id):
                return None  # someone else holds the record now; nothing was sent
            outstanding = attempt_id
            try:
                receipt = self.channels[channel_name].send(replace(message, reference=attempt_id))
            except PermanentFailure as exc:
                n.attempts.append(Attempt(channel_name, self.clock.now(), PERMANENT, exc.reason))
                continue
            except TransientFailure as exc:
                return self._transient(n, lease, outstanding, channel_name, exc.reason, exc.retry_after)
            except Exception as exc:  # a broken adapter must not lose the message: retry it, bounded
                log.exception("channel %s failed unexpectedly on %s", channel_name, n.message_key)
                reason = f"{type(exc).__name__}: {exc}"
                return self._transient(n, lease, outstanding, channel_name, reason, None)
            at = self.clock.now()
            n.attempts.append(Attempt(channel_name, at, SENT, receipt.provider, receipt.provider_message_id))
            return self._sent(n, lease, outstanding, channel_name, receipt.provider_message_id, at)
        reasons = [phone_problem] if phone_problem else []
        reasons += [f"{a.channel}: {a.detail}" for a in n.attempts if a.outcome == PERMANENT]
        if not recipient.addresses():
            reasons.append("Sin teléfono ni correo")
        elif not reasons:
            reasons.append("Ningún canal configurado para sus datos de contacto")
        return self._finish(n, lease, outstanding, DeliveryStatus.FAILED, "; ".join(reasons))

    def _begin(self, n: Notification, lease: Lease, message: Outgoing, attempt_id: str) -> bool:
        """Write the intent (and take or keep the lease); False if someone else has the record."""
        now = self.clock.now()
        digest = hashlib.sha256(message.text.encode("utf-8")).hexdigest()
        intent = Sending(attempt_id, message.channel, message.to, now, digest)
        pending = replace(n, status=DeliveryStatus.QUEUED, sending=intent, next_attempt_at=now + self.lease)
        return self._write_leased(pending, lease, hold=True)

    # -- outcomes ------------------------------------------------------------------------
    def _transient(
        self,
        n: Notification,
        lease: Lease,
        outstanding: str | None,
        channel: ChannelName,
        reason: str,
        retry_after: float | None,
    ) -> Notification | None:
        now = self.clock.now()
        n.attempts.append(Attempt(channel, now, TRANSIENT, reason))
        count = sum(a.outcome == TRANSIENT for a in n.attempts)
        if self.retry.gives_up(count):
            return self._finish(
                n, lease, outstanding, DeliveryStatus.FAILED, f"Reintentos agotados ({count}): {reason}"
            )
        wait = timedelta(seconds=self.retry.delay(count, retry_after, self.rng))
        log.info("%s: %s failed (%s); retry %d in %.1fs", n.message_key, channel, reason, count, wait.total_seconds())
        return self._later(n, lease, outstanding, now + wait, reason)

    def _later(
        self, n: Notification, lease: Lease, outstanding: str | None, at: datetime, reason: str
    ) -> Notification | None:
        done = replace(n, status=DeliveryStatus.QUEUED, next_attempt_at=at, reason=reason, sending=None)
        return self._store(done, lease, outstanding)

    def _sent(
        self,
        n: Notification,
        lease: Lease,
        outstanding: str | None,
        channel: ChannelName,
        provider_id: str,
        at: datetime,
    ) -> Notification | None:
        done = replace(n, status=DeliveryStatus.SENT, next_attempt_at=None, reason="", sending=None)
        payload = {**summary(done), "channel": str(channel), "provider_message_id": provider_id}
        stored = self._store(
            done, lease, outstanding, [event("notification_sent", {**payload, "sent_at": at.isoformat()})]
        )
        if stored is not None:
            self.relay.flush(NOTIFICATIONS, done.message_key)
        return stored

    def _finish(
        self, n: Notification, lease: Lease, outstanding: str | None, status: DeliveryStatus, reason: str
    ) -> Notification | None:
        done = replace(n, status=status, next_attempt_at=None, reason=reason, sending=None)
        events = []
        if status == DeliveryStatus.FAILED:
            events.append(event("notification_failed", {**summary(done), "reason": reason}))
        log.info("%s: %s (%s)", n.message_key, status, reason)
        stored = self._store(done, lease, outstanding, events)
        if stored is not None and events:
            self.relay.flush(NOTIFICATIONS, done.message_key)
        return stored

    def _store(
        self, n: Notification, lease: Lease, outstanding: str | None, events: Sequence[Mapping[str, Any]] = ()
    ) -> Notification | None:
        """Write ``n``: under the lease when nothing was sent in this step (None if the
        lease was lost), else as the outcome of send ``outstanding`` (never lost)."""
        if outstanding is None:
            return n if self._write_leased(n, lease, events) else None
        self._write_outcome(n, lease, outstanding, events)
        return n

    def _write_leased(
        self, n: Notification, lease: Lease, events: Sequence[Mapping[str, Any]] = (), hold: bool = False
    ) -> bool:
        with lease.lock:  # the heartbeat renews under the same lock, so the token is current
            if lease.lost:
                return False
            if not self.log.save_leased(n, lease.token, events):
                lease.lost, lease.held = True, False
                log.info("%s: another dispatcher took it; leaving it to them", n.message_key)
                return False
            if n.next_attempt_at is not None:
                lease.token = n.next_attempt_at
            lease.held = hold
            return True


def preference(channels: Sequence[str]) -> tuple[ChannelName, ...]:
    """The person's channels in their order; only those, when they chose some. An
    unknown name (a channel this version does not have) is skipped, and a choice
    of none we know means the default order rather than no message at all."""
    names = {str(name) for name in ChannelName}
    known = tuple(dict.fromkeys(ChannelName(c) for c in channels if c in names))
    return known or DEFAULT_PREFERENCE


def summary(n: Notification) -> dict[str, Any]:
    return {
        "message_key": n.message_key,
        "recipient_id": n.recipient_id,
        "template": n.template,
        "trigger": n.trigger,
        "attempts": len(n.attempts),
    }


def event(kind: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": uuid.uuid4().hex, "type": kind, "payload": dict(payload)}
