"""The notifications use cases over in-memory fakes: consent, fallback between
channels, idempotency by message key, retries with backoff then dead-letter,
rendering and phone errors recorded as reasons, and the delivery log."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import timedelta

import pytest

from services.notifications.adapters.ratelimit import ChannelRateLimits, TokenBucket, parse_rate
from services.notifications.domain.model import (
    ChannelName,
    DeliveryStatus,
    Notification,
    PermanentFailure,
    TransientFailure,
    WebhookMalformed,
    WebhookRejected,
)
from services.notifications.domain.templates import render
from services.notifications.service_layer.handlers import (
    ACTA_TEMPLATE,
    NOTIFICATIONS,
    RESTRICTED_ACTA_TEMPLATE,
    Audience,
    InvalidRequest,
    KeyConflict,
    NotFound,
)
from services.notifications.service_layer.ports import Contact
from tests.unit.notifications_fakes import (
    FakeDirectory,
    FakeLog,
    OpenLimiter,
    ReportingScriptedChannel,
    ScriptedChannel,
    StepClock,
    handlers,
    webhook,
)

WA, SMS, EMAIL = ChannelName.WHATSAPP, ChannelName.SMS, ChannelName.EMAIL
ANA = Contact("p1", "Ana Epiayú", "300 123 4567", "ana@example.org", True)
LUIS = Contact("p2", "Luis Uriana", "3011234567", "", False)  # withdrew consent
RITA = Contact("p3", "Rita Pushaina", "", "rita@example.org", True)  # no phone


def sealed(acta_id: str = "a1", *ids: str) -> dict[str, object]:
    return {
        "acta_id": acta_id,
        "title": "Acta de visita domiciliaria",
        "captured_at": "2026-11-20T23:30:00.000+00:00",
        "participants": [{"beneficiary_id": i, "family_id": "f1"} for i in (ids or ("p1", "p2"))],
        "event_id": "ev1",
    }


def channels(script: Mapping[ChannelName, Mapping[str, Sequence[Exception]]] | None = None) -> list[ScriptedChannel]:
    script = script or {}
    return [
        ReportingScriptedChannel(WA, script.get(WA)),
        ReportingScriptedChannel(SMS, script.get(SMS)),
        ScriptedChannel(EMAIL, script.get(EMAIL)),
    ]


def log_of(h: object) -> FakeLog:
    found = h.log  # type: ignore[attr-defined]
    assert isinstance(found, FakeLog)
    return found


def channel(h: object, name: ChannelName) -> ScriptedChannel:
    found = h.channels[name]  # type: ignore[attr-defined]
    assert isinstance(found, ScriptedChannel)
    return found


def test_an_acta_sealed_queues_one_message_per_participant_with_the_link_to_the_acta() -> None:
    h = handlers([ANA, LUIS])
    queued = h.on_acta_sealed(sealed())
    assert queued.message_keys == ["acta_sealed:a1:p1", "acta_sealed:a1:p2"] and queued.new == 2
    record = h.notification("acta_sealed:a1:p1")
    assert record.status == DeliveryStatus.QUEUED and record.template == ACTA_TEMPLATE
    assert record.trigger == "acta:a1" and record.variables["enlace"] == "https://crm.example/verificar/a1"
    assert record.variables["fecha"] == "20 de noviembre de 2026"  # the day in Colombia, not in UTC


def test_a_restricted_actas_message_never_names_its_type_on_any_channel() -> None:
    # A psychosocial intervention: a shared family phone must not read its title.
    h = handlers([ANA])
    h.render = render  # the real templates, not the fake renderer
    payload = {**sealed("a9", "p1"), "title": "Acta de intervención psicosocial"}
    payload["template_key"] = "intervencion_psicosocial@1"

    h.on_acta_sealed(payload)
    record = h.notification("acta_sealed:a9:p1")
    assert record.template == RESTRICTED_ACTA_TEMPLATE and "titulo" not in record.variables  # not even stored
    assert h.dispatch_due() == 1

    (whatsapp,) = channel(h, WA).sent
    sms = render(record.template, SMS, ANA.phone, record.message_key, {**record.variables, "nombre": ANA.name})
    email = render(record.template, EMAIL, ANA.email, record.message_key, {**record.variables, "nombre": ANA.name})
    assert whatsapp.template == "acta_registrada"
    assert whatsapp.parameters == ("Ana Epiayú", "20 de noviembre de 2026", "https://crm.example/verificar/a9")
    assert email.subject == "Se registró un acta de su proceso de acompañamiento"
    for text in (whatsapp.text, sms.text, email.subject, email.text):
        assert "se registró un acta de su proceso de acompañamiento" in text.lower()
    for text in (whatsapp.text, sms.text, email.subject, email.text, *whatsapp.parameters):
        assert "psicosocial" not in text.lower() and "intervención" not in text.lower()


def test_an_unrestricted_acta_keeps_its_title() -> None:
    h = handlers([ANA])
    h.on_acta_sealed({**sealed("a1", "p1"), "template_key": "visita_domiciliaria@1"})
    record = h.notification("acta_sealed:a1:p1")
    assert record.template == ACTA_TEMPLATE and record.variables["titulo"] == "Acta de visita domiciliaria"


def test_whatsapp_goes_to_participants_with_consent_and_none_to_those_without() -> None:
    h = handlers([ANA, LUIS])
    h.on_acta_sealed(sealed())
    assert h.dispatch_due() == 2
    (message,) = channel(h, WA).sent
    assert message.to == "+573001234567" and message.template == "acta_sellada"
    assert message.parameters == ("Ana Epiayú", "https://crm.example/verificar/a1")
    assert "20 de noviembre de 2026" in message.text
    sent, skipped = h.notification("acta_sealed:a1:p1"), h.notification("acta_sealed:a1:p2")
    assert sent.status == DeliveryStatus.SENT and sent.attempts[0].provider_message_id == "whatsapp-1"
    assert skipped.status == DeliveryStatus.SKIPPED and "consentimiento" in skipped.reason
    assert [e["payload"]["message_key"] for e in log_of(h).events("notification_sent")] == ["acta_sealed:a1:p1"]
    assert h.relay.flushed == [(NOTIFICATIONS, "acta_sealed:a1:p1")]  # type: ignore[attr-defined]


def test_a_redelivered_acta_sealed_sends_nothing_twice() -> None:
    h = handlers([ANA])
    h.on_acta_sealed(sealed("a1", "p1"))
    h.dispatch_due()
    again = h.on_acta_sealed(sealed("a1", "p1"))
    assert again.new == 0 and h.dispatch_due() == 0
    assert len(channel(h, WA).sent) == 1


def test_a_permanent_whatsapp_failure_falls_back_to_sms_then_email() -> None:
    dead = {"+573001234567": [PermanentFailure("número sin WhatsApp")]}
    h = handlers([ANA], channels({WA: dead, SMS: {"+573001234567": [PermanentFailure("número inválido")]}}))
    h.on_acta_sealed(sealed("a1", "p1"))
    h.dispatch_due()
    done = h.notification("acta_sealed:a1:p1")
    assert done.status == DeliveryStatus.SENT
    assert [(a.channel, a.outcome) for a in done.attempts] == [(WA, "permanent"), (SMS, "permanent"), (EMAIL, "sent")]
    assert channel(h, EMAIL).sent[0].to == "ana@example.org"


def test_a_person_who_prefers_sms_gets_sms_and_never_a_channel_they_did_not_choose() -> None:
    sms_then_email = Contact("p5", "Juana Pushaina", "3001112233", "juana@example.org", True, ("sms", "email"))
    h = handlers([sms_then_email], channels({SMS: {"+573001112233": [PermanentFailure("21614 no es un móvil")]}}))
    h.on_acta_sealed(sealed("a1", "p5"))
    h.dispatch_due()
    done = h.notification("acta_sealed:a1:p5")
    assert [(a.channel, a.outcome) for a in done.attempts] == [(SMS, "permanent"), (EMAIL, "sent")]
    assert channel(h, WA).calls == 0  # WhatsApp is not among her channels


def test_a_preference_naming_no_channel_we_know_falls_back_to_the_default_order() -> None:
    odd = Contact("p6", "Aurelio Ipuana", "3001112244", "", True, ("fax",))
    h = handlers([odd])
    h.on_acta_sealed(sealed("a1", "p6"))
    h.dispatch_due()
    assert [a.channel for a in h.notification("acta_sealed:a1:p6").attempts] == [WA]


def test_when_every_channel_fails_permanently_the_message_fails_with_each_reason() -> None:
    h = handlers([RITA], channels({EMAIL: {"rita@example.org": [PermanentFailure("550 buzón inexistente")]}}))
    h.on_acta_sealed(sealed("a1", "p3"))
    h.dispatch_due()
    done = h.notification("acta_sealed:a1:p3")
    assert done.status == DeliveryStatus.FAILED and "550 buzón inexistente" in done.reason
    (failed,) = log_of(h).events("notification_failed")
    assert failed["payload"]["reason"] == done.reason


def test_a_transient_failure_is_retried_with_backoff_honouring_retry_after() -> None:
    throttled = {"+573001234567": [TransientFailure("429", retry_after=30), TransientFailure("503")]}
    h = handlers([ANA], channels({WA: throttled}))
    clock = h.clock
    assert isinstance(clock, StepClock)
    h.on_acta_sealed(sealed("a1", "p1"))
    h.dispatch_due()
    waiting = h.notification("acta_sealed:a1:p1")
    assert waiting.status == DeliveryStatus.QUEUED and waiting.reason == "429"
    assert waiting.next_attempt_at == clock.moment + timedelta(seconds=30)
    clock.advance(29)
    assert h.dispatch_due() == 0  # not before the provider's Retry-After
    clock.advance(1)
    h.dispatch_due()  # 503: backoff 2**2 = 4 s
    clock.advance(4)
    h.dispatch_due()
    done = h.notification("acta_sealed:a1:p1")
    assert done.status == DeliveryStatus.SENT and [a.outcome for a in done.attempts] == ["transient"] * 2 + ["sent"]
    assert len(channel(h, WA).sent) == 1


def test_transient_failures_beyond_the_policy_limit_end_failed_with_the_reason() -> None:
    outage = {"+573001234567": [TransientFailure("timeout")] * 5}
    h = handlers([ANA], channels({WA: outage}), retry_limit=3)
    clock = h.clock
    assert isinstance(clock, StepClock)
    h.on_acta_sealed(sealed("a1", "p1"))
    for _ in range(5):
        h.dispatch_due()
        clock.advance(600)
    done = h.notification("acta_sealed:a1:p1")
    assert done.status == DeliveryStatus.FAILED and "Reintentos agotados (3): timeout" in done.reason
    assert channel(h, WA).calls == 3 and not channel(h, SMS).sent  # transient: no fallback
    assert len(log_of(h).events("notification_failed")) == 1


def test_an_adapter_that_raises_something_unexpected_loses_nothing() -> None:
    garbage = {"+573001234567": [ValueError("Expecting value: line 1 column 1")]}
    h = handlers([ANA], channels({WA: garbage}))
    h.on_acta_sealed(sealed("a1", "p1"))
    h.dispatch_due()
    waiting = h.notification("acta_sealed:a1:p1")
    assert waiting.status == DeliveryStatus.QUEUED and "ValueError" in waiting.attempts[0].detail


def test_rendering_errors_are_recorded_and_nothing_is_sent_half_filled() -> None:
    h = handlers([ANA])
    h.on_acta_sealed({**sealed("a1", "p1"), "captured_at": "no es una fecha"})  # "fecha" cannot be filled
    now = h.clock.now()  # and a record queued before its template was withdrawn
    h.log.add(Notification("antigua:1:p1", "p1", "plantilla_retirada", {}, "rpc:antigua", now, next_attempt_at=now))
    h.dispatch_due()
    missing, unknown = h.notification("acta_sealed:a1:p1"), h.notification("antigua:1:p1")
    assert missing.status == DeliveryStatus.FAILED and "fecha" in missing.reason
    assert unknown.status == DeliveryStatus.FAILED and "plantilla_retirada" in unknown.reason
    assert not any(channel(h, c).calls for c in (WA, SMS, EMAIL))


REMINDER = {"fecha": "sábado 21", "hora": "9:00", "lugar": "Casa comunal", "tema": "la huerta"}


def test_an_ad_hoc_send_with_an_unknown_template_or_missing_variables_is_refused_before_queueing() -> None:
    h = handlers([ANA])
    with pytest.raises(InvalidRequest) as unknown:
        h.send(Audience(recipient_ids=("p1",)), "no_existe", {}, "otra-1", "ana")
    assert "no_existe" in unknown.value.fields["template"]
    with pytest.raises(InvalidRequest) as missing:
        h.send(
            Audience(recipient_ids=("p1",)), "recordatorio_reunion", {"fecha": "sábado 21", "hora": " "}, "r-1", "ana"
        )
    # every absent or blank one, but not "nombre", which each recipient's record fills in
    assert missing.value.fields["variables"].endswith("hora, lugar, tema")
    assert log_of(h).rows == {}


def test_an_invalid_phone_is_recorded_and_email_is_used_instead() -> None:
    odd = Contact("p4", "Eva", "12345", "eva@example.org", True)
    only_phone = Contact("p5", "Juan", "abc", "", True)
    h = handlers([odd, only_phone])
    h.on_acta_sealed(sealed("a1", "p4", "p5"))
    h.dispatch_due()
    assert h.notification("acta_sealed:a1:p4").attempts[0].channel == EMAIL
    failed = h.notification("acta_sealed:a1:p5")
    assert failed.status == DeliveryStatus.FAILED and "Teléfono inválido (abc)" in failed.reason


def test_an_unreachable_directory_postpones_the_message_without_counting_an_attempt() -> None:
    h = handlers([ANA])
    directory = h.directory
    assert isinstance(directory, FakeDirectory)
    h.on_acta_sealed(sealed("a1", "p1"))
    directory.down = True
    h.dispatch_due()
    waiting = h.notification("acta_sealed:a1:p1")
    assert waiting.status == DeliveryStatus.QUEUED and not waiting.attempts and "Directorio" in waiting.reason


def test_a_rate_limited_channel_postpones_without_an_attempt() -> None:
    h = handlers([ANA], limiter=OpenLimiter([WA]))
    h.on_acta_sealed(sealed("a1", "p1"))
    h.dispatch_due()
    waiting = h.notification("acta_sealed:a1:p1")
    assert waiting.status == DeliveryStatus.QUEUED and not waiting.attempts


def test_an_ad_hoc_reminder_reaches_every_member_of_a_family_and_is_idempotent_by_key() -> None:
    h = handlers([ANA, LUIS, RITA], families={"f1": ["p1", "p2", "p3"]})
    first = h.send(Audience(family_id="f1"), "recordatorio_reunion", REMINDER, "reunion-21", "ana")
    again = h.send(Audience(family_id="f1"), "recordatorio_reunion", REMINDER, "reunion-21", "ana")
    assert first.new == 3 and again.new == 0 and again.message_keys == first.message_keys
    assert first.trigger == "envio:ana:reunion-21"
    h.dispatch_due()
    statuses = {n.recipient_id: n.status for n in h.deliveries(trigger="envio:ana:reunion-21")}
    assert statuses == {"p1": DeliveryStatus.SENT, "p2": DeliveryStatus.SKIPPED, "p3": DeliveryStatus.SENT}
    assert [n.message_key for n in h.deliveries(recipient_id="p3")] == ["envio:ana:reunion-21:p3"]


def test_send_keys_are_per_sender_and_a_key_reused_for_other_content_is_refused() -> None:
    h = handlers([ANA, LUIS], families={"f1": ["p1", "p2"]})
    mine = h.send(Audience(family_id="f1"), "recordatorio_reunion", REMINDER, "reunion", "ana")
    # Another user's send under the same key is another send: queued, not dropped.
    theirs = h.send(Audience(family_id="f1"), "recordatorio_reunion", {**REMINDER, "hora": "15:00"}, "reunion", "beto")
    assert mine.new == 2 and theirs.new == 2 and set(mine.message_keys).isdisjoint(theirs.message_keys)
    with pytest.raises(KeyConflict) as conflict:
        h.send(Audience(family_id="f1"), "recordatorio_reunion", {**REMINDER, "lugar": "Escuela"}, "reunion", "ana")
    assert "reunion" in str(conflict.value)
    assert h.notification("envio:ana:reunion:p1").variables["lugar"] == "Casa comunal"
    assert len(log_of(h).rows) == 4


def test_the_messages_that_did_not_arrive_are_listed_by_status_and_only_those() -> None:
    h = handlers([ANA, LUIS, RITA], channels({EMAIL: {"rita@example.org": [PermanentFailure("550 no existe")]}}))
    h.on_acta_sealed(sealed("a1", "p1", "p2", "p3"))
    h.dispatch_due()
    assert [n.recipient_id for n in h.deliveries(status="failed")] == ["p3"]
    assert [n.recipient_id for n in h.deliveries(status="skipped")] == ["p2"]
    with pytest.raises(InvalidRequest) as refused:
        h.deliveries(status="sent")
    assert "sent" in refused.value.fields["status"]
    with pytest.raises(InvalidRequest):
        h.deliveries(status="failed", recipient_id="p3")


def test_a_send_request_without_prefix_or_audience_is_refused_naming_the_fields() -> None:
    h = handlers()
    with pytest.raises(InvalidRequest) as refused:
        h.send(Audience(), "", {}, " ", "ana")
    assert set(refused.value.fields) == {"message_key_prefix", "template", "audience"}


def test_a_lease_keeps_a_second_dispatcher_off_a_message_being_sent() -> None:
    h = handlers([ANA])
    h.on_acta_sealed(sealed("a1", "p1"))
    clock = h.clock
    assert isinstance(clock, StepClock)
    (seen_by_one,) = h.log.due(clock.now(), 10)
    (seen_by_other,) = h.log.due(clock.now(), 10)
    assert h.dispatch(seen_by_one) is not None
    assert h.dispatch(seen_by_other) is None  # it changed since the other read it
    assert channel(h, WA).calls == 1


def test_token_buckets_parse_rates_and_space_out_sends() -> None:
    assert parse_rate("20/s") == 20 and parse_rate("600/m") == 10 and parse_rate("") is None
    moment = [0.0]
    bucket = TokenBucket(2.0, burst=1, clock=lambda: moment[0])
    assert bucket.try_take() == 0 and bucket.try_take() == pytest.approx(0.5)
    moment[0] += 0.5
    assert bucket.try_take() == 0
    limits = ChannelRateLimits({WA: 1000.0, SMS: None})
    assert limits.acquire(SMS, 0) and limits.acquire(WA, 0.1)


# -- delivery reports ---------------------------------------------------------------------
def sent_to_ana(h: object) -> str:
    """Seal an acta for Ana, dispatch it on WhatsApp; returns the provider's message id."""
    h.on_acta_sealed(sealed("a1", "p1"))  # type: ignore[attr-defined]
    h.dispatch_due()  # type: ignore[attr-defined]
    return str(h.notification("acta_sealed:a1:p1").attempts[-1].provider_message_id)  # type: ignore[attr-defined]


