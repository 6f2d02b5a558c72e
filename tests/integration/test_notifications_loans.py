"""Microcredit messages through the running ``crm-notifications`` process, on the
real stack (RabbitMQ, SecantusDB, the beneficiaries service, the SMS and WhatsApp
stand-ins reporting deliveries to the gateway's webhooks).

Most tests publish the income service's events as its close of business publishes
them (contract-checked, on the ``income`` exchange), so each names its own loan and
due dates. The last one goes the whole way: two loans through the income service's
gRPC API and a close of business, on a day long past (a close ages every active
loan of the shared stack, and only loans due around that day change, so the
other tests' loans are left alone)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import grpc
import pytest

from crm_platform.messaging import EventPublisher
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as pb
from crm_platform.proto_gen.crm.income.v1 import income_pb2 as ipb
from crm_platform.proto_gen.crm.income.v1 import income_pb2_grpc as ipb_grpc
from crm_platform.proto_gen.crm.income.v1 import loans_pb2 as lpb
from crm_platform.proto_gen.crm.income.v1 import loans_pb2_grpc as lpb_grpc
from crm_platform.proto_gen.crm.notifications.v1 import notifications_pb2 as npb
from crm_platform.proto_gen.crm.notifications.v1 import notifications_pb2_grpc as npb_grpc
from devstack.infra import Stack
from tests.helpers import COORDINATOR, GESTOR, eventually
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


# -- the whole way: loans and a close of business in the income service ---------------------
CLOSED_DAY = date(2025, 3, 5)  # long past: see the module's docstring


@pytest.fixture(scope="module")
def income_channel(stack: Stack) -> Iterator[grpc.Channel]:
    channel = grpc.insecure_channel(stack.env["INCOME_GRPC"])
    yield channel
    channel.close()


def disbursed(
    loans: Any, unit: ipb.ProductiveUnit, borrower: pb.Beneficiary, product: str, on: date, first: date
) -> str:
    loan = loans.CreateLoan(
        lpb.CreateLoanRequest(unit_id=unit.id, borrower_id=borrower.id, product_code=product, principal="400000"),
        metadata=GESTOR,
    )
    loan = loans.ApproveLoan(
        lpb.LoanDecisionRequest(loan_id=loan.id, expected_revision=loan.revision), metadata=COORDINATOR
    )
    loan = loans.DisburseLoan(
        lpb.DisburseRequest(
            loan_id=loan.id, on=on.isoformat(), first_due_on=first.isoformat(), expected_revision=loan.revision
        ),
        metadata=COORDINATOR,
    )
    assert loan.status == "activo"
    return str(loan.id)


def test_a_close_of_business_reminds_the_borrower_of_a_due_installment_and_tells_her_of_an_overdue_one(
    income_channel: grpc.Channel, notifications: Any, beneficiaries: Any, family: pb.Family
) -> None:
    income, loans = ipb_grpc.IncomeServiceStub(income_channel), lpb_grpc.LoansServiceStub(income_channel)
    marta = with_consent(beneficiaries, family, "3005550505", relationship="head")
    unit = income.RegisterUnit(
        ipb.RegisterUnitRequest(
            name=f"Tienda {uuid.uuid4().hex[:4]}", family_id=family.id, owner_ids=[marta.id],
            community_id=family.community_id, sector="comercio", kind="emprendimiento",
        ),
        metadata=GESTOR,
    )  # fmt: skip
    code = f"sem{uuid.uuid4().hex[:6]}"
    loans.CreateProduct(
        lpb.LoanProduct(
            code=code, name="Microcrédito semanal", frequency="semanal", installments=4, annual_rate="24",
            reminder_days=3,
        ),
        metadata=COORDINATOR,
    )  # fmt: skip
    day = CLOSED_DAY
    soon = disbursed(loans, unit, marta, code, day - timedelta(days=5), day + timedelta(days=2))
    late = disbursed(loans, unit, marta, code, day - timedelta(days=40), day - timedelta(days=33))

    closed = loans.CloseBusinessDay(lpb.CloseBusinessRequest(date=day.isoformat()), metadata=COORDINATOR)
    assert closed.reminders >= 1 and closed.became_overdue >= 1

    (reminder,) = eventually(lambda: final(deliveries(notifications, trigger=f"prestamo:{soon}"), 1), timeout=60)
    assert reminder.message_key == f"loan_repayment_due:{soon}:1:{(day + timedelta(days=2)).isoformat()}:{marta.id}"
    assert reminder.template == "recordatorio_pago" and reminder.status == "delivered"
    (notice,) = eventually(lambda: final(deliveries(notifications, trigger=f"prestamo:{late}"), 1), timeout=60)
    assert notice.message_key == f"loan_became_overdue:{late}:{day.isoformat()}:{marta.id}"
    assert notice.template == "cuota_vencida" and notice.status == "delivered"

    again = loans.CloseBusinessDay(lpb.CloseBusinessRequest(date=day.isoformat()), metadata=COORDINATOR)
    assert again.loans_changed == 0  # the same day closed twice emits nothing
    assert len(deliveries(notifications, recipient_id=marta.id)) == 2
