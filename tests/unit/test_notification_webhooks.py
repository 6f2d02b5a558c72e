"""The channels' delivery-status webhooks without I/O: each provider's signature
(computed here from its documented algorithm, so a wrong one in the adapter
fails), the shape of its notifications, and what each status reports.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest

from crm_platform.config import ConfigError
from services.notifications.channels.config import channels_from_env
from services.notifications.channels.sms import HttpSmsChannel, SmsSettings, signature
from services.notifications.channels.whatsapp import WhatsAppCloudChannel, WhatsAppSettings
from services.notifications.domain.model import (
    ChannelName,
    ReportedState,
    StatusReport,
    WebhookMalformed,
    WebhookRejected,
    WebhookReply,
    WebhookRequest,
)

APP_SECRET = "secreto-de-la-app"
VERIFY_TOKEN = "token-de-verificacion"
PHONE_NUMBER_ID = "106540352242922"
ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "token-de-twilio"
CALLBACK_URL = "https://crm.example.org/webhooks/sms?canal=sms"
WAMID = "wamid.HBgMNTczMDAxMjM0NTY3FQIAERgSQjVGNkM4RDhFMjc0OUM4QTlBAA=="
SID = "SM" + "a" * 32
AT = datetime(2024, 5, 6, 15, 30, tzinfo=UTC)


# -- WhatsApp --------------------------------------------------------------------------
@pytest.fixture
def whatsapp() -> Iterator[WhatsAppCloudChannel]:
    channel = WhatsAppCloudChannel(
        WhatsAppSettings(
            base_url="http://127.0.0.1:1",
            phone_number_id=PHONE_NUMBER_ID,
            access_token="t",
            app_secret=APP_SECRET,
            verify_token=VERIFY_TOKEN,
        )
    )
    yield channel
    channel.close()


def meta_status(status: str, message_id: str = WAMID, **extra: Any) -> dict[str, Any]:
    return {
        "id": message_id,
        "status": status,
        "timestamp": str(int(AT.timestamp())),
        "recipient_id": "573001234567",
        **extra,
    }


def meta_notification(*statuses: Any, phone_number_id: str = PHONE_NUMBER_ID) -> dict[str, Any]:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_number_id},
        "statuses": list(statuses),
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}],
    }


def meta_post(document: Any, *, secret: str = APP_SECRET, body: bytes | None = None) -> WebhookRequest:
    """A POST as Meta sends it: the raw body's HMAC-SHA256 keyed with the app secret, in hex."""
    raw = json.dumps(document).encode("utf-8") if body is None else body
    signature_256 = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return WebhookRequest("POST", "https://crm.example.org/webhooks/whatsapp", meta_headers(signature_256), {}, raw)


def meta_headers(signature_256: str | None) -> Mapping[str, str]:
    headers = {"content-type": "application/json", "user-agent": "facebookexternalua"}
    if signature_256 is not None:
        headers["x-hub-signature-256"] = signature_256
    return headers


def test_metas_subscription_check_is_answered_with_the_challenge(whatsapp: WhatsAppCloudChannel) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}

    reply = whatsapp.webhook(WebhookRequest("GET", "https://crm.example.org/w", {}, query, b""))

    assert reply == WebhookReply(text="1158201444")


@pytest.mark.parametrize(
    "query",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "otro", "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.verify_token": "tökén", "hub.challenge": "1"},
    ],
)
def test_a_subscription_check_without_our_verify_token_is_rejected(
    whatsapp: WhatsAppCloudChannel, query: dict[str, str]
) -> None:
    with pytest.raises(WebhookRejected):
        whatsapp.webhook(WebhookRequest("GET", "https://crm.example.org/w", {}, query, b""))


def test_a_subscription_check_without_a_challenge_is_malformed(whatsapp: WhatsAppCloudChannel) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN}
    with pytest.raises(WebhookMalformed, match=r"hub\.challenge"):
        whatsapp.webhook(WebhookRequest("GET", "https://crm.example.org/w", {}, query, b""))


