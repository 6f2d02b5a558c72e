"""The notifications service against the real SecantusDB, RabbitMQ and beneficiaries
service started by devstack.

The first tests drive the use cases in this process over the real delivery log
and directory, with a recording channel (the unique message key, leases and the
log's queries are the store's job, consent is the beneficiaries service's). The
others drive the running ``crm-notifications`` process: an acta sealed through
the actas desk flow, a redelivered event, an ad-hoc reminder over gRPC.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pymongo
import pytest
from kombu import Connection, Producer

from crm_platform.grpc_support import field_errors
from crm_platform.messaging import events_exchange
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2 as apb
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2_grpc as apb_grpc
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as pb
from crm_platform.proto_gen.crm.notifications.v1 import notifications_pb2 as npb
from crm_platform.proto_gen.crm.notifications.v1 import notifications_pb2_grpc as npb_grpc
from devstack.infra import Stack
from devstack.providers import WhatsAppStandIn
from services.notifications.adapters import repository
from services.notifications.adapters.directory import BeneficiariesDirectory
from services.notifications.channels.whatsapp import WhatsAppCloudChannel, WhatsAppSettings
from services.notifications.domain.model import (
    ChannelName,
    DeliveryStatus,
    Outgoing,
    Receipt,
    ReportedState,
    StatusReport,
)
from services.notifications.domain.phones import normalise_phone
from services.notifications.domain.retry import RetryPolicy
from services.notifications.domain.templates import render
from services.notifications.entrypoints.dispatcher import Dispatcher
from services.notifications.service_layer.handlers import NotificationHandlers, SystemClock
from tests.helpers import GESTOR, eventually, person_request
from tests.integration.test_actas_service import struct, visit_values
from tests.unit.test_contracts import sealed


class RecordingChannel:
    """Accepts every message, thread-safe."""

    def __init__(self, name: ChannelName) -> None:
        self.name = name
        self.sent: list[Outgoing] = []
        self._lock = threading.Lock()

    def send(self, message: Outgoing) -> Receipt:
        with self._lock:
            self.sent.append(message)
            return Receipt("recording", f"rec-{len(self.sent)}")


class Unlimited:
    def acquire(self, channel: ChannelName, timeout: float) -> bool:
        return True


class NoRelay:
    def flush(self, collection: str, aggregate_id: str) -> None:
        pass


@pytest.fixture
def local(stack: Stack) -> Iterator[NotificationHandlers]:
    """The use cases over a delivery log of their own, a recording WhatsApp channel
    and the stack's beneficiaries service."""
    name = f"notifications_{uuid.uuid4().hex[:8]}"
    repository.connect(stack.env["MONGO_URI"], name)
    directory = BeneficiariesDirectory(stack.env["BENEFICIARIES_GRPC"])
    whatsapp = RecordingChannel(ChannelName.WHATSAPP)
    try:
        yield NotificationHandlers(
            log=repository.MongoDeliveryLog(),
            directory=directory,
            channels={ChannelName.WHATSAPP: whatsapp},
            render=render,
            normalise_phone=normalise_phone,
            retry=RetryPolicy(base_seconds=0.05, cap_seconds=0.2, max_attempts=5),
            limiter=Unlimited(),
            relay=NoRelay(),
            clock=SystemClock(),
        )
    finally:
        directory.close()
        pymongo.MongoClient(stack.env["MONGO_URI"]).drop_database(name)
        repository.disconnect()


def with_consent(beneficiaries: Any, family: pb.Family, phone: str, consent: bool = True, **kw: Any) -> pb.Beneficiary:
    kw.setdefault("relationship", "other_relative")
    person = beneficiaries.RegisterBeneficiary(
        person_request(family_id=family.id, whatsapp_phone=phone, **kw), metadata=GESTOR
    )
    if consent:
        beneficiaries.RecordConsent(
            pb.RecordConsentRequest(beneficiary_id=person.id, kind="notifications"), metadata=GESTOR
        )
    return person


def acta_event(acta_id: str, *people: pb.Beneficiary) -> dict[str, Any]:
    return {
        "acta_id": acta_id,
        "title": "Acta de visita domiciliaria",
        "captured_at": "2026-11-20T15:00:00.000+00:00",
        "participants": [{"beneficiary_id": p.id, "family_id": p.family_id} for p in people],
    }