def test_a_delivered_report_marks_the_message_delivered_once() -> None:
    h = handlers([ANA])
    wamid = sent_to_ana(h)
    first = h.receive_webhook(WA, webhook((wamid, "delivered")))
    again = h.receive_webhook(WA, webhook((wamid, "delivered")))
    assert (first.applied, first.parked, again.applied) == (1, 0, 1)
    done = h.notification("acta_sealed:a1:p1")
    assert done.status == DeliveryStatus.DELIVERED
    assert [(a.channel, a.outcome) for a in done.attempts] == [(WA, "sent"), (WA, "delivered")]
    (event,) = log_of(h).events("notification_delivered")  # once, though reported twice
    assert event["payload"]["message_key"] == "acta_sealed:a1:p1" and event["payload"]["channel"] == "whatsapp"


def test_a_failure_reported_after_whatsapp_accepted_falls_back_to_sms() -> None:
    h = handlers([ANA])
    wamid = sent_to_ana(h)
    h.receive_webhook(WA, webhook((wamid, "failed", "131026 Message undeliverable")))
    waiting = h.notification("acta_sealed:a1:p1")
    assert waiting.status == DeliveryStatus.QUEUED
    assert h.dispatch_due() == 1
    (sms,) = channel(h, SMS).sent
    h.receive_webhook(SMS, webhook(("sms-1", "delivered")))
    done = h.notification("acta_sealed:a1:p1")
    assert sms.to == "+573001234567" and done.status == DeliveryStatus.DELIVERED
    assert [(a.channel, a.outcome) for a in done.attempts] == [
        (WA, "sent"),
        (WA, "permanent"),
        (SMS, "sent"),
        (SMS, "delivered"),
    ]
    assert "131026 Message undeliverable" in done.attempts[1].detail
    # WhatsApp's own late "delivered" for the abandoned attempt changes nothing
    h.receive_webhook(WA, webhook((wamid, "delivered")))
    assert h.notification("acta_sealed:a1:p1").attempts == done.attempts