def test_without_a_configured_verify_token_or_secret_every_webhook_is_rejected() -> None:
    channel = WhatsAppCloudChannel(
        WhatsAppSettings(base_url="http://127.0.0.1:1", phone_number_id=PHONE_NUMBER_ID, access_token="t")
    )
    try:
        with pytest.raises(WebhookRejected):
            channel.webhook(WebhookRequest("GET", "u", {}, {"hub.mode": "subscribe", "hub.challenge": "1"}, b""))
        with pytest.raises(WebhookRejected):
            channel.webhook(meta_post(meta_notification(meta_status("delivered")), secret=""))
    finally:
        channel.close()


def test_a_correctly_signed_delivered_status_is_reported(whatsapp: WhatsAppCloudChannel) -> None:
    reply = whatsapp.webhook(meta_post(meta_notification(meta_status("delivered"))))

    assert reply.reports == (StatusReport(WAMID, ReportedState.DELIVERED, AT),)
    assert reply.reports[0].at.tzinfo is UTC


@pytest.mark.parametrize(
    "signature_256",
    [
        None,
        "",
        "sha256=",
        "sha256=" + "0" * 64,
        "sha256=" + hmac.new(b"otro-secreto", b"{}", hashlib.sha256).hexdigest(),
        "sha1=" + hmac.new(APP_SECRET.encode(), b"{}", hashlib.sha1).hexdigest(),
        hmac.new(APP_SECRET.encode(), b"{}", hashlib.sha256).hexdigest(),  # without "sha256="
    ],
)
def test_a_post_without_metas_signature_is_rejected(whatsapp: WhatsAppCloudChannel, signature_256: str | None) -> None:
    request = WebhookRequest("POST", "https://crm.example.org/w", meta_headers(signature_256), {}, b"{}")
    with pytest.raises(WebhookRejected, match="x-hub-signature-256"):
        whatsapp.webhook(request)


def test_a_body_changed_after_signing_is_rejected(whatsapp: WhatsAppCloudChannel) -> None:
    signed = meta_post(meta_notification(meta_status("delivered")))
    tampered = signed.body.replace(b'"delivered"', b'"read"')
    assert tampered != signed.body
    with pytest.raises(WebhookRejected):
        whatsapp.webhook(WebhookRequest("POST", signed.url, signed.headers, {}, tampered))


def test_a_post_signed_with_another_apps_secret_is_rejected(whatsapp: WhatsAppCloudChannel) -> None:
    with pytest.raises(WebhookRejected):
        whatsapp.webhook(meta_post(meta_notification(meta_status("delivered")), secret="otra-app"))


@pytest.mark.parametrize(
    ("status", "state"), [("delivered", ReportedState.DELIVERED), ("read", ReportedState.DELIVERED)]
)
def test_delivered_and_read_report_delivery(whatsapp: WhatsAppCloudChannel, status: str, state: ReportedState) -> None:
    [report] = whatsapp.webhook(meta_post(meta_notification(meta_status(status)))).reports
    assert (report.provider_message_id, report.state, report.at, report.detail) == (WAMID, state, AT, "")


def test_a_failed_status_reports_metas_error_code_and_title(whatsapp: WhatsAppCloudChannel) -> None:
    errors = [
        {
            "code": 131026,
            "title": "Message undeliverable",
            "message": "Message undeliverable",
            "error_data": {"details": "Message Undeliverable."},
        }
    ]
    [report] = whatsapp.webhook(meta_post(meta_notification(meta_status("failed", errors=errors)))).reports

    assert report.state is ReportedState.FAILED
    assert report.detail == "131026 Message undeliverable"
    assert report.provider_message_id == WAMID and report.at == AT


def test_a_failed_status_without_errors_is_still_a_failure(whatsapp: WhatsAppCloudChannel) -> None:
    [report] = whatsapp.webhook(meta_post(meta_notification(meta_status("failed")))).reports
    assert report.state is ReportedState.FAILED and report.detail == "failed"


def test_sent_and_unknown_statuses_report_nothing_but_the_others_in_the_batch_count(
    whatsapp: WhatsAppCloudChannel,
) -> None:
    body = meta_notification(
        meta_status("sent", "wamid.1"), meta_status("deleted", "wamid.2"), meta_status("delivered", "wamid.3")
    )
    reply = whatsapp.webhook(meta_post(body))
    assert [(r.provider_message_id, r.state) for r in reply.reports] == [("wamid.3", ReportedState.DELIVERED)]