def test_the_delivery_log_keeps_one_record_per_key_and_answers_by_recipient_and_trigger(
    local: NotificationHandlers, beneficiaries: Any, family: pb.Family
) -> None:
    ana = with_consent(beneficiaries, family, "300 555 0101", relationship="head")
    luis = with_consent(beneficiaries, family, "3015550102", consent=False, relationship="spouse")
    acta_id = uuid.uuid4().hex
    assert local.on_acta_sealed(acta_event(acta_id, ana, luis)).new == 2
    assert local.on_acta_sealed(acta_event(acta_id, ana, luis)).new == 0  # the unique key holds
    while local.dispatch_due():
        pass
    whatsapp = local.channels[ChannelName.WHATSAPP]
    assert isinstance(whatsapp, RecordingChannel)
    assert [m.to for m in whatsapp.sent] == ["+573005550101"]
    by_trigger = {n.recipient_id: n for n in local.deliveries(trigger=f"acta:{acta_id}")}
    assert by_trigger[ana.id].status == DeliveryStatus.SENT and by_trigger[ana.id].attempts[0].provider_message_id
    assert by_trigger[luis.id].status == DeliveryStatus.SKIPPED and "consentimiento" in by_trigger[luis.id].reason
    assert [n.message_key for n in local.deliveries(recipient_id=ana.id)] == [f"acta_sealed:{acta_id}:{ana.id}"]
    raw = repository.MongoDeliveryLog().notifications.find_one({"_id": f"acta_sealed:{acta_id}:{ana.id}"})
    assert raw and [e["type"] for e in raw["outbox"]] == ["notification_sent"]


def test_parked_reports_are_kept_once_listed_newest_first_and_dropped_by_age(local: NotificationHandlers) -> None:
    log = repository.MongoDeliveryLog()
    base = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    reports = [StatusReport(f"wamid.{n}", ReportedState.DELIVERED, base) for n in range(3)]
    for n, report in enumerate(reports):
        log.park(ChannelName.WHATSAPP, report, base + timedelta(minutes=n))
    log.park(ChannelName.WHATSAPP, reports[0], base + timedelta(hours=1))  # a provider's retry: kept once
    assert [p.report.provider_message_id for p in log.parked(10)] == ["wamid.2", "wamid.1", "wamid.0"]
    assert log.drop_parked(base + timedelta(minutes=1, seconds=30)) == 2
    (left,) = log.parked(10)
    assert left.report == reports[2] and left.channel == ChannelName.WHATSAPP
    log.unpark(left)
    assert log.parked(10) == []


