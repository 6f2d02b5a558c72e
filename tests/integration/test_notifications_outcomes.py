"""A notification is not sent twice when the write after a successful send fails,
and a message whose dispatcher died goes out within seconds (issue 10, section 4).

The use cases run in this process over the real SecantusDB delivery log and the
stack's beneficiaries service, sending through the WhatsApp stand-in; the store
failure is injected at the delivery log, as the driver raises it. The last tests
need no stack: the stand-ins' side of it (WhatsApp echoing our attempt id in its
statuses, the SMS provider's list of messages that ``find_sent`` asks).
"""

from __future__ import annotations

import contextlib
import hashlib
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pymongo
import pytest
from pymongo.errors import ServerSelectionTimeoutError

from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as pb
from devstack.infra import Stack
from devstack.providers import SmsStandIn, WhatsAppStandIn
from services.notifications.adapters import repository
from services.notifications.adapters.directory import BeneficiariesDirectory
from services.notifications.channels.sms import HttpSmsChannel, SmsSettings
from services.notifications.channels.whatsapp import WhatsAppCloudChannel, WhatsAppSettings
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
from services.notifications.domain.phones import normalise_phone
from services.notifications.domain.retry import RetryPolicy
from services.notifications.domain.templates import render
from services.notifications.entrypoints.dispatcher import Dispatcher
from services.notifications.service_layer.handlers import NotificationHandlers, SystemClock
from tests.helpers import eventually
from tests.integration.test_notification_channels import free_port, message
from tests.integration.test_notifications_service import NoRelay, Unlimited, acta_event, with_consent

WA = ChannelName.WHATSAPP


class ShiftedClock(SystemClock):
    """The system clock, moved forward on demand (leases lapse without waiting)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return super().now() + self.offset


class FailingLog(repository.MongoDeliveryLog):
    """The real delivery log; once armed, its next write fails as it does when the
    store is away for longer than the driver's server selection."""

    armed = False
    _spent = False

    def arm_once(self) -> None:
        """Fail the next write, the first time this is called."""
        self.armed, self._spent = not self._spent, True

    def _outage(self) -> None:
        if self.armed:
            self.armed = False
            raise ServerSelectionTimeoutError("127.0.0.1:27017: [Errno 111] Connection refused (injected)")

    def save(self, notification: Notification, events: Sequence[Mapping[str, Any]] = ()) -> None:
        self._outage()
        super().save(notification, events)

    def save_outcome(
        self, notification: Notification, attempt_id: str, events: Sequence[Mapping[str, Any]] = ()
    ) -> bool:
        self._outage()
        return super().save_outcome(notification, attempt_id, events)


class Died(BaseException):
    """The dispatcher's process ends here (a SIGKILL): not even ``except Exception`` runs."""


class AfterSend:
    """The WhatsApp adapter, and what happens once the provider accepted a message."""

    name = WA

    def __init__(self, channel: WhatsAppCloudChannel, then: Any) -> None:
        self.channel = channel
        self.then = then

    def send(self, message: Outgoing) -> Receipt:
        receipt = self.channel.send(message)
        self.then()
        return receipt


@pytest.fixture
def local(stack: Stack) -> Iterator[NotificationHandlers]:
    """The use cases over a delivery log of their own (failing on demand) and the
    stack's beneficiaries service; each test gives them its channels."""
    name = f"notifications_{uuid.uuid4().hex[:8]}"
    repository.connect(stack.env["MONGO_URI"], name)
    directory = BeneficiariesDirectory(stack.env["BENEFICIARIES_GRPC"])
    try:
        yield NotificationHandlers(
            log=FailingLog(),
            directory=directory,
            channels={},
            render=render,
            normalise_phone=normalise_phone,
            retry=RetryPolicy(base_seconds=0.05, cap_seconds=0.2, max_attempts=5),
            limiter=Unlimited(),
            relay=NoRelay(),
            clock=ShiftedClock(),
        )
    finally:
        directory.close()
        pymongo.MongoClient(stack.env["MONGO_URI"]).drop_database(name)
        repository.disconnect()


def whatsapp_for(provider: WhatsAppStandIn) -> WhatsAppCloudChannel:
    return WhatsAppCloudChannel(
        WhatsAppSettings(
            base_url=provider.url,
            phone_number_id=provider.phone_number_id,
            access_token=provider.access_token,
            app_secret=provider.app_secret,
            timeout=2.0,
        )
    )


def clock_of(h: NotificationHandlers) -> ShiftedClock:
    assert isinstance(h.clock, ShiftedClock)
    return h.clock


def test_a_failed_outcome_write_after_whatsapp_accepted_is_retried_and_the_message_is_not_sent_twice(
    local: NotificationHandlers, beneficiaries: Any, family: pb.Family
) -> None:
    ana = with_consent(beneficiaries, family, "3005550501", relationship="head")
    log = local.log
    assert isinstance(log, FailingLog)
    acta_id = uuid.uuid4().hex
    with WhatsAppStandIn() as provider:
        whatsapp = whatsapp_for(provider)
        local.channels = {WA: AfterSend(whatsapp, then=log.arm_once)}
        local.on_acta_sealed(acta_event(acta_id, ana))
        try:
            with contextlib.suppress(ServerSelectionTimeoutError):
                local.dispatch_due()  # the provider accepts; the write after it fails once
            clock_of(local).offset = timedelta(minutes=10)  # any lease a dispatcher held has lapsed
            local.dispatch_due()
        finally:
            whatsapp.close()
        accepted = list(provider.accepted)
        assert not provider.violations
    (done,) = local.deliveries(trigger=f"acta:{acta_id}")
    assert len(accepted) == 1  # the provider saw the message exactly once
    assert done.status == DeliveryStatus.SENT and done.sending is None
    assert [(a.outcome, a.provider_message_id) for a in done.attempts] == [("sent", accepted[0].message_id)]