def test_incoming_messages_and_other_fields_report_nothing(whatsapp: WhatsAppCloudChannel) -> None:
    incoming = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": "María"}, "wa_id": "573001234567"}],
        "messages": [{"from": "573001234567", "id": "wamid.in", "timestamp": "1714998600", "type": "text"}],
    }
    template_review = {"event": "APPROVED", "message_template_id": 1, "message_template_name": "acta_sellada"}
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {"value": incoming, "field": "messages"},
                    {"value": template_review, "field": "message_template_status_update"},
                ],
            }
        ],
    }
    assert whatsapp.webhook(meta_post(body)).reports == ()


def test_statuses_of_the_business_accounts_other_numbers_are_not_ours(whatsapp: WhatsAppCloudChannel) -> None:
    body = meta_notification(meta_status("delivered"), phone_number_id="999999999")
    assert whatsapp.webhook(meta_post(body)).reports == ()


@pytest.mark.parametrize(
    ("document", "named"),
    [
        ({"object": "page", "entry": []}, "whatsapp_business_account"),
        ({"object": "whatsapp_business_account"}, "entry"),
        ({"object": "whatsapp_business_account", "entry": [{"id": "1"}]}, r"entry\[0\]\.changes"),
        (meta_notification(meta_status("delivered", message_id="")), r"statuses\[0\]\.id"),
        (meta_notification({"status": "delivered", "timestamp": "1714998600"}), r"statuses\[0\]\.id"),
        (meta_notification(meta_status("delivered", timestamp="ayer")), "timestamp"),
        (meta_notification(meta_status("delivered", timestamp="-5")), "timestamp"),
        (meta_notification(meta_status("delivered", timestamp="9" * 30)), "timestamp"),
        (meta_notification({"id": WAMID, "timestamp": "1714998600"}), "status"),
        (meta_notification(meta_status("failed", errors={"code": 131026})), "errors"),
        (meta_notification("delivered"), r"statuses\[0\] is not an object"),
    ],
)
def test_a_signed_body_that_is_not_the_documented_shape_is_malformed_naming_what(
    whatsapp: WhatsAppCloudChannel, document: Any, named: str
) -> None:
    with pytest.raises(WebhookMalformed, match=named):
        whatsapp.webhook(meta_post(document))


def test_a_signed_body_that_is_not_json_is_malformed(whatsapp: WhatsAppCloudChannel) -> None:
    with pytest.raises(WebhookMalformed, match="not JSON"):
        whatsapp.webhook(meta_post(None, body=b"<xml/>"))
    with pytest.raises(WebhookMalformed, match="not JSON"):
        whatsapp.webhook(meta_post(None, body=b"\xff\xfe"))


# -- SMS (Twilio status callbacks) ------------------------------------------------------
def sms_channel(status_callback_url: str = CALLBACK_URL) -> HttpSmsChannel:
    return HttpSmsChannel(
        SmsSettings(
            base_url="http://127.0.0.1:1",
            account_sid=ACCOUNT_SID,
            auth_token=AUTH_TOKEN,
            sender="+15005550006",
            status_callback_url=status_callback_url,
        )
    )


@pytest.fixture
def sms() -> Iterator[HttpSmsChannel]:
    channel = sms_channel()
    yield channel
    channel.close()


def twilio_signature(token: str, url: str, params: Mapping[str, str]) -> str:
    """Twilio's documented algorithm: the URL, then each parameter's name and value
    sorted by name, HMAC-SHA1 keyed with the auth token, base64."""
    data = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def callback_params(status: str, **extra: str) -> dict[str, str]:
    return {
        "ApiVersion": "2010-04-01",
        "AccountSid": ACCOUNT_SID,
        "From": "+15005550006",
        "To": "+573001234567",
        "MessageSid": SID,
        "SmsSid": SID,
        "MessageStatus": status,
        "SmsStatus": status,
        **extra,
    }


def twilio_post(
    params: Mapping[str, str],
    *,
    url: str = CALLBACK_URL,
    signed_url: str | None = None,
    token: str = AUTH_TOKEN,
    signed_params: Mapping[str, str] | None = None,
    signature_header: str | None = None,
) -> WebhookRequest:
    header = signature_header
    if header is None:
        header = twilio_signature(token, signed_url or url, signed_params or params)
    headers = {"content-type": "application/x-www-form-urlencoded; charset=utf-8", "x-twilio-signature": header}
    return WebhookRequest("POST", url, headers, {}, urlencode(params).encode())