def test_a_report_is_applied_once_even_when_two_arrive_together(
    local: NotificationHandlers, beneficiaries: Any, family: pb.Family
) -> None:
    """The record is replaced on condition that it is still as read, so of two
    threads applying the same report only one writes."""
    ana = with_consent(beneficiaries, family, "3005550111", relationship="head")
    local.on_acta_sealed(acta_event(uuid.uuid4().hex, ana))
    while local.dispatch_due():
        pass
    (sent,) = local.deliveries(recipient_id=ana.id)
    report = StatusReport(sent.attempts[-1].provider_message_id, ReportedState.DELIVERED, datetime.now(UTC))
    start = threading.Barrier(2)
    found: list[bool] = []

    def apply() -> None:
        start.wait(5)
        found.append(local.apply_report(ChannelName.WHATSAPP, report))

    workers = [threading.Thread(target=apply) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(10)
    assert found == [True, True]  # both knew the message; one wrote, the other saw it done
    done = local.notification(sent.message_key)
    assert done.status == DeliveryStatus.DELIVERED
    assert [a.outcome for a in done.attempts] == ["sent", "delivered"]


def test_a_provider_outage_in_the_middle_of_a_batch_ends_with_every_message_delivered_once(
    local: NotificationHandlers, beneficiaries: Any, family: pb.Family
) -> None:
    """Two dispatchers, the WhatsApp stand-in answering 503s, a 429 with Retry-After,
    an HTML page and a hang partway through: each message is accepted exactly once."""
    people = [with_consent(beneficiaries, family, f"310555{1000 + i}") for i in range(12)]
    with WhatsAppStandIn() as provider:
        whatsapp = WhatsAppCloudChannel(
            WhatsAppSettings(
                base_url=provider.url,
                phone_number_id=provider.phone_number_id,
                access_token=provider.access_token,
                timeout=1.0,
            )
        )
        local.channels = {ChannelName.WHATSAPP: whatsapp}
        acta_id = uuid.uuid4().hex
        local.on_acta_sealed(acta_event(acta_id, *people[:4]))
        local.dispatch_due()  # the first messages go through
        provider.fail_next(5, 503)
        provider.fail_next(1, 429, retry_after=0.2)
        provider.fail_next(1, "garbage")
        provider.fail_next(1, "hang", hang_seconds=3)
        # The whole batch again (a redelivery), with the rest of it, during the outage.
        assert local.on_acta_sealed(acta_event(acta_id, *people)).new == len(people) - 4
        dispatchers = [Dispatcher(local, workers=4, idle=0.05) for _ in range(2)]
        for d in dispatchers:
            d.start()
        try:
            eventually(
                lambda: all(n.status != DeliveryStatus.QUEUED for n in local.deliveries(trigger=f"acta:{acta_id}")),
                timeout=60,
            )
        finally:
            for d in dispatchers:
                d.stop()
            whatsapp.close()
        log = {n.recipient_id: n for n in local.deliveries(trigger=f"acta:{acta_id}")}
        accepted = sorted(m.to for m in provider.accepted)
        assert not provider.violations
    # Garbage and a hang are transient too (the provider may have sent it): retried.
    assert all(n.status == DeliveryStatus.SENT for n in log.values()) and len(log) == len(people)
    assert accepted == sorted(normalise_phone(p.whatsapp_phone).lstrip("+") for p in people)  # each exactly once
    assert [n for n in log.values() if any(a.outcome == "transient" for a in n.attempts)]


# -- the running process -------------------------------------------------------------------
@pytest.fixture(scope="module")
def notifications(stack: Stack) -> Iterator[npb_grpc.NotificationsServiceStub]:
    channel = grpc.insecure_channel(stack.env["NOTIFICATIONS_GRPC"])
    yield npb_grpc.NotificationsServiceStub(channel)
    channel.close()


@pytest.fixture
def stand_ins(stack: Stack) -> None:
    """The process sends through the provider stand-ins; without them it has no channel."""
    assert stack.env.get("WHATSAPP_BASE_URL"), "devstack must start the WhatsApp/SMS stand-ins"


@pytest.fixture(scope="module")
def actas(stack: Stack) -> Iterator[apb_grpc.ActasServiceStub]:
    channel = grpc.insecure_channel(stack.env["ACTAS_GRPC"])
    yield apb_grpc.ActasServiceStub(channel)
    channel.close()


def seal(actas: apb_grpc.ActasServiceStub, family: pb.Family, people: list[pb.Beneficiary]) -> apb.Acta:
    """The desk flow: a home visit signed by everyone named, then sealed."""
    values = visit_values(family, [p.id for p in people])
    draft = actas.CreateActa(
        apb.CreateActaRequest(template_key="visita_domiciliaria@1", values=struct(values)), metadata=GESTOR
    )
    for person in people:
        actas.SignActa(
            apb.SignActaRequest(acta_id=draft.id, signer_id=person.id, refusal_reason="Firma en la copia"),
            metadata=GESTOR,
        )
    actas.SignActa(apb.SignActaRequest(acta_id=draft.id), metadata=GESTOR)
    sealed: apb.Acta = actas.SealActa(apb.SealActaRequest(acta_id=draft.id), metadata=GESTOR)
    return sealed


def deliveries(service: npb_grpc.NotificationsServiceStub, **filter_: str) -> list[npb.Notification]:
    reply = service.ListDeliveries(npb.ListDeliveriesRequest(**filter_), metadata=GESTOR)  # type: ignore[arg-type]
    return list(reply.notifications)


def settled(found: list[npb.Notification], count: int) -> list[npb.Notification]:
    """``found`` once it holds ``count`` entries none of which is still queued, else []."""
    return found if len(found) == count and all(n.status != "queued" for n in found) else []


def final(found: list[npb.Notification], count: int) -> list[npb.Notification]:
    """``found`` once its ``count`` entries have their last status (the stand-ins report
    WhatsApp and SMS deliveries to the gateway's webhooks, so "sent" is not final)."""
    return found if len(found) == count and all(n.status not in ("queued", "sent") for n in found) else []


def test_a_sealed_acta_sends_whatsapp_to_participants_with_consent_once_even_when_redelivered(
    stack: Stack, stand_ins: None, notifications: Any, actas: Any, beneficiaries: Any, family: pb.Family
) -> None:
    ana = with_consent(beneficiaries, family, "3005550201", relationship="head")
    luis = with_consent(beneficiaries, family, "3005550202", consent=False, relationship="spouse")
    acta = seal(actas, family, [ana, luis])
    found = eventually(lambda: final(deliveries(notifications, trigger=f"acta:{acta.id}"), 2), timeout=60)
    by_person = {n.recipient_id: n for n in found}
    sent = by_person[ana.id]
    assert sent.status == "delivered" and sent.message_key == f"acta_sealed:{acta.id}:{ana.id}"
    outcomes = [(a.channel, a.outcome) for a in sent.attempts]
    assert outcomes == [("whatsapp", "sent"), ("whatsapp", "delivered")]  # reported through the gateway
    assert sent.attempts[0].provider_message_id == sent.attempts[1].provider_message_id != ""
    assert by_person[luis.id].status == "skipped"

    with Connection(stack.env["AMQP_URI"], transport_options={"confirm_publish": True}) as conn:
        Producer(conn.default_channel).publish(
            {  # the same event again (at-least-once delivery)
                **sealed(acta_id=acta.id, participants=[{"beneficiary_id": ana.id, "family_id": family.id}]),
                "event_id": uuid.uuid4().hex,
            },
            exchange=events_exchange("actas"),
            routing_key="acta_sealed",
            serializer="json",
            delivery_mode=2,
        )
    marker = seal(actas, family, [ana])  # handled after the redelivery on the same queue
    eventually(lambda: settled(deliveries(notifications, trigger=f"acta:{marker.id}"), 1), timeout=60)
    again = notifications.GetNotification(npb.GetNotificationRequest(message_key=sent.message_key), metadata=GESTOR)
    assert list(again.attempts) == list(sent.attempts)  # nothing sent twice


def test_an_ad_hoc_reminder_reaches_a_family_and_the_log_answers_by_recipient(
    stand_ins: None, notifications: Any, beneficiaries: Any, family: pb.Family
) -> None:
    head = with_consent(beneficiaries, family, "3005550301", relationship="head")
    prefix = f"reunion-{uuid.uuid4().hex[:8]}"
    request = npb.SendRequest(
        family_id=family.id,
        template="recordatorio_reunion",
        variables={"fecha": "sábado 21 de noviembre", "hora": "9:00", "lugar": "Casa comunal", "tema": "la huerta"},
        message_key_prefix=prefix,
    )
    first = notifications.Send(request, metadata=GESTOR)
    again = notifications.Send(request, metadata=GESTOR)
    trigger = f"envio:gestor.test:{prefix}"  # keys are scoped by the caller (GESTOR)
    assert first.trigger == trigger and list(first.message_keys) == [f"{trigger}:{head.id}"]
    assert first.queued == 1 and again.queued == 0
    (done,) = eventually(lambda: final(deliveries(notifications, recipient_id=head.id), 1), timeout=60)
    assert done.status == "delivered" and done.trigger == trigger


def test_send_without_a_key_prefix_is_refused_naming_the_field(notifications: Any) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        notifications.Send(npb.SendRequest(family_id="x", template="recordatorio_reunion"), metadata=GESTOR)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "message_key_prefix" in field_errors(refused.value)


def test_the_running_service_records_a_sealed_acta_for_each_participant(
    notifications: Any, actas: Any, beneficiaries: Any, family: pb.Family
) -> None:
    """Whatever channels are configured, every participant gets a record with an outcome."""
    ana = with_consent(beneficiaries, family, "3005550401", relationship="head")
    acta = seal(actas, family, [ana])
    (done,) = eventually(lambda: settled(deliveries(notifications, trigger=f"acta:{acta.id}"), 1), timeout=60)
    assert done.message_key == f"acta_sealed:{acta.id}:{ana.id}" and done.status in {"sent", "delivered", "failed"}
    assert done.status != "failed" or done.reason
