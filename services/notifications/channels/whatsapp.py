"""WhatsApp through the WhatsApp Business Cloud API: approved template messages in Spanish.

``POST {base_url}/{api_version}/{phone_number_id}/messages`` with a bearer token
and a JSON template message; the reply carries the message id (``wamid.``...).
Errors are Graph API errors, ``{"error": {"message", "type", "code",
"error_subcode", "fbtrace_id"}}``, classified by their code first (Meta
reports some throttling as a 400) and their HTTP status otherwise.

Delivery reports come through the app's webhook (``webhook``). Meta first checks
the subscription with a GET carrying ``hub.mode=subscribe``, ``hub.verify_token``
(ours) and ``hub.challenge`` (echoed back). Then it POSTs JSON signed in
``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body keyed with the
app secret>``; each ``statuses[]`` item of a ``messages`` change is one message's
``sent``, ``delivered``, ``read`` or ``failed`` (with ``errors[]``).

A send carries our attempt id (``Outgoing.reference``) as
``biz_opaque_callback_data``, which Meta echoes in every status of that
message: a ``sent`` status naming it is reported as ``ACCEPTED``, the proof a
dispatcher needs when the process that sent the message died before writing
that it had (``service_layer.recovery``).

A 200 whose body is not the documented JSON is a ``TransientFailure``: we cannot
know whether Meta accepted the message, and losing it is worse than the rare
duplicate a retry may cause (the service's message key still stops our side from
sending it twice once a retry succeeds). A timeout is transient for the same reason.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from services.notifications.channels.http import HttpReply, post
from services.notifications.domain.model import (
    ChannelName,
    Outgoing,
    PermanentFailure,
    Receipt,
    ReportedState,
    StatusReport,
    TransientFailure,
    WebhookMalformed,
    WebhookRejected,
    WebhookReply,
    WebhookRequest,
)
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
CALLBACK_DATA_MAX = 512  # Meta's limit on biz_opaque_callback_data
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")

SIGNATURE_HEADER = "x-hub-signature-256"
# A status Meta reports, and what it means for us; "sent" (and any status Meta may
# add) is not reported: the send's own reply already said so.
_REPORTED = {"delivered": ReportedState.DELIVERED, "read": ReportedState.DELIVERED, "failed": ReportedState.FAILED}


@dataclass(frozen=True, kw_only=True)
class WhatsAppSettings:
    base_url: str  # https://graph.facebook.com in production
    api_version: str = "v21.0"
    phone_number_id: str
    access_token: str = field(repr=False)
    timeout: float = 10.0
    app_secret: str = field(default="", repr=False)  # keys the webhook's X-Hub-Signature-256
    verify_token: str = field(default="", repr=False)  # ours, echoed by Meta's subscription check


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

    def webhook(self, request: WebhookRequest) -> WebhookReply:
        """Meta's subscription check (GET) or a signed batch of status updates (POST)."""
        if request.method == "GET":
            return WebhookReply(text=self._challenge(request.query))
        if not self.settings.app_secret:
            raise WebhookRejected("whatsapp: no app secret is configured, so no webhook can be verified")
        if not valid_signature(self.settings.app_secret, request.body, request.headers.get(SIGNATURE_HEADER, "")):
            raise WebhookRejected(f"whatsapp: missing or wrong {SIGNATURE_HEADER}")
        if request.method != "POST":
            raise WebhookMalformed(f"whatsapp: a webhook is a GET or a POST, not a {request.method}")
        return WebhookReply(reports=status_reports(request.body, self.settings.phone_number_id))

    def _challenge(self, query: Mapping[str, str]) -> str:
        token = query.get("hub.verify_token", "")
        if not self.settings.verify_token or not _same(token, self.settings.verify_token):
            raise WebhookRejected("whatsapp: subscription check with a missing or wrong hub.verify_token")
        if query.get("hub.mode") != "subscribe":
            raise WebhookRejected(f"whatsapp: hub.mode is {query.get('hub.mode')!r}, not 'subscribe'")
        challenge = query.get("hub.challenge", "")
        if not challenge:
            raise WebhookMalformed("whatsapp: subscription check without hub.challenge")
        return challenge

    def close(self) -> None:
        self._client.close()


def valid_signature(app_secret: str, body: bytes, header: str) -> bool:
    """Whether ``header`` is ``sha256=`` and the hex HMAC-SHA256 of ``body`` keyed with ``app_secret``."""
    expected = "sha256=" + hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return _same(header.strip(), expected)