def test_the_signature_matches_twilios_documented_example() -> None:
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert signature("12345", url, params.items()) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_a_delivered_callback_is_reported_at_the_time_it_arrived(sms: HttpSmsChannel) -> None:
    before = datetime.now(UTC)
    [report] = sms.webhook(twilio_post(callback_params("delivered"))).reports
    after = datetime.now(UTC)

    assert (report.provider_message_id, report.state, report.detail) == (SID, ReportedState.DELIVERED, "")
    assert before <= report.at <= after and report.at.tzinfo is UTC


@pytest.mark.parametrize("status", ["undelivered", "failed"])
def test_undelivered_and_failed_report_a_failure_with_twilios_error_code(sms: HttpSmsChannel, status: str) -> None:
    [report] = sms.webhook(twilio_post(callback_params(status, ErrorCode="30003"))).reports
    assert report.state is ReportedState.FAILED
    assert report.detail == f"30003 {status}"


def test_a_failure_without_an_error_code_says_its_status(sms: HttpSmsChannel) -> None:
    [report] = sms.webhook(twilio_post(callback_params("undelivered"))).reports
    assert report.detail == "undelivered"


@pytest.mark.parametrize("status", ["accepted", "queued", "sending", "sent", "receiving", "read", "scheduled"])
def test_intermediate_statuses_report_nothing(sms: HttpSmsChannel, status: str) -> None:
    assert sms.webhook(twilio_post(callback_params(status))).reports == ()


@pytest.mark.parametrize(
    "request_",
    [
        twilio_post(callback_params("delivered"), signature_header=""),
        twilio_post(callback_params("delivered"), token="otro-token"),
        twilio_post(callback_params("delivered"), signature_header="0/KCTR6DLpKmkAf8muzZqo1nDgQ="),
        # the body was changed after signing
        twilio_post(callback_params("delivered"), signed_params=callback_params("undelivered")),
        # signed for another URL than the one we gave Twilio
        twilio_post(callback_params("delivered"), signed_url="https://crm.example.org/webhooks/sms"),
        twilio_post(callback_params("delivered"), signed_url="http://crm.example.org/webhooks/sms?canal=sms"),
    ],
    ids=["missing", "other-token", "other-request", "tampered-body", "url-without-query", "url-http"],
)
def test_a_callback_without_twilios_signature_is_rejected(sms: HttpSmsChannel, request_: WebhookRequest) -> None:
    with pytest.raises(WebhookRejected, match="x-twilio-signature"):
        sms.webhook(request_)


def test_a_callback_without_the_signature_header_at_all_is_rejected(sms: HttpSmsChannel) -> None:
    request = twilio_post(callback_params("delivered"))
    headers = {k: v for k, v in request.headers.items() if k != "x-twilio-signature"}
    with pytest.raises(WebhookRejected):
        sms.webhook(WebhookRequest("POST", request.url, headers, {}, request.body))


def test_the_configured_callback_url_is_what_is_checked_not_the_url_we_saw(sms: HttpSmsChannel) -> None:
    # Behind a proxy the request arrives at an internal URL; Twilio signed the public one.
    internal = twilio_post(
        callback_params("delivered"), url="http://10.0.0.7:8080/webhooks/sms", signed_url=CALLBACK_URL
    )
    assert len(sms.webhook(internal).reports) == 1


def test_without_a_configured_callback_url_the_request_url_is_checked() -> None:
    channel = sms_channel(status_callback_url="")
    try:
        url = "https://crm.example.org/otra/ruta"
        assert len(channel.webhook(twilio_post(callback_params("delivered"), url=url)).reports) == 1
        with pytest.raises(WebhookRejected):
            channel.webhook(twilio_post(callback_params("delivered"), url=url, signed_url=CALLBACK_URL))
    finally:
        channel.close()


def test_a_correctly_signed_callback_for_another_account_is_rejected(sms: HttpSmsChannel) -> None:
    with pytest.raises(WebhookRejected, match="account"):
        sms.webhook(twilio_post(callback_params("delivered", AccountSid="AC" + "9" * 32)))


