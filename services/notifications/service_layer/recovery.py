"""What becomes of a send whose outcome was not written (see ``delivery``).

A dispatcher that dies while it holds a record leaves either no intent (its lease
lapses at most ``lease`` after its last renewal, and the message goes out then)
or an intent whose outcome nobody knows: the provider may have accepted the
message. A later holder does not send such a message again blindly:

1. It waits until the intent is ``unknown_outcome_wait`` (30 s) old, and until
   ``settle`` (5 s) has passed since a holder first found it. A live owner that
   was only cut off from the store lands its outcome write in that time (it
   retries every ``outcome_retry`` cap, 2 s), and a provider's report may arrive.
2. Then it looks for evidence. A status report that named the attempt id
   (WhatsApp's ``biz_opaque_callback_data``) was noted on the intent by
   ``DeliveryLog.note_accepted``; a channel that can be asked
   (``LookupChannel``: SMS lists the provider's messages by number and sender,
   matched by text) answers for itself.
3. Accepted: recorded as sent under the provider's id, not sent again. Not held
   by the provider: sent again (it cannot be a duplicate). Unknown (WhatsApp, no
   report): sent again, after a ``transient`` attempt that says so.

Residual window. A message goes out twice only when all of these hold: the
provider accepted send A; A's outcome write did not land while its process
lived (the process died, or could not reach the store for longer than
``settle`` while another dispatcher could, after A's lease lapsed); A's channel
cannot be asked (WhatsApp); and no status report naming A reached the service
before a later holder judged it, ``unknown_outcome_wait`` after A began. For a
killed dispatcher that is, per message in flight, the span from the provider's
acceptance to the commit of one store write, and only when the provider's
reports are lost as well: Meta retries a webhook for days, the devstack stand-in
for two minutes (``--whatsapp-webhook-retry-seconds``), so a report sent while
the service was down still lands once it is back, before the intent is judged.
The SMS lookup can mistake another message for this one: same number and text,
created at most ``channels.sms.LOOKUP_SLACK`` (60 s) before A began; that one
then counts as this message's send (a loss, not a duplicate).

Delay: a message whose holder died goes out within ``lease`` (10 s) of its last
renewal; one it had begun to send, about ``unknown_outcome_wait`` after that.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from services.notifications.domain.model import (
    SENT,
    TRANSIENT,
    Attempt,
    ChannelName,
    Notification,
    Sending,
    TransientFailure,
)
from services.notifications.service_layer.leases import Lease
from services.notifications.service_layer.ports import Channel, Clock, DeliveryLog, LookupChannel

log = logging.getLogger(__name__)

LATE_WRITE_TRIES = 5


class Recovery:
    """Writing a send's outcome whatever the store does, and judging a send whose
    outcome an earlier holder never wrote. Mixed into ``delivery.Delivery``."""

    log: DeliveryLog
    channels: Mapping[ChannelName, Channel]
    clock: Clock
    directory_backoff: timedelta
    settle: timedelta
    unknown_outcome_wait: timedelta
    outcome_retry: tuple[float, float]
    pause: Callable[[float], None]

    if TYPE_CHECKING:  # provided by ``Delivery``

        def _sent(
            self,
            n: Notification,
            lease: Lease,
            outstanding: str | None,
            channel: ChannelName,
            provider_id: str,
            at: datetime,
        ) -> Notification | None: ...

        def _write_leased(
            self, n: Notification, lease: Lease, events: Sequence[Mapping[str, Any]] = (), hold: bool = False
        ) -> bool: ...

    def _settle_intent(self, n: Notification, lease: Lease) -> tuple[bool, Notification | None]:
        """Judge the intent left on ``n``: (True, what was written) when this step is
        over, or (False, the record to send again)."""
        intent = n.sending
        assert intent is not None
        now = self.clock.now()
        if intent.provider_message_id:
            return True, self._confirmed(n, lease, intent, intent.provider_message_id, "reporte del proveedor")
        first_seen = intent.stale_since or now
        ready = max(intent.at + self.unknown_outcome_wait, first_seen + self.settle)
        if intent.stale_since is None or now < ready:
            log.info("%s: send %s has no outcome yet; judged at %s", n.message_key, intent.attempt_id, ready)
            waiting = replace(n, sending=replace(intent, stale_since=first_seen), next_attempt_at=ready)
            return True, waiting if self._write_leased(waiting, lease) else None
        channel = self.channels.get(intent.channel)
        if isinstance(channel, LookupChannel):
            try:
                receipt = channel.find_sent(intent)
            except TransientFailure as exc:
                reason = f"No se pudo consultar al proveedor por el envío anterior: {exc.reason}"
                later = replace(n, next_attempt_at=now + self.directory_backoff, reason=reason)
                return True, later if self._write_leased(later, lease) else None
            if receipt is not None:
                return True, self._confirmed(n, lease, intent, receipt.provider_message_id, receipt.provider)
            detail = "el proveedor no tiene el envío anterior, que se interrumpió; se envía de nuevo"
        else:
            detail = (
                "se desconoce si el proveedor aceptó el envío anterior (se interrumpió antes de registrar "
                "su resultado y el proveedor no lo ha reportado); se envía de nuevo"
            )
        log.warning("%s: send %s on %s: %s", n.message_key, intent.attempt_id, intent.channel, detail)
        n.attempts.append(Attempt(intent.channel, now, TRANSIENT, f"{intent.channel}: {detail}"))
        return False, replace(n, sending=None)

    def _confirmed(
        self, n: Notification, lease: Lease, intent: Sending, provider_id: str, detail: str
    ) -> Notification | None:
        log.info("%s: send %s was accepted (%s); recorded, not sent again", n.message_key, intent.attempt_id, detail)
        n.attempts.append(Attempt(intent.channel, intent.at, SENT, detail, provider_id))
        return self._sent(n, lease, None, intent.channel, provider_id, intent.at)

    def _write_outcome(
        self, n: Notification, lease: Lease, attempt_id: str, events: Sequence[Mapping[str, Any]]
    ) -> None:
        """Write what became of send ``attempt_id``. Retried with backoff until it
        lands, for as long as this process lives: the provider has answered, and
        the record's intent keeps everyone else from sending it again meanwhile."""
        delay, cap = self.outcome_retry
        tries = 0
        while True:
            try:
                if not self.log.save_outcome(n, attempt_id, events):
                    self._intent_gone(n, attempt_id)
                break
            except Exception as exc:
                tries += 1
                log.warning(
                    "%s: the outcome of send %s is not written yet (try %d: %s: %s); retrying in %.2fs",
                    n.message_key,
                    attempt_id,
                    tries,
                    type(exc).__name__,
                    exc,
                    delay,
                )
                self.pause(delay)
                delay = min(delay * 2, cap)
        with lease.lock:
            lease.held = False

    def _intent_gone(self, n: Notification, attempt_id: str) -> None:
        """The record no longer holds our intent: a later holder judged it (it found
        the provider's acceptance, or gave up waiting for us and sent again). Our
        accepted send is added to its attempts if it is not there yet."""
        sent = n.attempts[-1] if n.attempts and n.attempts[-1].outcome == SENT else None
        if sent is None:
            log.warning("%s: send %s ended after another dispatcher took the message over", n.message_key, attempt_id)
            return
        for _ in range(LATE_WRITE_TRIES):
            current = self.log.get(n.message_key)
            if current is None or any(a.provider_message_id == sent.provider_message_id for a in current.attempts):
                return
            if self.log.replace(current, replace(current, attempts=[*current.attempts, sent])):
                break
        log.error(
            "%s: the provider accepted send %s after another dispatcher had taken the message over; "
            "it may have gone out twice",
            n.message_key,
            attempt_id,
        )
