"""A send's outcome is never lost and a message is not sent twice because a write
failed: the intent written before each send, the outcome write retried through a
store outage, short leases kept alive by the holder's heartbeat, and what a later
dispatcher does with a send whose holder died (issue 10, section 4)."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import timedelta

import pytest

from services.notifications.channels.whatsapp import payload, status_reports
from services.notifications.domain.model import (
    ChannelName,
    DeliveryStatus,
    Notification,
    Outgoing,
    Receipt,
    ReportedState,
    Sending,
    TransientFailure,
    WebhookRequest,
)
from services.notifications.entrypoints.dispatcher import Dispatcher
from services.notifications.service_layer.handlers import NotificationHandlers
from services.notifications.service_layer.leases import Lease, Leases
from services.notifications.service_layer.ports import Contact
from tests.helpers import eventually
from tests.unit.notifications_fakes import (
    NOW,
    FakeLog,
    ReportingScriptedChannel,
    ScriptedChannel,
    StepClock,
    StoreDown,
    handlers,
)

WA, SMS, EMAIL = ChannelName.WHATSAPP, ChannelName.SMS, ChannelName.EMAIL
ANA = Contact("p1", "Ana Epiayú", "300 123 4567", "ana@example.org", True)
ANA_BY_SMS = Contact("p1", "Ana Epiayú", "300 123 4567", "", True, ("sms",))
KEY = "acta_sealed:a1:p1"


class Died(BaseException):
    """The process ends here (a SIGKILL): not even ``except Exception`` runs."""


class DyingChannel(ReportingScriptedChannel):
    """Accepts like the provider; ``die_after`` kills the process once the provider
    has accepted (before its reply is written), ``die_before`` before the request
    leaves."""

    def __init__(self, name: ChannelName) -> None:
        super().__init__(name)
        self.die_after = self.die_before = 0

    def send(self, message: Outgoing) -> Receipt:
        if self.die_before:
            self.die_before -= 1
            raise Died
        receipt = super().send(message)
        if self.die_after:
            self.die_after -= 1
            raise Died
        return receipt


class LookupChannel(DyingChannel):
    """A provider that can be asked what it holds (as the SMS provider's list)."""

    def __init__(self, name: ChannelName) -> None:
        super().__init__(name)
        self.lookups = 0
        self.down = False

    def find_sent(self, sending: Sending) -> Receipt | None:
        self.lookups += 1
        if self.down:
            raise TransientFailure("sms: HTTP 503")
        for i, m in enumerate(self.sent):
            if m.to == sending.to and hashlib.sha256(m.text.encode()).hexdigest() == sending.text_sha256:
                return Receipt(f"fake-{self.name}", f"{self.name}-{i + 1}")
        return None


def setup(
    contact: Contact = ANA, first: DyingChannel | None = None
) -> tuple[NotificationHandlers, FakeLog, StepClock, DyingChannel]:
    channel = first or DyingChannel(WA)
    others = [ReportingScriptedChannel(c) if c != EMAIL else ScriptedChannel(c) for c in (WA, SMS, EMAIL)]
    h = handlers([contact], channels=[channel, *[c for c in others if c.name != channel.name]])
    h.pause = lambda seconds: None
    h.on_acta_sealed({"acta_id": "a1", "title": "Acta", "captured_at": "2026-11-20T15:00:00+00:00",
                      "participants": [{"beneficiary_id": contact.recipient_id}]})  # fmt: skip
    assert isinstance(h.log, FakeLog) and isinstance(h.clock, StepClock)
    return h, h.log, h.clock, channel


def twin(h: NotificationHandlers) -> NotificationHandlers:
    """A second dispatcher (another process) over the same store, providers and clock."""
    other = handlers([ANA, ANA_BY_SMS])
    other.log, other.channels, other.clock, other.pause = h.log, h.channels, h.clock, h.pause
    return other


def record(log: FakeLog) -> Notification:
    found = log.get(KEY)
    assert found is not None
    return found


def meta_webhook(*statuses: tuple[str, str, str]) -> WebhookRequest:
    """The fake provider's webhook with (provider id, state, our reference) statuses."""
    body = json.dumps([{"id": i, "state": s, "reference": r} for i, s, r in statuses]).encode()
    return WebhookRequest("POST", "https://crm.example/webhooks/whatsapp", {"x-signature": "ok"}, {}, body)


# -- the write after a successful send -----------------------------------------------------------
def test_an_outcome_write_that_fails_after_the_provider_accepted_is_retried_until_it_lands() -> None:
    h, log, clock, whatsapp = setup()
    pauses: list[float] = []
    h.pause = pauses.append
    log.fail_next("save_outcome", 8)  # a store outage longer than the driver's server selection, eight times

    assert h.dispatch_due() == 1

    assert pauses == pytest.approx([0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0])  # backoff, capped, never giving up
    done = record(log)
    assert done.status == DeliveryStatus.SENT and done.sending is None
    assert [(a.outcome, a.provider_message_id) for a in done.attempts] == [("sent", "whatsapp-1")]
    assert len(log.events("notification_sent")) == 1
    clock.advance(600)  # far past any lease: nothing is due, nothing goes out again
    assert h.dispatch_due() == 0 and whatsapp.calls == 1


def test_the_intent_is_written_before_the_send_and_names_it_to_the_provider() -> None:
    h, log, _, whatsapp = setup()
    seen: list[Notification] = []
    send = whatsapp.send

    def watched(message: Outgoing) -> Receipt:
        seen.append(record(log))
        return send(message)

    whatsapp.send = watched  # type: ignore[method-assign]

    h.dispatch_due()

    (during,) = seen
    assert during.status == DeliveryStatus.QUEUED and during.sending is not None
    assert during.sending.channel == WA and during.sending.to == "+573001234567"
    assert during.next_attempt_at == NOW + h.lease  # the intent's write is the lease
    (sent,) = whatsapp.sent
    assert sent.reference == during.sending.attempt_id
    assert during.sending.text_sha256 == hashlib.sha256(sent.text.encode()).hexdigest()
    assert payload(sent)["biz_opaque_callback_data"] == sent.reference


def test_while_the_sender_retries_its_outcome_write_another_dispatcher_does_not_send_it_again() -> None:
    """The store comes back; another process reaches the record before the sender's
    next try lands. It finds the send under way and waits instead of sending."""
    h, log, clock, whatsapp = setup()
    other = twin(h)
    log.fail_next("save_outcome", 3)
    took: list[int] = []

    def outage(seconds: float) -> None:
        clock.advance(seconds if took else h.lease.total_seconds() + 1)  # the first wait outlives the lease
        took.append(other.dispatch_due())

    h.pause = outage
    h.dispatch_due()

    assert took == [1, 0, 0]  # taken once, put off (its owner may be alive), never sent
    assert record(log).status == DeliveryStatus.SENT and whatsapp.calls == 1
    clock.advance(600)
    assert other.dispatch_due() == 0 and whatsapp.calls == 1


# -- leases ----------------------------------------------------------------------------------
def test_a_message_whose_holder_died_before_sending_goes_out_when_its_short_lease_lapses() -> None:
    h, log, clock, whatsapp = setup()
    (due,) = log.due(NOW, 10)
    assert log.claim(due, NOW + h.lease)  # a dispatcher took it, then died
    assert h.lease <= timedelta(seconds=15)

    clock.advance(h.lease.total_seconds() - 1)
    assert h.dispatch_due() == 0
    clock.advance(1)
    assert h.dispatch_due() == 1
    assert record(log).status == DeliveryStatus.SENT and whatsapp.calls == 1


def test_the_heartbeat_keeps_a_long_send_leased_and_a_second_dispatcher_off() -> None:
    h, log, clock, whatsapp = setup()
    other = twin(h)
    took: list[int] = []
    send = whatsapp.send

    def slow(message: Outgoing) -> Receipt:
        for _ in range(4):  # four times the lease at the provider, the heartbeat beating
            clock.advance(h.lease.total_seconds())
            assert h.renew_leases() == 1
            took.append(other.dispatch_due())
        return send(message)

    whatsapp.send = slow  # type: ignore[method-assign]
    h.dispatch_due()

    assert took == [0, 0, 0, 0] and whatsapp.calls == 1 and record(log).status == DeliveryStatus.SENT
    assert h.renew_leases() == 0  # nothing held once the outcome is written


def test_a_lease_taken_by_another_is_lost_and_a_store_error_leaves_it_for_the_next_beat() -> None:
    leases, lease = Leases(), Lease("k", NOW, held=True)
    leases.track(lease)
    answers: list[bool | None] = [None, True, False]  # None: the store is down

    def renew(key: str, token: object, until: object) -> bool:
        answer = answers.pop(0)
        if answer is None:
            raise StoreDown("no server available")
        return answer

    clock = StepClock()
    assert leases.renew(renew, clock.now, timedelta(seconds=10)) == 0 and not lease.lost and lease.token == NOW
    assert leases.renew(renew, clock.now, timedelta(seconds=10)) == 1 and lease.token == NOW + timedelta(seconds=10)
    assert leases.renew(renew, clock.now, timedelta(seconds=10)) == 0 and lease.lost and not lease.held


def test_the_dispatcher_beats_while_a_send_is_under_way() -> None:
    h, log, clock, whatsapp = setup()
    entered, release = threading.Event(), threading.Event()
    send = whatsapp.send

    def blocked(message: Outgoing) -> Receipt:
        entered.set()
        release.wait(10)
        return send(message)

    whatsapp.send = blocked  # type: ignore[method-assign]
    dispatcher = Dispatcher(h, workers=1, idle=0.01, renew_every=0.01)
    dispatcher.start()
    try:
        assert entered.wait(10)
        clock.advance(60)
        eventually(lambda: log.rows[KEY].next_attempt_at == NOW + timedelta(seconds=60) + h.lease, timeout=5)
    finally:
        release.set()
        dispatcher.stop(10)
    assert record(log).status == DeliveryStatus.SENT


# -- a send whose holder died --------------------------------------------------------------------
def test_a_send_whose_sender_died_is_recorded_from_the_report_naming_it_and_not_sent_again() -> None:
    h, log, clock, whatsapp = setup()
    whatsapp.die_after = 1
    with pytest.raises(Died):
        h.dispatch_due()
    (sent,) = whatsapp.sent
    # Its statuses reach the (restarted) service: Meta retries a webhook until answered.
    outcome = h.receive_webhook(WA, meta_webhook(("whatsapp-1", "accepted", sent.reference),
                                                 ("whatsapp-1", "delivered", sent.reference)))  # fmt: skip
    assert (outcome.applied, outcome.parked) == (1, 1)  # noted on the send; the delivery waits for its record

    clock.advance(h.lease.total_seconds())
    assert h.dispatch_due() == 1

    done = record(log)
    assert done.status == DeliveryStatus.SENT and done.sending is None
    assert [(a.outcome, a.provider_message_id) for a in done.attempts] == [("sent", "whatsapp-1")]
    assert whatsapp.calls == 1 and len(log.events("notification_sent")) == 1
    assert h.reconcile_reports() == 1 and record(log).status == DeliveryStatus.DELIVERED


def test_a_send_whose_sender_died_unreported_is_sent_again_only_after_waiting_and_says_so() -> None:
    """The residual window: WhatsApp cannot be asked, and no report named the send."""
    h, log, clock, whatsapp = setup()
    whatsapp.die_after = 1
    with pytest.raises(Died):
        h.dispatch_due()
    clock.advance(h.lease.total_seconds())
    assert h.dispatch_due() == 1  # taken, and put off
    waiting = record(log)
    assert waiting.sending is not None and waiting.sending.stale_since == clock.now()
    assert waiting.next_attempt_at == waiting.sending.at + h.unknown_outcome_wait and whatsapp.calls == 1

    clock.moment = waiting.sending.at + h.unknown_outcome_wait - timedelta(seconds=1)
    assert h.dispatch_due() == 0
    clock.advance(1)
    assert h.dispatch_due() == 1

    done = record(log)
    assert whatsapp.calls == 2 and done.status == DeliveryStatus.SENT
    assert [a.outcome for a in done.attempts] == ["transient", "sent"]
    assert "se desconoce si el proveedor aceptó" in done.attempts[0].detail


def test_an_sms_whose_sender_died_is_found_at_the_provider_and_not_sent_again() -> None:
    h, log, clock, sms = setup(ANA_BY_SMS, LookupChannel(SMS))
    assert isinstance(sms, LookupChannel)
    sms.die_after = 1
    with pytest.raises(Died):
        h.dispatch_due()
    clock.advance(h.lease.total_seconds())
    h.dispatch_due()
    assert sms.lookups == 0  # not before its owner could have written it
    clock.advance(h.unknown_outcome_wait.total_seconds())
    assert h.dispatch_due() == 1

    done = record(log)
    assert sms.lookups == 1 and sms.calls == 1 and done.status == DeliveryStatus.SENT
    assert [(a.outcome, a.provider_message_id) for a in done.attempts] == [("sent", "sms-1")]


def test_an_sms_the_provider_never_got_is_sent_again_and_a_provider_that_cannot_answer_is_asked_later() -> None:
    h, log, clock, sms = setup(ANA_BY_SMS, LookupChannel(SMS))
    assert isinstance(sms, LookupChannel)
    sms.die_before = 1  # died after the intent, before the request left
    with pytest.raises(Died):
        h.dispatch_due()
    clock.advance(h.lease.total_seconds())
    h.dispatch_due()
    clock.advance(h.unknown_outcome_wait.total_seconds())
    sms.down = True
    assert h.dispatch_due() == 1
    assert record(log).sending is not None and record(log).next_attempt_at == clock.now() + h.directory_backoff

    sms.down = False
    clock.advance(h.directory_backoff.total_seconds())
    assert h.dispatch_due() == 1

    done = record(log)
    assert sms.lookups == 2 and len(sms.sent) == 1 and done.status == DeliveryStatus.SENT
    assert [a.outcome for a in done.attempts] == ["transient", "sent"]
    assert "el proveedor no tiene el envío anterior" in done.attempts[0].detail


def test_a_report_naming_no_send_under_way_changes_nothing() -> None:
    h, log, _, _ = setup()
    outcome = h.receive_webhook(WA, meta_webhook(("wamid.x", "accepted", "not-ours")))
    assert (outcome.applied, outcome.parked) == (0, 0) and log.parked(10) == []
    assert record(log).sending is None and record(log).status == DeliveryStatus.QUEUED


def test_metas_sent_status_naming_our_send_is_an_acceptance_and_its_other_statuses_carry_the_reference() -> None:
    def status(state: str, reference: str | None) -> dict[str, object]:
        item: dict[str, object] = {"id": "wamid.1", "status": state, "timestamp": "1795000000"}
        if reference is not None:
            item["biz_opaque_callback_data"] = reference
        return item

    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "statuses": [status("sent", "ref-1"), status("sent", None), status("delivered", "ref-1")],
    }
    body = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages",
                                                                                      "value": value}]}]}  # fmt: skip
    reports = status_reports(json.dumps(body).encode(), "106540352242922")
    assert [(r.state, r.reference) for r in reports] == [
        (ReportedState.ACCEPTED, "ref-1"),
        (ReportedState.DELIVERED, "ref-1"),
    ]
