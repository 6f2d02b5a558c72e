"""SMS through an HTTP provider speaking Twilio's Programmable Messaging REST API.

``POST {base_url}/2010-04-01/Accounts/{AccountSid}/Messages.json`` with HTTP
Basic auth (AccountSid, AuthToken) and a form-encoded ``To``, ``From``, ``Body``;
``201`` with the Message resource (``sid`` ``SM...``). Errors are
``{"code", "message", "more_info", "status"}``.

As for WhatsApp, a 2xx whose body is not the documented JSON, or a timeout, is a
``TransientFailure``: whether the provider queued the message is unknown, and a
rare duplicate SMS is better than a lost one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from services.notifications.channels.http import HttpReply, post
from services.notifications.domain.model import ChannelName, Outgoing, PermanentFailure, Receipt, TransientFailure
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
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


@dataclass(frozen=True, kw_only=True)
class SmsSettings:
    base_url: str  # https://api.twilio.com for Twilio itself
    account_sid: str
    auth_token: str = field(repr=False)
    sender: str  # an E.164 number or alphanumeric sender id of the account
    timeout: float = 10.0


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

    def close(self) -> None:
        self._client.close()


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