def test_a_failure_report_with_no_channel_left_fails_the_message_naming_the_provider_reason() -> None:
    only_whatsapp = Contact("p9", "Eva", "3001112233", "", True)
    h = handlers([only_whatsapp], channels())
    h.on_acta_sealed(sealed("a9", "p9"))
    h.dispatch_due()
    wamid = h.notification("acta_sealed:a9:p9").attempts[-1].provider_message_id
    sms = channel(h, SMS)
    sms.script["+573001112233"] = [PermanentFailure("21614 no es un móvil")]
    h.receive_webhook(WA, webhook((wamid, "failed", "131026 Message undeliverable")))
    h.dispatch_due()
    done = h.notification("acta_sealed:a9:p9")
    assert done.status == DeliveryStatus.FAILED
    assert "131026" in done.reason and "21614" in done.reason
    (failed,) = log_of(h).events("notification_failed")
    assert failed["payload"]["message_key"] == "acta_sealed:a9:p9"


def test_a_report_that_arrives_before_its_send_was_written_is_parked_then_applied() -> None:
    h = handlers([ANA])
    early = h.receive_webhook(WA, webhook(("whatsapp-1", "delivered")))
    assert (early.applied, early.parked) == (0, 1)
    h.receive_webhook(WA, webhook(("whatsapp-1", "delivered")))  # the provider retried: parked once
    assert len(log_of(h).parked_reports) == 1
    assert sent_to_ana(h) == "whatsapp-1"
    assert h.reconcile_reports() == 1
    assert h.notification("acta_sealed:a1:p1").status == DeliveryStatus.DELIVERED
    assert log_of(h).parked_reports == {}