def test_a_message_whose_dispatcher_died_holding_it_goes_out_within_seconds(
    local: NotificationHandlers, beneficiaries: Any, family: pb.Family
) -> None:
    ana = with_consent(beneficiaries, family, "3005550502", relationship="head")
    acta_id = uuid.uuid4().hex
    with WhatsAppStandIn() as provider:
        whatsapp = whatsapp_for(provider)
        local.channels = {WA: whatsapp}
        local.on_acta_sealed(acta_event(acta_id, ana))
        (due,) = local.log.due(local.clock.now(), 10)
        assert local.log.claim(due, local.clock.now() + local.lease)  # taken by a dispatcher that then died
        died = time.monotonic()
        dispatcher = Dispatcher(local, workers=2, idle=0.05)
        dispatcher.start()
        try:
            eventually(lambda: local.notification(due.message_key).status == DeliveryStatus.SENT, timeout=20)
        finally:
            dispatcher.stop()
            whatsapp.close()
        assert len(provider.accepted) == 1
    assert time.monotonic() - died < 15


def test_a_whatsapp_send_whose_dispatcher_died_is_recorded_from_metas_report_and_not_sent_twice(
    local: NotificationHandlers, beneficiaries: Any, family: pb.Family
) -> None:
    """The process dies between WhatsApp's acceptance and the write of it. Meta's
    statuses name our send; they reach the service once it is back (Meta retries a
    webhook until answered; here they are replayed), and the next dispatcher
    records the send from them instead of sending it again."""
    ana = with_consent(beneficiaries, family, "3005550503", relationship="head")
    acta_id = uuid.uuid4().hex
    down = f"http://127.0.0.1:{free_port()}/webhooks/whatsapp"  # the service is dead: no one answers

    def die() -> None:
        raise Died

    with WhatsAppStandIn(webhook_url=down) as provider:
        whatsapp = whatsapp_for(provider)
        try:
            local.channels = {WA: AfterSend(whatsapp, then=die)}
            local.on_acta_sealed(acta_event(acta_id, ana))
            with pytest.raises(Died):
                local.dispatch_due()
            assert provider.wait_for_webhooks(10) and len(provider.webhooks) == 2
            local.channels = {WA: whatsapp}  # the service is back
            for hook in provider.webhooks:
                headers = {name.lower(): value for name, value in hook.headers.items()}
                local.receive_webhook(WA, WebhookRequest("POST", hook.url, headers, {}, hook.body))
            clock_of(local).offset = local.lease + timedelta(seconds=1)  # the dead holder's lease lapses
            assert local.dispatch_due() == 1
            assert len(provider.accepted) == 1  # recorded, not sent again
            assert local.reconcile_reports() == 1  # the delivery, parked until the send was known
        finally:
            whatsapp.close()
        accepted = list(provider.accepted)
    (done,) = local.deliveries(trigger=f"acta:{acta_id}")
    assert len(accepted) == 1 and accepted[0].callback_data
    assert done.status == DeliveryStatus.DELIVERED
    assert [(a.outcome, a.provider_message_id) for a in done.attempts] == [
        ("sent", accepted[0].message_id),
        ("delivered", accepted[0].message_id),
    ]


# -- the stand-ins' side (no stack) ----------------------------------------------------------------
def test_every_whatsapp_status_of_a_send_echoes_the_attempt_id_it_carried() -> None:
    with WhatsAppStandIn(webhook_url=f"http://127.0.0.1:{free_port()}/webhooks/whatsapp") as provider:
        whatsapp = whatsapp_for(provider)
        try:
            whatsapp.send(replace(message(WA, "+573001234567"), reference="attempt-1"))
            assert provider.wait_for_webhooks(10)
            reports = [r for hook in provider.webhooks for r in whatsapp.webhook(
                WebhookRequest("POST", hook.url, {k.lower(): v for k, v in hook.headers.items()}, {}, hook.body)
            ).reports]  # fmt: skip
        finally:
            whatsapp.close()
        assert provider.accepted[0].callback_data == "attempt-1" and not provider.violations
    wamid = provider.accepted[0].message_id
    assert [(r.state, r.provider_message_id, r.reference) for r in reports] == [
        (ReportedState.ACCEPTED, wamid, "attempt-1"),
        (ReportedState.DELIVERED, wamid, "attempt-1"),
    ]


def test_the_sms_provider_is_asked_whether_it_holds_a_send_by_number_sender_and_text() -> None:
    with SmsStandIn() as twilio:
        sms = HttpSmsChannel(
            SmsSettings(
                base_url=twilio.url,
                account_sid=twilio.account_sid,
                auth_token=twilio.auth_token,
                sender=twilio.sender,
                timeout=2.0,
            )
        )
        try:
            began = datetime.now(UTC)
            sent = message(ChannelName.SMS, "+573001234567")
            receipt = sms.send(sent)
            sms.send(message(ChannelName.SMS, "+573001234568"))
            digest = hashlib.sha256(sent.text.encode()).hexdigest()
            intent = Sending("attempt-1", ChannelName.SMS, "+573001234567", began, digest)
            assert sms.find_sent(intent) == receipt
            assert sms.find_sent(replace(intent, text_sha256=hashlib.sha256(b"otro").hexdigest())) is None
            assert sms.find_sent(replace(intent, to="+573009999999")) is None
            assert sms.find_sent(replace(intent, at=began + timedelta(minutes=5))) is None  # created long before
            twilio.fail_next(1, 503)
            with pytest.raises(TransientFailure):
                sms.find_sent(intent)
        finally:
            sms.close()
        assert twilio.violations == []
