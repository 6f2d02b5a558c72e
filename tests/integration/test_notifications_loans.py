"""Microcredit messages through the running ``crm-notifications`` process, on the
real stack (RabbitMQ, SecantusDB, the beneficiaries service, the SMS and WhatsApp
stand-ins reporting deliveries to the gateway's webhooks).

The income service's events are published as its close of business publishes them
(contract-checked, on the ``income`` exchange), so each test names its own loan
and due dates: a close of business over the shared stack would age every other
test's loans and close their days."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from crm_platform.messaging import EventPublisher
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as pb
from crm_platform.proto_gen.crm.notifications.v1 import notifications_pb2 as npb
from crm_platform.proto_gen.crm.notifications.v1 import notifications_pb2_grpc as npb_grpc
from devstack.infra import Stack
from tests.helpers import GESTOR, eventually
from tests.integration.test_notifications_service import deliveries, final, settled, with_consent

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def notifications(stack: Stack) -> Iterator[npb_grpc.NotificationsServiceStub]:
    channel = grpc.insecure_channel(stack.env["NOTIFICATIONS_GRPC"])
    yield npb_grpc.NotificationsServiceStub(channel)
    channel.close()


@pytest.fixture
def income_events(stack: Stack) -> Iterator[EventPublisher]:
    assert stack.env.get("WHATSAPP_BASE_URL"), "devstack must start the WhatsApp/SMS stand-ins"
    publisher = EventPublisher(stack.env["AMQP_URI"], "income")
    yield publisher
    publisher.close()


def identity(loan_id: str, person: pb.Beneficiary) -> dict[str, Any]:
    return {
        "loan_id": loan_id,
        "unit_id": f"up-{loan_id[:6]}",
        "family_id": person.family_id,
        "borrower_id": person.id,
        "owner_ids": [person.id],
        "community_id": "com-1",
        "occurred_at": "2027-01-02T05:00:00+00:00",
    }


def repayment_due(loan_id: str, person: pb.Beneficiary, installment: int = 1) -> dict[str, Any]:
    due = f"2027-0{installment}-05"
    return {**identity(loan_id, person), "installment": installment, "due_date": due, "amount_due": "1234567"}


def became_overdue(loan_id: str, person: pb.Beneficiary) -> dict[str, Any]:
    return {
        **identity(loan_id, person),
        "as_of": "2027-01-17",
        "oldest_unpaid_due": "2027-01-05",
        "days_past_due": 12,
        "overdue_amount": "85000",
    }


def test_a_repayment_reminder_reaches_the_borrower_once_on_the_channel_they_prefer(
    income_events: EventPublisher, notifications: Any, beneficiaries: Any, family: pb.Family
) -> None:
    ana = with_consent(
        beneficiaries, family, "3005550501", relationship="head", email="ana@example.org", contact_channels=["sms"]
    )
    loan_id = uuid.uuid4().hex
    trigger = f"prestamo:{loan_id}"
    income_events.publish("loan_repayment_due", repayment_due(loan_id, ana), event_id=uuid.uuid4().hex)

    (done,) = eventually(lambda: final(deliveries(notifications, trigger=trigger), 1), timeout=60)
    assert done.message_key == f"loan_repayment_due:{loan_id}:1:2027-01-05:{ana.id}"
    assert done.recipient_id == ana.id and done.template == "recordatorio_pago" and done.status == "delivered"
    # SMS only (her choice), sent once and reported delivered by the stand-in.
    assert [(a.channel, a.outcome) for a in done.attempts] == [("sms", "sent"), ("sms", "delivered")]

    # The same event again (at-least-once delivery), then the next installment's
    # reminder on the same queue, handled after it.
    income_events.publish("loan_repayment_due", repayment_due(loan_id, ana), event_id=uuid.uuid4().hex)
    income_events.publish("loan_repayment_due", repayment_due(loan_id, ana, 2), event_id=uuid.uuid4().hex)
    both = eventually(lambda: settled(deliveries(notifications, trigger=trigger), 2), timeout=60)
    assert sorted(n.message_key for n in both) == [
        f"loan_repayment_due:{loan_id}:1:2027-01-05:{ana.id}",
        f"loan_repayment_due:{loan_id}:2:2027-02-05:{ana.id}",
    ]
    again = notifications.GetNotification(npb.GetNotificationRequest(message_key=done.message_key), metadata=GESTOR)
    assert list(again.attempts) == list(done.attempts)  # nothing sent twice


def test_a_borrower_without_consent_is_skipped_with_the_reason(
    income_events: EventPublisher, notifications: Any, beneficiaries: Any, family: pb.Family
) -> None:
    luis = with_consent(beneficiaries, family, "3005550502", consent=False, relationship="spouse")
    loan_id = uuid.uuid4().hex
    income_events.publish("loan_repayment_due", repayment_due(loan_id, luis), event_id=uuid.uuid4().hex)
    income_events.publish("loan_became_overdue", became_overdue(loan_id, luis), event_id=uuid.uuid4().hex)

    found = eventually(lambda: settled(deliveries(notifications, trigger=f"prestamo:{loan_id}"), 2), timeout=60)
    assert sorted(n.template for n in found) == ["cuota_vencida", "recordatorio_pago"]
    for record in found:
        assert record.status == "skipped" and record.reason == "Sin consentimiento para notificaciones"
        assert not [a for a in record.attempts if a.outcome == "sent"]


def test_an_overdue_event_sends_the_overdue_notice_to_the_borrower_alone(
    income_events: EventPublisher, notifications: Any, beneficiaries: Any, family: pb.Family
) -> None:
    rosa = with_consent(beneficiaries, family, "3005550503", relationship="head")
    partner = with_consent(beneficiaries, family, "3005550504", relationship="spouse")
    loan_id = uuid.uuid4().hex
    event = {**became_overdue(loan_id, rosa), "owner_ids": [rosa.id, partner.id]}
    income_events.publish("loan_became_overdue", event, event_id=uuid.uuid4().hex)

    (done,) = eventually(lambda: final(deliveries(notifications, trigger=f"prestamo:{loan_id}"), 1), timeout=60)
    assert done.message_key == f"loan_became_overdue:{loan_id}:2027-01-17:{rosa.id}"
    assert done.template == "cuota_vencida" and done.status == "delivered"
    assert [(a.channel, a.outcome) for a in done.attempts] == [("whatsapp", "sent"), ("whatsapp", "delivered")]
    assert deliveries(notifications, recipient_id=partner.id) == []  # a co-owner hears nothing of it
