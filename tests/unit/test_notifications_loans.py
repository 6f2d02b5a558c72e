"""Microcredit messages without I/O: the ``recordatorio_pago`` and ``cuota_vencida``
templates (real rendering, every channel), the COP and date formats, and the
recipient rules over the in-memory fakes: the borrower alone, one record per
event identity, consent and channel preference as for every other message."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from crm_platform.service import subscriptions_of
from services.notifications.domain.errors import MissingVariables
from services.notifications.domain.model import ChannelName, DeliveryStatus
from services.notifications.domain.templates import pesos, render, short_date, sms_segments
from services.notifications.entrypoints.main import subscriptions
from services.notifications.service_layer.handlers import NotificationHandlers, scoped_trigger
from services.notifications.service_layer.loans import OVERDUE_TEMPLATE, REMINDER_TEMPLATE
from services.notifications.service_layer.ports import Contact
from tests.unit.notifications_fakes import handlers

WA, SMS, EMAIL = ChannelName.WHATSAPP, ChannelName.SMS, ChannelName.EMAIL
LOAN = "3f2a9c1b00d24e6f8a1b2c3d4e5f6a7b"
ANA = Contact("p1", "Ana Epiayú", "300 123 4567", "ana@example.org", True)
LUIS = Contact("p2", "Luis Uriana", "3011234567", "luis@example.org", False)  # no consent
JUANA = Contact("p5", "Juana Pushaina", "3001112233", "juana@example.org", True, ("sms", "email"))
REMINDER = {"nombre": "Ana Díaz", "credito": "3F2A9C1B", "cuota": "3", "fecha_pago": "05/01/2027", "valor": "$ 150.000"}
OVERDUE = {"nombre": "Ana Díaz", "credito": "3F2A9C1B", "dias": "12", "valor": "$ 85.000"}
# What the borrower's household must not read in an SMS on a shared phone.
ALARMING = ("vencid", "mora", "moros", "deuda", "cobro", "embargo", "report", "castig")


def due(
    borrower: str = "p1", installment: int = 3, due_date: str = "2027-01-05", amount: str = "150000"
) -> dict[str, Any]:
    return {
        "loan_id": LOAN,
        "unit_id": "u1",
        "family_id": "f1",
        "borrower_id": borrower,
        "owner_ids": [borrower, "p9"],
        "community_id": "c1",
        "occurred_at": "2027-01-02T05:00:00+00:00",
        "installment": installment,
        "due_date": due_date,
        "amount_due": amount,
        "event_id": "ev1",
    }


def overdue(borrower: str = "p1", as_of: str = "2027-01-17", days: int = 12, amount: str = "85000") -> dict[str, Any]:
    return {
        **{k: v for k, v in due(borrower).items() if k not in ("installment", "due_date", "amount_due")},
        "as_of": as_of,
        "oldest_unpaid_due": "2027-01-05",
        "days_past_due": days,
        "overdue_amount": amount,
    }


def real(contacts: list[Contact]) -> NotificationHandlers:
    h = handlers(contacts)
    h.render = render  # the real templates, not the fake renderer
    return h


def sent(h: NotificationHandlers, name: ChannelName) -> list[Any]:
    return list(h.channels[name].sent)  # type: ignore[attr-defined]


# -- formats ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("1234567", "$ 1.234.567"),
        ("150000", "$ 150.000"),
        ("999", "$ 999"),
        ("0", "$ 0"),
        ("1000", "$ 1.000"),
        ("1e6", "$ 1.000.000"),
        ("2500.5", "$ 2.500"),  # half-even: COP has no cents
        ("2501.5", "$ 2.502"),
        ("-5000", "-$ 5.000"),
        ("1000000000000", "$ 1.000.000.000.000"),
    ],
)
def test_pesos_are_written_with_dots_for_thousands_and_no_decimals(amount: str, text: str) -> None:
    assert pesos(amount) == text


@pytest.mark.parametrize("garbage", ["", "abc", None, "NaN", "Infinity"])
def test_an_unreadable_amount_is_empty_so_rendering_names_it_missing(garbage: object) -> None:
    assert pesos(garbage) == ""


def test_due_dates_are_dd_mm_yyyy_and_a_non_date_is_empty() -> None:
    assert short_date("2027-01-05") == "05/01/2027"
    assert short_date("2026-12-31T05:00:00+00:00") == "31/12/2026"
    assert short_date("05/01/2027") == "" and short_date("") == "" and short_date(None) == ""


# -- templates ----------------------------------------------------------------------
def test_the_reminder_email_names_the_installment_the_date_and_the_amount() -> None:
    message = render(REMINDER_TEMPLATE, EMAIL, "ana@example.org", "k", REMINDER)
    assert message.subject == "Recordatorio de pago: cuota 3 de su crédito, 05/01/2027"
    assert message.text.startswith(
        "Hola Ana Díaz, le recordamos que la cuota 3 de su crédito 3F2A9C1B vence el 05/01/2027. "
        "Valor de la cuota: $ 150.000. Si ya la pagó, no tenga en cuenta este mensaje."
    )


def test_the_reminder_on_whatsapp_carries_the_approved_parameters_in_order() -> None:
    message = render(REMINDER_TEMPLATE, WA, "3001234567", "k", REMINDER)
    assert message.template == "recordatorio_pago" and message.to == "+573001234567"
    assert message.parameters == ("Ana Díaz", "3", "3F2A9C1B", "05/01/2027", "$ 150.000")


def test_the_overdue_notice_says_cuota_vencida_with_the_days_and_the_amount_overdue() -> None:
    email = render(OVERDUE_TEMPLATE, EMAIL, "ana@example.org", "k", OVERDUE)
    whatsapp = render(OVERDUE_TEMPLATE, WA, "3001234567", "k", OVERDUE)
    assert email.subject == "Cuota vencida de su crédito 3F2A9C1B"
    assert "tiene una cuota vencida hace 12 días. Valor vencido: $ 85.000." in email.text
    assert whatsapp.parameters == ("Ana Díaz", "3F2A9C1B", "12", "$ 85.000")


@pytest.mark.parametrize(("template", "values"), [(REMINDER_TEMPLATE, REMINDER), (OVERDUE_TEMPLATE, OVERDUE)])
def test_the_sms_is_short_neutral_and_still_says_what_to_pay(template: str, values: dict[str, str]) -> None:
    message = render(template, SMS, "3001234567", "k", values)
    lowered = message.text.lower()
    assert values["valor"] in message.text and values["nombre"] in message.text
    assert not [word for word in ALARMING if word in lowered]
    assert "3F2A9C1B" not in message.text  # the loan's reference stays out of a shared inbox
    assert sms_segments(message.text) <= 2


@pytest.mark.parametrize("template", [REMINDER_TEMPLATE, OVERDUE_TEMPLATE])
def test_a_loan_message_without_its_amount_is_not_rendered(template: str) -> None:
    values = {**(REMINDER if template == REMINDER_TEMPLATE else OVERDUE), "valor": pesos("n/a")}
    with pytest.raises(MissingVariables) as raised:
        render(template, WA, "3001234567", "k", values)
    assert list(raised.value.names) == ["valor"]


# -- recipients ---------------------------------------------------------------------
def test_a_repayment_due_queues_one_reminder_to_the_borrower_alone() -> None:
    h = real([ANA])
    queued = h.on_loan_repayment_due(due())
    key = f"loan_repayment_due:{LOAN}:3:2027-01-05:p1"
    assert queued.message_keys == [key] and queued.new == 1  # not the co-owner p9
    record = h.notification(key)
    assert record.template == REMINDER_TEMPLATE and record.trigger == f"prestamo:{LOAN}"
    assert record.variables == {"credito": "3F2A9C1B", "cuota": "3", "fecha_pago": "05/01/2027", "valor": "$ 150.000"}
    assert h.dispatch_due() == 1
    (message,) = sent(h, WA)
    assert message.to == "+573001234567" and message.parameters[0] == "Ana Epiayú"
    assert h.notification(key).status == DeliveryStatus.SENT


def test_a_redelivered_reminder_queues_and_sends_nothing_new() -> None:
    h = real([ANA])
    h.on_loan_repayment_due(due())
    h.dispatch_due()
    again = h.on_loan_repayment_due({**due(), "event_id": "ev2"})
    assert again.new == 0 and h.dispatch_due() == 0
    assert len(sent(h, WA)) == 1


def test_a_rescheduled_installment_and_the_next_one_each_get_their_reminder() -> None:
    h = real([ANA])
    h.on_loan_repayment_due(due())
    assert h.on_loan_repayment_due(due(due_date="2027-02-05")).new == 1  # same number, new due date
    assert h.on_loan_repayment_due(due(installment=4, due_date="2027-02-05")).new == 1
    assert len(h.deliveries(trigger=f"prestamo:{LOAN}")) == 3


def test_a_borrower_without_consent_is_skipped_with_the_reason() -> None:
    h = real([LUIS])
    h.on_loan_repayment_due(due("p2"))
    h.on_loan_became_overdue(overdue("p2"))
    assert h.dispatch_due() == 2
    assert not sent(h, WA) and not sent(h, SMS) and not sent(h, EMAIL)
    for record in h.deliveries(trigger=f"prestamo:{LOAN}"):
        assert record.status == DeliveryStatus.SKIPPED and record.reason == "Sin consentimiento para notificaciones"


def test_an_unknown_borrower_fails_with_the_reason_and_an_event_without_one_queues_nothing() -> None:
    h = real([])
    h.on_loan_repayment_due(due("p404"))
    h.dispatch_due()
    (record,) = h.deliveries(recipient_id="p404")
    assert record.status == DeliveryStatus.FAILED and record.reason == "Destinatario desconocido"
    assert h.on_loan_became_overdue(overdue("  ")).message_keys == []


def test_a_borrower_who_prefers_sms_gets_the_neutral_sms() -> None:
    h = real([JUANA])
    h.on_loan_became_overdue(overdue("p5"))
    h.dispatch_due()
    (message,) = sent(h, SMS)
    assert message.to == "+573001112233" and not sent(h, WA)
    assert message.text == (
        "Hola Juana Pushaina, tiene un pago pendiente de $ 85.000 desde hace 12 días. "
        "Si ya pagó, omita este mensaje. Su asesor puede ayudarle."
    )


def test_an_overdue_event_queues_one_notice_per_close_that_found_the_loan_overdue() -> None:
    h = real([ANA])
    first = h.on_loan_became_overdue(overdue())
    assert first.message_keys == [f"loan_became_overdue:{LOAN}:2027-01-17:p1"] and first.new == 1
    assert h.on_loan_became_overdue(overdue()).new == 0  # redelivered
    assert h.on_loan_became_overdue(overdue(as_of="2027-03-01", days=5)).new == 1  # cured, then late again
    record = h.notification(first.message_keys[0])
    assert record.template == OVERDUE_TEMPLATE
    assert record.variables == {"credito": "3F2A9C1B", "dias": "12", "valor": "$ 85.000"}
    h.dispatch_due()
    assert [m.parameters for m in sent(h, WA)] == [
        ("Ana Epiayú", "3F2A9C1B", "12", "$ 85.000"),
        ("Ana Epiayú", "3F2A9C1B", "5", "$ 85.000"),
    ]


def test_a_loan_trigger_is_a_full_trigger_for_every_caller() -> None:
    assert scoped_trigger("ana", f"prestamo:{LOAN}") == f"prestamo:{LOAN}"
    assert scoped_trigger("ana", "reunion-1") == "envio:ana:reunion-1"


def test_the_process_consumes_the_two_loan_events_beside_acta_sealed() -> None:
    subs = subscriptions_of(subscriptions(SimpleNamespace(handlers=real([ANA]))))  # type: ignore[arg-type]
    assert [(s.source, s.event_type, s.required) for s in subs] == [
        ("actas", "acta_sealed", "acta_id"),
        ("income", "loan_repayment_due", "loan_id"),
        ("income", "loan_became_overdue", "loan_id"),
    ]
    assert subs[1].handle(due()) == {"crm.notifications.queued": 1}
    assert subs[2].handle(overdue()) == {"crm.notifications.queued": 1}