def status_reports(body: bytes, phone_number_id: str) -> tuple[StatusReport, ...]:
    """The delivered and failed statuses in a webhook body about messages from ``phone_number_id``.

    Other changes (a template's review, an incoming message) and other statuses
    (``sent``) give nothing; a body that is not the documented shape raises
    ``WebhookMalformed`` naming the first thing wrong.
    """
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise WebhookMalformed("whatsapp: the webhook body is not JSON") from None
    if not isinstance(document, Mapping) or document.get("object") != "whatsapp_business_account":
        raise WebhookMalformed("whatsapp: the webhook body is not a whatsapp_business_account notification")
    reports: list[StatusReport] = []
    for where, value in _message_changes(document):
        metadata = value.get("metadata")
        if not isinstance(metadata, Mapping) or not isinstance(metadata.get("phone_number_id"), str):
            raise WebhookMalformed(f"whatsapp: {where}.metadata.phone_number_id is missing")
        if metadata["phone_number_id"] != phone_number_id:
            # The app's webhook also hears about the business account's other numbers.
            log.debug("whatsapp: ignoring statuses of phone number %s", metadata["phone_number_id"])
            continue
        statuses = value.get("statuses", [])
        if not isinstance(statuses, list):
            raise WebhookMalformed(f"whatsapp: {where}.statuses is not a list")
        for i, status in enumerate(statuses):
            report = _status_report(f"{where}.statuses[{i}]", status)
            if report is not None:
                reports.append(report)
    return tuple(reports)


def _message_changes(document: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """``(where, value)`` of every change whose field is ``messages``."""
    entries = document.get("entry")
    if not isinstance(entries, list):
        raise WebhookMalformed("whatsapp: entry is missing or not a list")
    for i, entry in enumerate(entries):
        changes = entry.get("changes") if isinstance(entry, Mapping) else None
        if not isinstance(changes, list):
            raise WebhookMalformed(f"whatsapp: entry[{i}].changes is missing or not a list")
        for j, change in enumerate(changes):
            where = f"entry[{i}].changes[{j}]"
            if not isinstance(change, Mapping) or not isinstance(change.get("field"), str):
                raise WebhookMalformed(f"whatsapp: {where}.field is missing")
            if change["field"] != "messages":
                continue
            value = change.get("value")
            if not isinstance(value, Mapping) or value.get("messaging_product") != "whatsapp":
                raise WebhookMalformed(f"whatsapp: {where}.value is not a WhatsApp messages value")
            yield where, value


def _status_report(where: str, status: Any) -> StatusReport | None:
    if not isinstance(status, Mapping):
        raise WebhookMalformed(f"whatsapp: {where} is not an object")
    message_id = status.get("id")
    if not isinstance(message_id, str) or not message_id:
        raise WebhookMalformed(f"whatsapp: {where}.id is missing")
    state = status.get("status")
    if not isinstance(state, str) or not state:
        raise WebhookMalformed(f"whatsapp: {where}.status is missing")
    at = _timestamp(where, status.get("timestamp"))
    reference = status.get("biz_opaque_callback_data")
    reference = reference if isinstance(reference, str) else ""
    reported = _REPORTED.get(state)
    if reported is None and state == "sent" and reference:
        reported = ReportedState.ACCEPTED
    if reported is None:
        return None
    detail = _errors_detail(where, status.get("errors")) if reported is ReportedState.FAILED else ""
    return StatusReport(provider_message_id=message_id, state=reported, at=at, detail=detail, reference=reference)


def _timestamp(where: str, value: Any) -> datetime:
    """Meta's timestamps are Unix seconds as a string."""
    text = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""
    if not text.isascii() or not text.isdigit():
        raise WebhookMalformed(f"whatsapp: {where}.timestamp is not Unix seconds: {value!r}")
    try:
        return datetime.fromtimestamp(int(text), UTC)
    except (OverflowError, OSError, ValueError):
        raise WebhookMalformed(f"whatsapp: {where}.timestamp is out of range: {value!r}") from None


def _errors_detail(where: str, errors: Any) -> str:
    """``"131026 Message undeliverable"`` from a failed status's ``errors``."""
    if errors is None:
        return "failed"
    if not isinstance(errors, list):
        raise WebhookMalformed(f"whatsapp: {where}.errors is not a list")
    parts = []
    for error in errors:
        if not isinstance(error, Mapping):
            raise WebhookMalformed(f"whatsapp: {where}.errors has an item that is not an object")
        text = " ".join(str(error[key]).strip() for key in ("code", "title") if error.get(key) is not None)
        parts.append(text.strip() or "failed")
    return "; ".join(parts) or "failed"


def _same(given: str, expected: str) -> bool:
    """Constant-time equality of two strings (as UTF-8, so any text can be compared)."""
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))


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
    body: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": message.to.removeprefix("+"),
        "type": "template",
        "template": template,
    }
    if message.reference and len(message.reference) <= CALLBACK_DATA_MAX:
        body["biz_opaque_callback_data"] = message.reference  # echoed in the message's statuses
    return body


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