@pytest.mark.parametrize("missing", ["MessageSid", "MessageStatus"])
def test_a_signed_callback_without_sid_or_status_is_malformed(sms: HttpSmsChannel, missing: str) -> None:
    params = {k: v for k, v in callback_params("delivered").items() if k != missing}
    with pytest.raises(WebhookMalformed, match=missing):
        sms.webhook(twilio_post(params))


def test_a_body_that_is_not_utf8_is_rejected(sms: HttpSmsChannel) -> None:
    request = twilio_post(callback_params("delivered"))
    with pytest.raises(WebhookRejected):
        sms.webhook(WebhookRequest("POST", request.url, request.headers, {}, b"\xff\xfe"))


# -- configuration ----------------------------------------------------------------------
WHATSAPP_ENV = {
    "WHATSAPP_BASE_URL": "http://127.0.0.1:1",
    "WHATSAPP_PHONE_NUMBER_ID": "1",
    "WHATSAPP_ACCESS_TOKEN": "t",
}
SMS_ENV = {"SMS_BASE_URL": "http://127.0.0.1:2", "SMS_ACCOUNT_SID": "AC1", "SMS_AUTH_TOKEN": "s", "SMS_SENDER": "+1"}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in [n for n in os.environ if n.startswith(("SMTP_", "WHATSAPP_", "SMS_"))] + ["CRM_ENV"]:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize("missing", ["WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN"])
def test_whatsapps_webhook_secrets_are_required_outside_development(
    clean_env: pytest.MonkeyPatch, missing: str
) -> None:
    for name, value in {**WHATSAPP_ENV, "WHATSAPP_APP_SECRET": "a", "WHATSAPP_VERIFY_TOKEN": "v"}.items():
        if name != missing:
            clean_env.setenv(name, value)
    with pytest.raises(ConfigError, match=missing):
        channels_from_env()


def test_whatsapps_webhook_secrets_come_from_the_environment_and_stay_out_of_repr(
    clean_env: pytest.MonkeyPatch,
) -> None:
    for name, value in {**WHATSAPP_ENV, "WHATSAPP_APP_SECRET": "app-s3cr3t", "WHATSAPP_VERIFY_TOKEN": "v3rify"}.items():
        clean_env.setenv(name, value)
    registry = channels_from_env()
    settings = registry[ChannelName.WHATSAPP].settings  # type: ignore[attr-defined]
    registry.close()
    assert (settings.app_secret, settings.verify_token) == ("app-s3cr3t", "v3rify")
    assert "app-s3cr3t" not in repr(settings) and "v3rify" not in repr(settings)


def test_development_mode_gives_whatsapp_the_stand_ins_webhook_secrets(clean_env: pytest.MonkeyPatch) -> None:
    from devstack.providers import whatsapp as stand_in

    clean_env.setenv("CRM_ENV", "development")
    for name, value in WHATSAPP_ENV.items():
        clean_env.setenv(name, value)
    registry = channels_from_env()
    settings = registry[ChannelName.WHATSAPP].settings  # type: ignore[attr-defined]
    registry.close()
    assert (settings.app_secret, settings.verify_token) == (stand_in.DEV_APP_SECRET, stand_in.DEV_VERIFY_TOKEN)


def test_the_sms_status_callback_url_is_optional_and_must_be_http(clean_env: pytest.MonkeyPatch) -> None:
    for name, value in SMS_ENV.items():
        clean_env.setenv(name, value)
    registry = channels_from_env()
    assert registry[ChannelName.SMS].settings.status_callback_url == ""  # type: ignore[attr-defined]
    registry.close()

    clean_env.setenv("SMS_STATUS_CALLBACK_URL", CALLBACK_URL)
    registry = channels_from_env()
    assert registry[ChannelName.SMS].settings.status_callback_url == CALLBACK_URL  # type: ignore[attr-defined]
    registry.close()

    clean_env.setenv("SMS_STATUS_CALLBACK_URL", "crm.example.org/webhooks/sms")
    with pytest.raises(ConfigError, match="SMS_STATUS_CALLBACK_URL"):
        channels_from_env()
