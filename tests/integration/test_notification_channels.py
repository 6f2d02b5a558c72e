"""The channel adapters against real servers on loopback: aiosmtpd for email, and the
WhatsApp Cloud API and Twilio stand-ins of devstack.providers, which check every
request against the provider's documented contract.

Delivery-status webhooks run end to end on loopback too: the stand-ins call back
a small local receiver that hands each request to the channel's own ``webhook``.

No RabbitMQ or databases: these tests never request the ``stack`` fixture.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from devstack.providers import SmsStandIn, SmtpStandIn, WhatsAppStandIn
from services.notifications.channels.base import ReportingChannel
from services.notifications.channels.sms import HttpSmsChannel, SmsSettings
from services.notifications.channels.smtp import SmtpChannel, SmtpSettings
from services.notifications.channels.whatsapp import WhatsAppCloudChannel, WhatsAppSettings, payload
from services.notifications.domain.model import (
    ChannelName,
    Outgoing,
    PermanentFailure,
    ReportedState,
    StatusReport,
    TransientFailure,
    WebhookMalformed,
    WebhookRejected,
    WebhookRequest,
)
from services.notifications.domain.templates import render

TIMEOUT = 0.5  # the clients' timeout: a hung provider must cost no more than this
UNDELIVERABLE = "+573009999999"
LANDLINE = "+576044445555"
UNSUBSCRIBED = "+573005550000"
MOBILE = "+573001234567"

ACTA = {
    "nombre": "María José Pérez",
    "titulo": "Reunión de concertación",
    "fecha": "6 de mayo de 2024",
    "enlace": "https://crm.example.org/actas/3f2a9c/copia",
}


def message(channel: ChannelName, to: str, key: str = "acta_sealed:a1:b1") -> Outgoing:
    return render("acta_sellada", channel, to, key, ACTA)


def free_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- email -----------------------------------------------------------------------------
@pytest.fixture
def smtp_server() -> Iterator[SmtpStandIn]:
    with SmtpStandIn(refuse={"nadie@example.org"}) as server:
        yield server


@pytest.fixture
def email(smtp_server: SmtpStandIn) -> Iterator[SmtpChannel]:
    channel = SmtpChannel(
        SmtpSettings(host=smtp_server.host, port=smtp_server.port, sender="CRM Social <avisos@crm.test>", timeout=2)
    )
    yield channel
    channel.close()


def test_an_email_arrives_with_recipient_subject_utf8_body_and_message_id(
    email: SmtpChannel, smtp_server: SmtpStandIn
) -> None:
    receipt = email.send(message(ChannelName.EMAIL, "maria@example.org"))

    [received] = smtp_server.messages
    assert received.rcpt_tos == ("maria@example.org",)
    assert received.mail_from == "avisos@crm.test"
    mail = received.message
    assert mail["To"] == "maria@example.org"
    assert mail["From"] == "CRM Social <avisos@crm.test>"
    assert mail["Subject"] == "Su acta «Reunión de concertación» quedó registrada"
    assert mail.get_content_type() == "text/plain" and mail.get_content_charset() == "utf-8"
    assert mail.get_content().startswith("Hola María José Pérez, su acta «Reunión de concertación» del 6 de mayo")
    assert receipt.provider == "smtp"
    assert receipt.provider_message_id == mail["Message-ID"]
    assert receipt.provider_message_id.endswith("@crm.test>")


def test_a_retried_email_keeps_its_message_id_and_a_batch_shares_one_connection(
    email: SmtpChannel, smtp_server: SmtpStandIn
) -> None:
    first = email.send(message(ChannelName.EMAIL, "a@example.org", key="k1"))
    again = email.send(message(ChannelName.EMAIL, "a@example.org", key="k1"))
    other = email.send(message(ChannelName.EMAIL, "b@example.org", key="k2"))

    assert first.provider_message_id == again.provider_message_id != other.provider_message_id
    assert [m.rcpt_tos for m in smtp_server.messages] == [("a@example.org",), ("a@example.org",), ("b@example.org",)]
    assert len({m.peer for m in smtp_server.messages}) == 1


def test_a_refused_recipient_is_a_permanent_failure_with_the_servers_reply(email: SmtpChannel) -> None:
    with pytest.raises(PermanentFailure, match=r"550 5\.1\.1 <nadie@example\.org>"):
        email.send(message(ChannelName.EMAIL, "nadie@example.org"))


def test_a_4xx_reply_is_transient_and_the_next_send_goes_through(email: SmtpChannel, smtp_server: SmtpStandIn) -> None:
    smtp_server.fail_next(1, "451 4.3.0 Try again later")

    with pytest.raises(TransientFailure, match=r"451 4\.3\.0 Try again later"):
        email.send(message(ChannelName.EMAIL, "maria@example.org"))
    email.send(message(ChannelName.EMAIL, "maria@example.org"))

    assert len(smtp_server.messages) == 1


def test_a_5xx_reply_to_data_is_permanent(email: SmtpChannel, smtp_server: SmtpStandIn) -> None:
    smtp_server.fail_next(1, "554 5.6.0 Message content rejected")
    with pytest.raises(PermanentFailure, match=r"554 5\.6\.0"):
        email.send(message(ChannelName.EMAIL, "maria@example.org"))


def test_a_server_that_is_down_is_transient() -> None:
    channel = SmtpChannel(SmtpSettings(host="127.0.0.1", port=free_port(), sender="avisos@crm.test", timeout=TIMEOUT))
    with pytest.raises(TransientFailure, match="ConnectionRefusedError"):
        channel.send(message(ChannelName.EMAIL, "maria@example.org"))


def test_a_server_that_went_away_fails_once_then_a_new_connection_is_used(smtp_server: SmtpStandIn) -> None:
    channel = SmtpChannel(
        SmtpSettings(host=smtp_server.host, port=smtp_server.port, sender="avisos@crm.test", timeout=TIMEOUT)
    )
    try:
        channel.send(message(ChannelName.EMAIL, "a@example.org"))
        smtp_server.stop()
        with pytest.raises(TransientFailure):
            channel.send(message(ChannelName.EMAIL, "a@example.org"))
    finally:
        channel.close()


def test_credentials_are_used_and_wrong_ones_are_permanent(caplog: pytest.LogCaptureFixture) -> None:
    with SmtpStandIn(username="crm", password="clave-correcta") as server:
        good = SmtpChannel(
            SmtpSettings(
                host=server.host, port=server.port, username="crm", password="clave-correcta", sender="a@crm.test"
            )
        )
        bad = SmtpChannel(
            SmtpSettings(host=server.host, port=server.port, username="crm", password="otra", sender="a@crm.test")
        )
        anonymous = SmtpChannel(SmtpSettings(host=server.host, port=server.port, sender="a@crm.test"))
        try:
            good.send(message(ChannelName.EMAIL, "maria@example.org"))
            with caplog.at_level(logging.ERROR), pytest.raises(PermanentFailure, match="535"):
                bad.send(message(ChannelName.EMAIL, "maria@example.org"))
            with pytest.raises(PermanentFailure, match="530"):
                anonymous.send(message(ChannelName.EMAIL, "maria@example.org"))
        finally:
            for channel in (good, bad, anonymous):
                channel.close()
        assert len(server.messages) == 1
    assert "refused our credentials" in caplog.text


def test_an_address_that_would_inject_headers_is_refused_before_connecting(
    email: SmtpChannel, smtp_server: SmtpStandIn
) -> None:
    hostile = Outgoing("k", ChannelName.EMAIL, "a@example.org\r\nBcc: b@example.org", "acta_sellada", "es", "s", "t")
    with pytest.raises(PermanentFailure, match="cannot address"):
        email.send(hostile)
    assert smtp_server.messages == []


# -- WhatsApp --------------------------------------------------------------------------
@pytest.fixture
def meta() -> Iterator[WhatsAppStandIn]:
    with WhatsAppStandIn(undeliverable={UNDELIVERABLE}) as stand_in:
        yield stand_in


def whatsapp_channel(stand_in: WhatsAppStandIn, token: str | None = None) -> WhatsAppCloudChannel:
    return WhatsAppCloudChannel(
        WhatsAppSettings(
            base_url=stand_in.url,
            phone_number_id=stand_in.phone_number_id,
            access_token=token or stand_in.access_token,
            timeout=TIMEOUT,
        )
    )


@pytest.fixture
def whatsapp(meta: WhatsAppStandIn) -> Iterator[WhatsAppCloudChannel]:
    channel = whatsapp_channel(meta)
    yield channel
    channel.close()


def test_a_whatsapp_template_message_is_accepted_within_the_contract(
    whatsapp: WhatsAppCloudChannel, meta: WhatsAppStandIn
) -> None:
    receipt = whatsapp.send(message(ChannelName.WHATSAPP, "300 123 4567"))

    [accepted] = meta.accepted
    assert receipt.provider == "whatsapp_cloud"
    assert receipt.provider_message_id == accepted.message_id and accepted.message_id.startswith("wamid.")
    assert accepted.to == "573001234567"
    assert (accepted.template, accepted.language) == ("acta_sellada", "es")
    assert accepted.parameters == tuple(ACTA[n] for n in ("nombre", "titulo", "fecha", "enlace"))
    assert meta.violations == []


def test_an_undeliverable_number_is_permanent_with_metas_reason(
    whatsapp: WhatsAppCloudChannel, meta: WhatsAppStandIn
) -> None:
    with pytest.raises(PermanentFailure) as failed:
        whatsapp.send(message(ChannelName.WHATSAPP, UNDELIVERABLE))

    assert "error 131026" in failed.value.reason and "Message undeliverable" in failed.value.reason
    assert "fbtrace_id" in failed.value.reason
    assert meta.accepted == [] and meta.violations == []


def test_a_429_is_transient_with_the_providers_retry_after(
    whatsapp: WhatsAppCloudChannel, meta: WhatsAppStandIn
) -> None:
    meta.fail_next(1, 429, retry_after=7)

    with pytest.raises(TransientFailure) as failed:
        whatsapp.send(message(ChannelName.WHATSAPP, MOBILE))

    assert failed.value.retry_after == 7
    assert "130429" in failed.value.reason
    whatsapp.send(message(ChannelName.WHATSAPP, MOBILE))
    assert len(meta.accepted) == 1


@pytest.mark.parametrize("code", [130429, 131056, 131048])
def test_rate_limits_reported_as_a_400_are_transient(
    whatsapp: WhatsAppCloudChannel, meta: WhatsAppStandIn, code: int
) -> None:
    meta.fail_next(1, 400, code=code)
    with pytest.raises(TransientFailure, match=str(code)):
        whatsapp.send(message(ChannelName.WHATSAPP, MOBILE))


@pytest.mark.parametrize("status", [500, 503])
def test_whatsapp_server_errors_are_transient(
    whatsapp: WhatsAppCloudChannel, meta: WhatsAppStandIn, status: int
) -> None:
    meta.fail_next(1, status)
    with pytest.raises(TransientFailure, match=f"HTTP {status}"):
        whatsapp.send(message(ChannelName.WHATSAPP, MOBILE))


def test_a_hung_whatsapp_is_transient_within_the_timeout(whatsapp: WhatsAppCloudChannel, meta: WhatsAppStandIn) -> None:
    meta.fail_next(1, "hang")
    started = time.monotonic()

    with pytest.raises(TransientFailure, match="no answer within the timeout"):
        whatsapp.send(message(ChannelName.WHATSAPP, MOBILE))

    assert time.monotonic() - started < TIMEOUT + 1
    assert meta.accepted == []


def test_a_200_with_garbage_is_transient_because_acceptance_is_unknown(
    whatsapp: WhatsAppCloudChannel, meta: WhatsAppStandIn
) -> None:
    meta.fail_next(1, "garbage")
    with pytest.raises(TransientFailure, match=r"whether the message was accepted is unknown.*Bad Gateway"):
        whatsapp.send(message(ChannelName.WHATSAPP, MOBILE))


def test_a_wrong_token_is_refused_with_401_and_logged_loudly(
    meta: WhatsAppStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    channel = whatsapp_channel(meta, token="caducado")
    try:
        with caplog.at_level(logging.ERROR), pytest.raises(PermanentFailure, match="HTTP 401, error 190"):
            channel.send(message(ChannelName.WHATSAPP, MOBILE))
    finally:
        channel.close()
    assert "refused our credentials" in caplog.text
    assert [v.status for v in meta.violations] == [401]
    assert meta.accepted == []


def test_an_unreachable_whatsapp_is_transient() -> None:
    channel = WhatsAppCloudChannel(
        WhatsAppSettings(base_url=f"http://127.0.0.1:{free_port()}", phone_number_id="1", access_token="t", timeout=1)
    )
    try:
        with pytest.raises(TransientFailure, match="cannot reach"):
            channel.send(message(ChannelName.WHATSAPP, MOBILE))
    finally:
        channel.close()


def post_whatsapp(stand_in: WhatsAppStandIn, body: dict[str, Any]) -> httpx.Response:
    url = f"{stand_in.url}/v21.0/{stand_in.phone_number_id}/messages"
    headers = {"Authorization": f"Bearer {stand_in.access_token}"}
    return httpx.post(url, json=body, headers=headers, timeout=2)


@pytest.mark.parametrize(
    ("change", "code", "problem"),
    [
        (lambda b: b.update(to="+573001234567"), 100, "without '+'"),
        (lambda b: b["template"].update(language={"code": "en_US"}), 100, "template.language"),
        (lambda b: b.pop("messaging_product"), 100, "messaging_product"),
        (lambda b: b["template"]["components"][0]["parameters"][0].update(text="a\nb"), 100, "new-line"),
        (lambda b: b["template"].update(name="sin_aprobar"), 132001, "not approved"),
        (lambda b: b["template"]["components"][0]["parameters"].pop(), 132000, "localizable_params"),
    ],
)
def test_the_whatsapp_stand_in_answers_contract_violations_as_meta_does(
    meta: WhatsAppStandIn, change: Any, code: int, problem: str
) -> None:
    body = payload(message(ChannelName.WHATSAPP, MOBILE))
    change(body)

    response = post_whatsapp(meta, body)

    assert response.status_code in (400, 404)
    error = response.json()["error"]
    assert error["code"] == code and error["type"] == "OAuthException" and error["fbtrace_id"]
    [violation] = meta.violations
    assert problem in violation.problem
    assert meta.accepted == []


def test_the_whatsapp_stand_in_refuses_a_wrong_phone_number_id(meta: WhatsAppStandIn) -> None:
    response = httpx.post(
        f"{meta.url}/v21.0/999/messages",
        json=payload(message(ChannelName.WHATSAPP, MOBILE)),
        headers={"Authorization": f"Bearer {meta.access_token}"},
        timeout=2,
    )
    assert response.status_code == 400
    assert response.json()["error"]["error_subcode"] == 33
    assert len(meta.violations) == 1


# -- SMS -------------------------------------------------------------------------------
@pytest.fixture
def twilio() -> Iterator[SmsStandIn]:
    with SmsStandIn(invalid_numbers={UNDELIVERABLE}, landlines={LANDLINE}, unsubscribed={UNSUBSCRIBED}) as stand_in:
        yield stand_in


def sms_channel(stand_in: SmsStandIn, token: str | None = None) -> HttpSmsChannel:
    return HttpSmsChannel(
        SmsSettings(
            base_url=stand_in.url,
            account_sid=stand_in.account_sid,
            auth_token=token or stand_in.auth_token,
            sender=stand_in.sender,
            timeout=TIMEOUT,
        )
    )


@pytest.fixture
def sms(twilio: SmsStandIn) -> Iterator[HttpSmsChannel]:
    channel = sms_channel(twilio)
    yield channel
    channel.close()


def test_an_sms_is_queued_within_the_contract(sms: HttpSmsChannel, twilio: SmsStandIn) -> None:
    sent = message(ChannelName.SMS, "300 123 4567")

    receipt = sms.send(sent)

    [accepted] = twilio.accepted
    assert receipt.provider == "twilio"
    assert receipt.provider_message_id == accepted.sid and accepted.sid.startswith("SM")
    assert (accepted.to, accepted.sender, accepted.body) == (MOBILE, twilio.sender, sent.text)
    assert "María José Pérez" in accepted.body
    assert twilio.violations == []


@pytest.mark.parametrize(
    ("number", "code"), [(UNDELIVERABLE, 21211), (LANDLINE, 21614), (UNSUBSCRIBED, 21610)]
)  # fmt: skip
def test_numbers_the_provider_cannot_text_are_permanent_with_its_reason(
    sms: HttpSmsChannel, twilio: SmsStandIn, number: str, code: int
) -> None:
    with pytest.raises(PermanentFailure, match=f"HTTP 400, error {code}: .*docs/errors/{code}"):
        sms.send(message(ChannelName.SMS, number))
    assert twilio.accepted == [] and twilio.violations == []


def test_an_sms_429_is_transient_with_retry_after(sms: HttpSmsChannel, twilio: SmsStandIn) -> None:
    twilio.fail_next(1, 429, retry_after=3)

    with pytest.raises(TransientFailure, match="20429") as failed:
        sms.send(message(ChannelName.SMS, MOBILE))

    assert failed.value.retry_after == 3
    sms.send(message(ChannelName.SMS, MOBILE))
    assert len(twilio.accepted) == 1


@pytest.mark.parametrize("status", [500, 503])
def test_sms_server_errors_are_transient(sms: HttpSmsChannel, twilio: SmsStandIn, status: int) -> None:
    twilio.fail_next(1, status)
    with pytest.raises(TransientFailure, match=f"HTTP {status}"):
        sms.send(message(ChannelName.SMS, MOBILE))


def test_a_hung_sms_provider_is_transient_within_the_timeout(sms: HttpSmsChannel, twilio: SmsStandIn) -> None:
    twilio.fail_next(1, "hang")
    started = time.monotonic()

    with pytest.raises(TransientFailure, match="no answer within the timeout"):
        sms.send(message(ChannelName.SMS, MOBILE))

    assert time.monotonic() - started < TIMEOUT + 1
    assert twilio.accepted == []


def test_an_sms_2xx_with_garbage_is_transient(sms: HttpSmsChannel, twilio: SmsStandIn) -> None:
    twilio.fail_next(1, "garbage")
    with pytest.raises(TransientFailure, match="whether the message was queued is unknown"):
        sms.send(message(ChannelName.SMS, MOBILE))


def test_a_wrong_sms_token_is_refused_with_401(twilio: SmsStandIn, caplog: pytest.LogCaptureFixture) -> None:
    channel = sms_channel(twilio, token="otro")
    try:
        with caplog.at_level(logging.ERROR), pytest.raises(PermanentFailure, match="HTTP 401, error 20003"):
            channel.send(message(ChannelName.SMS, MOBILE))
    finally:
        channel.close()
    assert "refused our account or token" in caplog.text
    assert [v.status for v in twilio.violations] == [401]


@pytest.mark.parametrize(
    ("form", "code", "problem"),
    [
        ({"To": "3001234567", "From": "+15005550006", "Body": "Hola"}, 21211, "not E.164"),
        ({"From": "+15005550006", "Body": "Hola"}, 21604, "To is missing"),
        ({"To": MOBILE, "Body": "Hola"}, 21603, "From is missing"),
        ({"To": MOBILE, "From": "+15005550006", "Body": ""}, 21602, "Body"),
        ({"To": MOBILE, "From": "+15550000000", "Body": "Hola"}, 21606, "not the account's sender"),
        ({"To": MOBILE, "From": "+15005550006", "Body": "a" * 1601}, 21617, "over 1600"),
    ],
)
def test_the_sms_stand_in_answers_contract_violations_as_twilio_does(
    twilio: SmsStandIn, form: dict[str, str], code: int, problem: str
) -> None:
    response = httpx.post(
        f"{twilio.url}/2010-04-01/Accounts/{twilio.account_sid}/Messages.json",
        data=form,
        auth=(twilio.account_sid, twilio.auth_token),
        timeout=2,
    )

    assert response.status_code == 400
    assert response.json()["code"] == code and response.json()["status"] == 400
    [violation] = twilio.violations
    assert problem in violation.problem


def test_the_sms_stand_in_wants_a_form_and_this_accounts_path(twilio: SmsStandIn) -> None:
    auth = (twilio.account_sid, twilio.auth_token)
    as_json = httpx.post(
        f"{twilio.url}/2010-04-01/Accounts/{twilio.account_sid}/Messages.json",
        json={"To": MOBILE, "From": twilio.sender, "Body": "Hola"},
        auth=auth,
        timeout=2,
    )
    other_account = httpx.post(
        f"{twilio.url}/2010-04-01/Accounts/AC999/Messages.json", data={"To": MOBILE}, auth=auth, timeout=2
    )
    assert as_json.status_code == 400
    assert other_account.status_code == 404 and other_account.json()["code"] == 20404
    assert len(twilio.violations) == 2 and twilio.accepted == []


def test_a_message_rendered_for_another_channel_is_refused_without_a_request(
    email: SmtpChannel, whatsapp: WhatsAppCloudChannel, sms: HttpSmsChannel, meta: WhatsAppStandIn, twilio: SmsStandIn
) -> None:
    for channel, rendered_for in ((email, ChannelName.SMS), (whatsapp, ChannelName.SMS), (sms, ChannelName.WHATSAPP)):
        with pytest.raises(PermanentFailure, match=f"rendered for {rendered_for}"):
            channel.send(message(rendered_for, MOBILE))
    assert meta.requests == 0 and twilio.requests == 0


# -- delivery-status webhooks ----------------------------------------------------------
WEBHOOK_WAIT = 5.0  # seconds: the stand-ins call back within milliseconds; this only bounds a failure
LATE_UNDELIVERABLE = "+573008888888"
UNREACHABLE_HANDSET = "+573007777777"


class Receiver:
    """Our webhook endpoint on loopback: hands each request to a channel's own
    ``webhook`` and answers 200 (with the reply's text), 403 or 400 from the outcome,
    as the gateway does. ``fail_next`` answers 500 without looking at the request."""

    def __init__(self, path: str, port: int = 0) -> None:
        self.path = path
        self.channel: ReportingChannel | None = None
        self.reports: list[StatusReport] = []
        self.answers: list[int] = []
        self._failures = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    @property
    def url(self) -> str:
        return self.origin + self.path

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def fail_next(self, n: int) -> None:
        with self._lock:
            self._failures += n

    def wait_for(self, n: int) -> list[StatusReport]:
        """The first ``n`` reports, waiting for them at most ``WEBHOOK_WAIT`` seconds."""
        deadline = time.monotonic() + WEBHOOK_WAIT
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.reports) >= n:
                    return list(self.reports)
            time.sleep(0.01)
        raise AssertionError(f"{n} reports expected within {WEBHOOK_WAIT}s, got {self.reports}")

    def answer(self, request: WebhookRequest) -> tuple[int, str]:
        with self._lock:
            if self._failures:
                self._failures -= 1
                status, text = 500, "error interno"
            else:
                status, text = 0, ""
        if not status:
            assert self.channel is not None
            try:
                reply = self.channel.webhook(request)
            except WebhookRejected:
                status, text = 403, "prohibido"
            except WebhookMalformed:
                status, text = 400, "solicitud mal formada"
            else:
                status, text = 200, reply.text
                with self._lock:
                    self.reports.extend(reply.reports)
        with self._lock:
            self.answers.append(status)
        return status, text

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                query = self.path.partition("?")[2]
                request = WebhookRequest(
                    method=self.command,
                    url=receiver.origin + self.path,
                    headers={name.lower(): value for name, value in self.headers.items()},
                    query=dict(parse_qsl(query, keep_blank_values=True)),
                    body=self.rfile.read(length) if length > 0 else b"",
                )
                status, text = receiver.answer(request)
                body = text.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def whatsapp_receiver() -> Iterator[Receiver]:
    receiver = Receiver("/webhooks/whatsapp").start()
    yield receiver
    receiver.stop()


@pytest.fixture
def meta_reporting(whatsapp_receiver: Receiver) -> Iterator[WhatsAppStandIn]:
    with WhatsAppStandIn(undeliverable_later={LATE_UNDELIVERABLE}, webhook_url=whatsapp_receiver.url) as stand_in:
        yield stand_in


@pytest.fixture
def reporting_whatsapp(meta_reporting: WhatsAppStandIn, whatsapp_receiver: Receiver) -> Iterator[WhatsAppCloudChannel]:
    channel = WhatsAppCloudChannel(
        WhatsAppSettings(
            base_url=meta_reporting.url,
            phone_number_id=meta_reporting.phone_number_id,
            access_token=meta_reporting.access_token,
            timeout=TIMEOUT,
            app_secret=meta_reporting.app_secret,
            verify_token=meta_reporting.verify_token,
        )
    )
    whatsapp_receiver.channel = channel
    yield channel
    channel.close()


def test_a_sent_whatsapp_is_reported_delivered_for_the_id_the_send_returned(
    reporting_whatsapp: WhatsAppCloudChannel, meta_reporting: WhatsAppStandIn, whatsapp_receiver: Receiver
) -> None:
    started = datetime.now(UTC).replace(microsecond=0)

    receipt = reporting_whatsapp.send(message(ChannelName.WHATSAPP, MOBILE))

    [report] = whatsapp_receiver.wait_for(1)
    assert report.provider_message_id == receipt.provider_message_id
    assert report.state is ReportedState.DELIVERED and report.detail == ""
    assert started <= report.at <= datetime.now(UTC)
    assert meta_reporting.wait_for_webhooks(WEBHOOK_WAIT)
    sent = [json.loads(w.body)["entry"][0]["changes"][0]["value"]["statuses"][0] for w in meta_reporting.webhooks]
    wamid = receipt.provider_message_id
    assert [(s["id"], s["status"]) for s in sent] == [(wamid, "sent"), (wamid, "delivered")]
    assert whatsapp_receiver.answers == [200, 200] and all(w.accepted for w in meta_reporting.webhooks)
    assert meta_reporting.violations == []


def test_a_number_not_on_whatsapp_is_accepted_then_reported_failed_with_131026(
    reporting_whatsapp: WhatsAppCloudChannel, meta_reporting: WhatsAppStandIn, whatsapp_receiver: Receiver
) -> None:
    receipt = reporting_whatsapp.send(message(ChannelName.WHATSAPP, LATE_UNDELIVERABLE))

    [report] = whatsapp_receiver.wait_for(1)
    assert report.provider_message_id == receipt.provider_message_id
    assert report.state is ReportedState.FAILED
    assert report.detail == "131026 Message undeliverable"
    assert meta_reporting.wait_for_webhooks(WEBHOOK_WAIT) and len(meta_reporting.webhooks) == 1


def test_a_whatsapp_webhook_our_side_answers_500_is_sent_again(
    reporting_whatsapp: WhatsAppCloudChannel, meta_reporting: WhatsAppStandIn, whatsapp_receiver: Receiver
) -> None:
    whatsapp_receiver.fail_next(2)

    receipt = reporting_whatsapp.send(message(ChannelName.WHATSAPP, MOBILE))

    [report] = whatsapp_receiver.wait_for(1)
    assert report.provider_message_id == receipt.provider_message_id and report.state is ReportedState.DELIVERED
    assert meta_reporting.wait_for_webhooks(WEBHOOK_WAIT)
    assert [w.answers for w in meta_reporting.webhooks] == [(500, 500, 200), (200,)]


def test_webhooks_signed_with_another_app_secret_are_refused_and_given_up_on(
    meta_reporting: WhatsAppStandIn, whatsapp_receiver: Receiver
) -> None:
    channel = WhatsAppCloudChannel(
        WhatsAppSettings(
            base_url=meta_reporting.url,
            phone_number_id=meta_reporting.phone_number_id,
            access_token=meta_reporting.access_token,
            app_secret="el-secreto-de-otra-app",
        )
    )
    whatsapp_receiver.channel = channel
    try:
        channel.send(message(ChannelName.WHATSAPP, MOBILE))
        assert meta_reporting.wait_for_webhooks(WEBHOOK_WAIT)
    finally:
        channel.close()
    assert whatsapp_receiver.reports == []
    assert [set(w.answers) for w in meta_reporting.webhooks] == [{403}, {403}]
    assert not any(w.accepted for w in meta_reporting.webhooks)


def test_metas_subscription_check_is_answered_with_our_verify_token(
    reporting_whatsapp: WhatsAppCloudChannel, meta_reporting: WhatsAppStandIn, whatsapp_receiver: Receiver
) -> None:
    assert meta_reporting.check_subscription()
    meta_reporting.verify_token = "otro-token"
    assert not meta_reporting.check_subscription()
    assert whatsapp_receiver.answers == [200, 403]


def test_a_stand_in_whose_webhook_endpoint_is_down_gives_up_and_keeps_serving() -> None:
    with WhatsAppStandIn(webhook_url=f"http://127.0.0.1:{free_port()}/webhooks/whatsapp") as stand_in:
        channel = whatsapp_channel(stand_in)
        try:
            channel.send(message(ChannelName.WHATSAPP, MOBILE))
            assert stand_in.wait_for_webhooks(WEBHOOK_WAIT)
            channel.send(message(ChannelName.WHATSAPP, MOBILE))
        finally:
            channel.close()
        assert len(stand_in.accepted) == 2
        first, second = stand_in.webhooks[:2]
        assert first.answers == second.answers == ("ConnectError",) * 4


def test_a_report_sent_while_our_side_was_down_arrives_once_it_is_back() -> None:
    # Meta retries a status notification for days; the devstack stand-in for
    # ``webhook_retry_for`` seconds. Without it a dispatcher killed mid-send finds
    # no report and sends the message again (``service_layer.recovery``).
    port = free_port()
    receiver: Receiver | None = None
    with WhatsAppStandIn(webhook_url=f"http://127.0.0.1:{port}/webhooks/whatsapp") as stand_in:
        stand_in.webhook_retry_for = 30.0
        channel = WhatsAppCloudChannel(
            WhatsAppSettings(
                base_url=stand_in.url,
                phone_number_id=stand_in.phone_number_id,
                access_token=stand_in.access_token,
                app_secret=stand_in.app_secret,
                timeout=TIMEOUT,
            )
        )
        try:
            sent = channel.send(replace(message(ChannelName.WHATSAPP, MOBILE), reference="intento-1"))
            time.sleep(1.0)  # our side is down: every try so far was refused
            assert stand_in.webhooks == []
            receiver = Receiver("/webhooks/whatsapp", port=port)
            receiver.channel = channel
            receiver.start()
            reports = receiver.wait_for(2)
            assert stand_in.wait_for_webhooks(WEBHOOK_WAIT)
        finally:
            channel.close()
            if receiver is not None:
                receiver.stop()
    assert [r.provider_message_id for r in reports] == [sent.provider_message_id] * 2
    assert [(r.state, r.reference) for r in reports] == [
        (ReportedState.ACCEPTED, "intento-1"),
        (ReportedState.DELIVERED, "intento-1"),
    ]
    first = stand_in.webhooks[0]
    assert first.accepted and "ConnectError" in first.answers and len(first.answers) > 4


@pytest.fixture
def sms_receiver() -> Iterator[Receiver]:
    receiver = Receiver("/webhooks/sms")
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture
def twilio_reporting() -> Iterator[SmsStandIn]:
    with SmsStandIn(undelivered={UNREACHABLE_HANDSET}) as stand_in:
        yield stand_in


@pytest.fixture
def reporting_sms(twilio_reporting: SmsStandIn, sms_receiver: Receiver) -> Iterator[HttpSmsChannel]:
    channel = HttpSmsChannel(
        SmsSettings(
            base_url=twilio_reporting.url,
            account_sid=twilio_reporting.account_sid,
            auth_token=twilio_reporting.auth_token,
            sender=twilio_reporting.sender,
            timeout=TIMEOUT,
            status_callback_url=sms_receiver.url + "?canal=sms",
        )
    )
    sms_receiver.channel = channel
    yield channel
    channel.close()


def test_an_sms_with_a_status_callback_is_reported_delivered_for_its_sid(
    reporting_sms: HttpSmsChannel, twilio_reporting: SmsStandIn, sms_receiver: Receiver
) -> None:
    receipt = reporting_sms.send(message(ChannelName.SMS, MOBILE))

    [report] = sms_receiver.wait_for(1)
    assert report.provider_message_id == receipt.provider_message_id
    assert report.state is ReportedState.DELIVERED
    assert twilio_reporting.accepted[0].status_callback == sms_receiver.url + "?canal=sms"
    assert twilio_reporting.wait_for_webhooks(WEBHOOK_WAIT)
    statuses = [dict(parse_qsl(w.body.decode()))["MessageStatus"] for w in twilio_reporting.webhooks]
    assert statuses == ["sent", "delivered"] and sms_receiver.answers == [200, 200]
    assert twilio_reporting.violations == []


def test_an_sms_to_an_unreachable_handset_is_reported_failed_with_30003(
    reporting_sms: HttpSmsChannel, sms_receiver: Receiver
) -> None:
    receipt = reporting_sms.send(message(ChannelName.SMS, UNREACHABLE_HANDSET))

    [report] = sms_receiver.wait_for(1)
    assert report.provider_message_id == receipt.provider_message_id
    assert report.state is ReportedState.FAILED and report.detail == "30003 undelivered"


def test_an_sms_callback_our_side_answers_500_is_sent_again(
    reporting_sms: HttpSmsChannel, twilio_reporting: SmsStandIn, sms_receiver: Receiver
) -> None:
    sms_receiver.fail_next(1)

    reporting_sms.send(message(ChannelName.SMS, MOBILE))

    assert sms_receiver.wait_for(1)[0].state is ReportedState.DELIVERED
    assert twilio_reporting.wait_for_webhooks(WEBHOOK_WAIT)
    assert [w.answers for w in twilio_reporting.webhooks] == [(500, 200), (200,)]


def test_an_sms_without_a_status_callback_gets_no_callbacks(sms: HttpSmsChannel, twilio: SmsStandIn) -> None:
    sms.send(message(ChannelName.SMS, MOBILE))
    assert twilio.wait_for_webhooks(WEBHOOK_WAIT) and twilio.webhooks == []


def test_the_sms_stand_in_refuses_a_status_callback_that_is_not_an_http_url(twilio: SmsStandIn) -> None:
    response = httpx.post(
        f"{twilio.url}/2010-04-01/Accounts/{twilio.account_sid}/Messages.json",
        data={"To": MOBILE, "From": twilio.sender, "Body": "Hola", "StatusCallback": "ftp://crm.example.org/sms"},
        auth=(twilio.account_sid, twilio.auth_token),
        timeout=2,
    )
    assert response.status_code == 400 and response.json()["code"] == 21609
    assert twilio.accepted == [] and [v.status for v in twilio.violations] == [400]