def test_a_parked_report_about_a_message_that_never_appears_is_dropped_after_a_day() -> None:
    h = handlers([ANA])
    h.receive_webhook(WA, webhook(("wamid.unknown", "delivered")))
    clock = h.clock
    assert isinstance(clock, StepClock)
    clock.advance(3600)
    assert h.reconcile_reports() == 0 and len(log_of(h).parked_reports) == 1
    clock.advance(24 * 3600)
    assert h.reconcile_reports() == 0 and log_of(h).parked_reports == {}


def test_reports_about_messages_never_seen_here_do_not_crowd_out_an_early_one() -> None:
    h = handlers([ANA])
    clock = h.clock
    assert isinstance(clock, StepClock)
    for n in range(5):  # sent from the provider's own console: never ours
        h.receive_webhook(WA, webhook((f"wamid.console{n}", "delivered")))
    clock.advance(60)
    h.receive_webhook(WA, webhook(("whatsapp-1", "delivered")))  # ours, ahead of its send's write
    sent_to_ana(h)
    assert h.reconcile_reports(limit=2) == 1
    assert h.notification("acta_sealed:a1:p1").status == DeliveryStatus.DELIVERED


def test_an_unsigned_or_malformed_webhook_changes_nothing_and_email_has_no_webhook() -> None:
    h = handlers([ANA])
    wamid = sent_to_ana(h)
    with pytest.raises(WebhookRejected):
        h.receive_webhook(WA, webhook((wamid, "failed", "forged"), signed=False))
    bad = webhook()
    with pytest.raises(WebhookMalformed):
        h.receive_webhook(WA, replace(bad, body=b"{not json"))
    with pytest.raises(NotFound):
        h.receive_webhook(EMAIL, webhook((wamid, "delivered")))
    assert h.notification("acta_sealed:a1:p1").status == DeliveryStatus.SENT
    assert log_of(h).parked_reports == {}


def test_the_weeks_messages_are_counted_by_status_from_a_given_moment() -> None:
    h = handlers([ANA, LUIS, RITA], channels({EMAIL: {"rita@example.org": [PermanentFailure("550 no existe")]}}))
    before = h.clock.now()
    h.on_acta_sealed(sealed("a1", "p1", "p2", "p3"))
    h.dispatch_due()
    counts = h.counts_since(before)
    assert (counts["sent"], counts["skipped"], counts["failed"], counts["queued"]) == (1, 1, 1, 0)
    assert sum(h.counts_since(before + timedelta(days=1)).values()) == 0  # created before that moment
    with pytest.raises(InvalidRequest) as refused:
        h.counts_since(None)
    assert "created_from" in refused.value.fields
