"""WhatsApp through the WhatsApp Business Cloud API: approved template messages in Spanish.

``POST {base_url}/{api_version}/{phone_number_id}/messages`` with a bearer token
and a JSON template message; the reply carries the message id (``wamid.``...).
Errors are Graph API errors, ``{"error": {"message", "type", "code",
"error_subcode", "fbtrace_id"}}``, classified by their code first (Meta
reports some throttling as a 400) and their HTTP status otherwise.

A 200 whose body is not the documented JSON is a ``TransientFailure``: we cannot
know whether Meta accepted the message, and losing it is worse than the rare
duplicate a retry may cause (the service's message key still stops our side from
sending it twice once a retry succeeds). A timeout is transient for the same reason.
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
from services.notifications.domain.templates import whatsapp_template_name

log = logging.getLogger(__name__)

PROVIDER = "whatsapp_cloud"

# Throttling and Meta-side trouble: worth another try later.
TRANSIENT_CODES = frozenset(
    {
        1,  # unknown API error
        2,  # service temporarily unavailable
        4,  # application request limit reached
        80007,  # WhatsApp Business Account rate limit
        130429,  # Cloud API throughput reached
        131000,  # something went wrong
        131016,  # service unavailable
        131048,  # spam rate limit
        131056,  # too many messages to this recipient (pair rate limit)
        133004,  # server temporarily unavailable
    }
)
# Final whatever the HTTP status says: the same request cannot succeed later.
PERMANENT_CODES = frozenset(
    {
        10,  # permission denied
        100,  # invalid parameter
        190,  # access token expired or invalid
        200,  # permission
        368,  # temporarily blocked for policy violations
        131008,  # required parameter missing
        131009,  # parameter value invalid
        131026,  # message undeliverable (not on WhatsApp, old app, terms not accepted)
        131031,  # business account locked
        131047,  # re-engagement message outside the 24-hour window
        131051,  # unsupported message type
        132000,  # number of template parameters does not match
        132001,  # template does not exist in this language
        132005,  # translated text too long
        132012,  # parameter format mismatch
    }
)
_CREDENTIAL_CODES = frozenset({190, 10, 200})
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


@dataclass(frozen=True, kw_only=True)
class WhatsAppSettings:
    base_url: str  # https://graph.facebook.com in production
    api_version: str = "v21.0"
    phone_number_id: str
    access_token: str = field(repr=False)
    timeout: float = 10.0


class WhatsAppCloudChannel:
    """Sends ``Outgoing`` template messages through the Cloud API."""

    name = ChannelName.WHATSAPP

    def __init__(self, settings: WhatsAppSettings, client: httpx.Client | None = None) -> None:
        self.settings = settings
        base = settings.base_url.rstrip("/")
        self.url = f"{base}/{settings.api_version}/{settings.phone_number_id}/messages"
        self._client = client or httpx.Client(timeout=settings.timeout)
        self._headers = {"Authorization": f"Bearer {settings.access_token}"}

    def send(self, message: Outgoing) -> Receipt:
        if message.channel is not self.name:
            raise PermanentFailure(f"whatsapp: the message was rendered for {message.channel}, not for WhatsApp")
        if not _E164.match(message.to):
            raise PermanentFailure(f"whatsapp: {message.to!r} is not an E.164 phone number")
        reply = post(self._client, self.url, "whatsapp", json=payload(message), headers=self._headers)
        outcome = classify_http(
            reply.status, reply.body, transient_codes=TRANSIENT_CODES, permanent_codes=PERMANENT_CODES
        )
        if outcome == "ok":
            message_id = _message_id(reply.body)
            if message_id is None:
                raise TransientFailure(
                    f"whatsapp: HTTP {reply.status} with a reply that is not the Cloud API's JSON, so whether the "
                    f"message was accepted is unknown: {reply.excerpt()!r}"
                )
            return Receipt(provider=PROVIDER, provider_message_id=message_id)
        reason = _error_reason(reply)
        if provider_error_code(reply.body) in _CREDENTIAL_CODES or reply.status in (401, 403):
            log.error("WhatsApp refused our credentials; every message will fail until they are fixed: %s", reason)
        if outcome == "transient":
            raise TransientFailure(reason, retry_after=reply.retry_after)
        raise PermanentFailure(reason)

    def close(self) -> None:
        self._client.close()


def payload(message: Outgoing) -> dict[str, Any]:
    """The Cloud API JSON for a template message to ``message.to``."""
    template: dict[str, Any] = {
        "name": whatsapp_template_name(message.template),
        "language": {"code": message.language},
    }
    if message.parameters:
        template["components"] = [
            {"type": "body", "parameters": [{"type": "text", "text": text} for text in message.parameters]}
        ]
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": message.to.removeprefix("+"),
        "type": "template",
        "template": template,
    }


def _message_id(body: Any) -> str | None:
    if not isinstance(body, Mapping) or body.get("messaging_product") != "whatsapp":
        return None
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not isinstance(messages[0], Mapping):
        return None
    message_id = messages[0].get("id")
    return message_id if isinstance(message_id, str) and message_id else None


def _error_reason(reply: HttpReply) -> str:
    error = reply.body.get("error") if isinstance(reply.body, Mapping) else None
    if not isinstance(error, Mapping):
        return f"whatsapp: HTTP {reply.status} with a reply that is not a Graph API error: {reply.excerpt()!r}"
    code = error.get("code")
    subcode = f"/{error['error_subcode']}" if error.get("error_subcode") is not None else ""
    text = str(error.get("message", "")).strip()
    data = error.get("error_data")
    details = data.get("details") if isinstance(data, Mapping) else None
    reason = f"whatsapp: HTTP {reply.status}, error {code}{subcode}: {text}"
    if details:
        reason += f" ({details})"
    if error.get("fbtrace_id"):
        reason += f" [fbtrace_id {error['fbtrace_id']}]"
    return reason
