"""SMS through an HTTP provider speaking Twilio's Programmable Messaging REST API.

``POST {base_url}/2010-04-01/Accounts/{AccountSid}/Messages.json`` with HTTP
Basic auth (AccountSid, AuthToken) and a form-encoded ``To``, ``From``, ``Body``;
``201`` with the Message resource (``sid`` ``SM...``). Errors are
``{"code", "message", "more_info", "status"}``.

Delivery reports are Twilio status callbacks (``webhook``): when
``status_callback_url`` is set every send carries it as ``StatusCallback``, and
Twilio POSTs a form with ``MessageSid``, ``MessageStatus`` and, on failure,
``ErrorCode`` to it, signed in ``X-Twilio-Signature``: the base64 HMAC-SHA1,
keyed with the auth token, of the URL followed by every POST parameter's name
and value sorted by name.

``find_sent`` asks the provider whether it holds a message (Twilio's list of
Messages, ``GET .../Messages.json?To=&From=``, newest first): the same number
and text, created at most ``LOOKUP_SLACK`` before the send began. It is how a
dispatcher learns whether a send whose outcome was never written went out
(``service_layer.recovery``); Twilio has no idempotency key for a send.

As for WhatsApp, a 2xx whose body is not the documented JSON, or a timeout, is a
``TransientFailure``: whether the provider queued the message is unknown, and a
rare duplicate SMS is better than a lost one.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import httpx

from services.notifications.channels.http import HttpReply, get, post
from services.notifications.domain.model import (
    ChannelName,
    Outgoing,
    PermanentFailure,
    Receipt,
    ReportedState,
    Sending,
    StatusReport,
    TransientFailure,
    WebhookMalformed,
    WebhookRejected,
    WebhookReply,
    WebhookRequest,
)
from services.notifications.domain.retry import classify_http, provider_error_code

log = logging.getLogger(__name__)

PROVIDER = "twilio"

TRANSIENT_CODES = frozenset(
    {
        20429,  # too many requests
        20500,  # internal server error
        20503,  # service unavailable
    }
)
PERMANENT_CODES = frozenset(
    {
        20003,  # authentication failed
        20404,  # no such resource (wrong AccountSid)
        21211,  # invalid 'To' phone number
        21408,  # sending to this region not enabled
        21602,  # body required
        21603,  # 'From' required
        21604,  # 'To' required
        21606,  # 'From' cannot send to this destination
        21610,  # recipient unsubscribed (replied STOP)
        21612,  # 'To' and 'From' cannot be connected
        21614,  # 'To' is not a mobile number
        21617,  # body exceeds 1600 characters
    }
)
_CREDENTIAL_CODES = frozenset({20003, 20404})
# How long before a send began a message found by ``find_sent`` may have been
# created (the provider's clock is not ours; its times have whole seconds).
LOOKUP_SLACK = timedelta(seconds=60)
LOOKUP_PAGE_SIZE = 50
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")

SIGNATURE_HEADER = "x-twilio-signature"
# queued, accepted, sending, sent (and any status Twilio may add) are not
# reported: the send's own reply already said the message was accepted.
_REPORTED = {
    "delivered": ReportedState.DELIVERED,
    "undelivered": ReportedState.FAILED,
    "failed": ReportedState.FAILED,
}


@dataclass(frozen=True, kw_only=True)
class SmsSettings:
    base_url: str  # https://api.twilio.com for Twilio itself
    account_sid: str
    auth_token: str = field(repr=False)
    sender: str  # an E.164 number or alphanumeric sender id of the account
    timeout: float = 10.0
    # Our public status-callback URL: sent with every message as StatusCallback,
    # and the URL Twilio signs (behind a proxy the URL we see may differ from it).
    status_callback_url: str = ""


class HttpSmsChannel:
    """Sends ``Outgoing`` texts as SMS through the provider."""

    name = ChannelName.SMS

    def __init__(self, settings: SmsSettings, client: httpx.Client | None = None) -> None:
        self.settings = settings
        base = settings.base_url.rstrip("/")
        self.url = f"{base}/2010-04-01/Accounts/{settings.account_sid}/Messages.json"
        self._client = client or httpx.Client(timeout=settings.timeout)
        self._auth = httpx.BasicAuth(settings.account_sid, settings.auth_token)

    def send(self, message: Outgoing) -> Receipt:
        if message.channel is not self.name:
            raise PermanentFailure(f"sms: the message was rendered for {message.channel}, not for SMS")
        if not _E164.match(message.to):
            raise PermanentFailure(f"sms: {message.to!r} is not an E.164 phone number")
        form = {"To": message.to, "From": self.settings.sender, "Body": message.text}
        if self.settings.status_callback_url:
            form["StatusCallback"] = self.settings.status_callback_url
        reply = post(self._client, self.url, "sms", data=form, auth=self._auth)
        outcome = classify_http(
            reply.status, reply.body, transient_codes=TRANSIENT_CODES, permanent_codes=PERMANENT_CODES
        )
        if outcome == "ok":
            sid = _sid(reply.body)
            if sid is None:
                raise TransientFailure(
                    f"sms: HTTP {reply.status} with a reply that is not the provider's Message JSON, so whether "
                    f"the message was queued is unknown: {reply.excerpt()!r}"
                )
            return Receipt(provider=PROVIDER, provider_message_id=sid)
        reason = _error_reason(reply)
        if provider_error_code(reply.body) in _CREDENTIAL_CODES or reply.status in (401, 403):
            log.error("The SMS provider refused our account or token; every SMS will fail until fixed: %s", reason)
        if outcome == "transient":
            raise TransientFailure(reason, retry_after=reply.retry_after)
        raise PermanentFailure(reason)

    def find_sent(self, sending: Sending) -> Receipt | None:
        """The provider's message for ``sending``, if it holds one: to the same
        number from our sender, with the same text, created at most
        ``LOOKUP_SLACK`` before ``sending.at``; ``TransientFailure`` if the list
        cannot be had."""
        params = {"To": sending.to, "From": self.settings.sender, "PageSize": str(LOOKUP_PAGE_SIZE)}
        reply = get(self._client, self.url, "sms", params=params, auth=self._auth)
        messages = reply.body.get("messages") if isinstance(reply.body, Mapping) else None
        if reply.status != 200 or not isinstance(messages, list):
            raise TransientFailure(
                f"sms: the provider's list of messages could not be read: HTTP {reply.status}: {reply.excerpt()!r}"
            )
        since = sending.at - LOOKUP_SLACK
        for item in messages:
            if not isinstance(item, Mapping):
                continue
            sid, body, created = item.get("sid"), item.get("body"), _date(item.get("date_created"))
            if not isinstance(sid, str) or not isinstance(body, str) or created is None or created < since:
                continue
            if hashlib.sha256(body.encode("utf-8")).hexdigest() == sending.text_sha256:
                return Receipt(provider=PROVIDER, provider_message_id=sid)
        return None

    def webhook(self, request: WebhookRequest) -> WebhookReply:
        """A Twilio status callback: at most one report, timed when it arrives
        (Twilio's callbacks carry no time of their own)."""
        try:
            params = parse_qsl(request.body.decode("utf-8"), keep_blank_values=True)
        except (UnicodeDecodeError, ValueError):
            raise WebhookRejected("sms: the status callback is not a form Twilio could have signed") from None
        url = self.settings.status_callback_url or request.url
        if not valid_signature(self.settings.auth_token, url, params, request.headers.get(SIGNATURE_HEADER, "")):
            raise WebhookRejected(f"sms: missing or wrong {SIGNATURE_HEADER} for {url}")
        if request.method != "POST":
            raise WebhookMalformed(f"sms: a status callback is a POST, not a {request.method}")
        fields = dict(params)
        if fields.get("AccountSid") != self.settings.account_sid:
            raise WebhookRejected(f"sms: a status callback for account {fields.get('AccountSid')!r}, not ours")
        sid, status = fields.get("MessageSid", ""), fields.get("MessageStatus", "")
        if not sid or not status:
            raise WebhookMalformed("sms: the status callback has no MessageSid or no MessageStatus")
        reported = _REPORTED.get(status)
        if reported is None:
            return WebhookReply()
        detail = ""
        if reported is ReportedState.FAILED:
            code = fields.get("ErrorCode", "").strip()
            detail = f"{code} {status}" if code else status
        return WebhookReply(reports=(StatusReport(sid, reported, datetime.now(UTC), detail),))

    def close(self) -> None:
        self._client.close()


def signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """Twilio's ``X-Twilio-Signature`` of a POST to ``url`` with form ``params``."""
    signed = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode("utf-8"), signed.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def valid_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]], header: str) -> bool:
    """Whether ``header`` is Twilio's signature of this request (compared in constant time)."""
    expected = signature(auth_token, url, params)
    return hmac.compare_digest(header.strip().encode("utf-8", "replace"), expected.encode("ascii"))


def _date(value: Any) -> datetime | None:
    """Twilio's RFC 2822 times (``Tue, 20 Nov 2026 15:00:00 +0000``), aware."""
    if not isinstance(value, str):
        return None
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _sid(body: Any) -> str | None:
    if not isinstance(body, Mapping):
        return None
    sid = body.get("sid")
    return sid if isinstance(sid, str) and sid else None


def _error_reason(reply: HttpReply) -> str:
    body = reply.body
    if not isinstance(body, Mapping) or "code" not in body:
        return f"sms: HTTP {reply.status} with a reply that is not the provider's error JSON: {reply.excerpt()!r}"
    reason = f"sms: HTTP {reply.status}, error {body.get('code')}: {str(body.get('message', '')).strip()}"
    if body.get("more_info"):
        reason += f" ({body['more_info']})"
    return reason
