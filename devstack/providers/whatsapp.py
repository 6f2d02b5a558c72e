"""A stand-in for the WhatsApp Business Cloud API's template messages.

Checks each request as the Cloud API documents it: ``POST
/{api_version}/{phone_number_id}/messages`` with ``Authorization: Bearer
<token>`` and a JSON template message (``messaging_product`` ``whatsapp``,
``to`` in digits without ``+``, ``type`` ``template``, an approved template name,
language ``es``, one text parameter per ``{{n}}`` of the approved body). Answers
``200`` with ``contacts`` and ``messages[0].id`` (``wamid.``...), or a Graph API
error: ``{"error": {"message", "type", "code", "error_subcode", "error_data",
"fbtrace_id"}}``.

Numbers in ``undeliverable`` get error 131026 at once; numbers in
``undeliverable_later`` are accepted and then reported ``failed`` with 131026
through the webhook, which is how the real API mostly reports it.

With a ``webhook_url``, every accepted message is followed by Meta's status
notifications, POSTed there as the app's webhook: ``sent`` then ``delivered``
(or only ``failed``), each a ``whatsapp_business_account`` notification signed
in ``X-Hub-Signature-256`` with ``app_secret``; a send's
``biz_opaque_callback_data`` (a string of at most 512 characters) comes back in
each status of that message, as Meta documents. ``check_subscription`` plays the
GET Meta makes when the callback URL is configured.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from devstack.providers.server import Answer, Request, StandIn
from services.notifications.domain.templates import TEMPLATES

log = logging.getLogger(__name__)

DEV_PHONE_NUMBER_ID = "106540352242922"
DEV_ACCESS_TOKEN = "crm-dev-whatsapp-token"  # noqa: S105 - the local stand-in's
# The stand-in's Meta app and business account; the secrets match config's dev defaults.
DEV_APP_SECRET = "crm-dev-whatsapp-app-secret"  # noqa: S105
DEV_VERIFY_TOKEN = "crm-dev-whatsapp-verify-token"  # noqa: S105
DEV_BUSINESS_ACCOUNT_ID = "102290129340398"
# The local stack's number that WhatsApp accepts and then reports not on WhatsApp
# (131026), so the fallback to SMS can be seen end to end (devstack/infra.py).
DEV_NOT_ON_WHATSAPP = "+573005550999"
DEV_DISPLAY_PHONE_NUMBER = "15550783881"

# Meta's status notifications for one accepted message, a few milliseconds apart.
_FIRST_STATUS_DELAY = 0.02
_NEXT_STATUS_DELAY = 0.01
_NOT_ON_WHATSAPP = {
    "code": 131026,
    "title": "Message undeliverable",
    "message": "Message undeliverable",
    "error_data": {"details": "Message Undeliverable."},
}

_PATH = re.compile(r"^/(?P<version>v\d+\.\d+)/(?P<phone_number_id>[^/]+)/messages$")
_TOP_LEVEL = {"messaging_product", "recipient_type", "to", "type", "template", "biz_opaque_callback_data"}
_DIGITS = re.compile(r"^[1-9]\d{7,14}$")
_CALLBACK_DATA_MAX = 512

_ERRORS: dict[int, tuple[str, str]] = {
    # code: (message, type)
    1: ("An unknown error occurred", "OAuthException"),
    2: ("Service temporarily unavailable", "OAuthException"),
    100: ("(#100) Invalid parameter", "OAuthException"),
    190: ("Invalid OAuth access token - Cannot parse access token", "OAuthException"),
    2500: ("Unknown path components", "OAuthException"),
    130429: ("(#130429) Rate limit hit", "OAuthException"),
    131000: ("(#131000) Something went wrong", "OAuthException"),
    131016: ("(#131016) Service unavailable", "OAuthException"),
    131026: ("(#131026) Message undeliverable", "OAuthException"),
    131048: ("(#131048) Spam rate limit hit", "OAuthException"),
    131056: ("(#131056) (Business Account, Consumer Account) pair rate limit hit", "OAuthException"),
    132000: ("(#132000) Number of parameters does not match the expected number of params", "OAuthException"),
    132001: ("(#132001) Template name does not exist in the translation", "OAuthException"),
}
_CODE_FOR_STATUS = {429: 130429, 500: 131000, 502: 2, 503: 131016, 504: 2}


@dataclass(frozen=True)
class AcceptedWhatsApp:
    message_id: str
    to: str  # digits, as sent
    template: str
    language: str
    parameters: tuple[str, ...]
    callback_data: str = ""  # the send's biz_opaque_callback_data, echoed in its statuses


def approved_templates() -> dict[str, int]:
    """Our templates as approved in WhatsApp Manager: name -> number of body parameters."""
    return {t.whatsapp_template: len(t.whatsapp_parameters) for t in TEMPLATES.values()}


class WhatsAppStandIn(StandIn):
    """The Cloud API's ``/messages`` endpoint for one business phone number."""

    success_status = 200

    def __init__(
        self,
        *,
        phone_number_id: str = DEV_PHONE_NUMBER_ID,
        access_token: str = DEV_ACCESS_TOKEN,
        api_version: str = "v21.0",
        language: str = "es",
        templates: Mapping[str, int] | None = None,
        undeliverable: Iterable[str] = (),
        undeliverable_later: Iterable[str] = (),
        webhook_url: str | None = None,
        app_secret: str = DEV_APP_SECRET,
        verify_token: str = DEV_VERIFY_TOKEN,
        port: int = 0,
    ) -> None:
        super().__init__(port)
        self.phone_number_id = phone_number_id
        self.access_token = access_token
        self.api_version = api_version
        self.language = language
        self.templates = dict(approved_templates() if templates is None else templates)
        self.undeliverable = {n.lstrip("+") for n in undeliverable}
        self.undeliverable_later = {n.lstrip("+") for n in undeliverable_later}
        self.webhook_url = webhook_url  # may be set once our side is up
        self.app_secret = app_secret
        self.verify_token = verify_token
        self.accepted: list[AcceptedWhatsApp] = []

    def check_subscription(self, timeout: float = 2.0) -> bool:
        """Meta's check of a newly configured callback URL: a GET with
        ``hub.mode=subscribe``, our ``hub.verify_token`` and a ``hub.challenge``
        that must come back as the body of a 200."""
        if not self.webhook_url:
            raise RuntimeError("no webhook_url to check")
        challenge = str(secrets.randbelow(10**9))
        query = {"hub.mode": "subscribe", "hub.challenge": challenge, "hub.verify_token": self.verify_token}
        try:
            response = httpx.get(self.webhook_url, params=query, timeout=timeout)
        except httpx.HTTPError:
            return False
        return response.status_code == 200 and response.text == challenge

    def _report(self, message_id: str, to: str, callback_data: str = "") -> None:
        """Queue the status notifications Meta sends after accepting a message."""
        url = self.webhook_url
        if not url:
            return
        if to in self.undeliverable_later:
            statuses = [self._status(message_id, to, "failed", errors=[_NOT_ON_WHATSAPP])]
        else:
            statuses = [self._status(message_id, to, "sent"), self._status(message_id, to, "delivered")]
        for i, status in enumerate(statuses):
            if callback_data:
                status["biz_opaque_callback_data"] = callback_data
            body = json.dumps(self._notification(status), separators=(",", ":")).encode("utf-8")
            self.post_webhook(url, body, self._signed(body), delay=_NEXT_STATUS_DELAY if i else _FIRST_STATUS_DELAY)

    def _status(
        self, message_id: str, to: str, status: str, errors: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        now = int(time.time())
        item: dict[str, Any] = {"id": message_id, "status": status, "timestamp": str(now), "recipient_id": to}
        if errors:
            item["errors"] = errors
            return item
        conversation: dict[str, Any] = {"id": secrets.token_hex(16), "origin": {"type": "utility"}}
        if status == "sent":
            conversation["expiration_timestamp"] = str(now + 24 * 3600)
        item["conversation"] = conversation
        item["pricing"] = {"billable": True, "pricing_model": "CBP", "category": "utility"}
        return item

    def _notification(self, status: dict[str, Any]) -> dict[str, Any]:
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": DEV_DISPLAY_PHONE_NUMBER, "phone_number_id": self.phone_number_id},
            "statuses": [status],
        }
        change = {"value": value, "field": "messages"}
        return {"object": "whatsapp_business_account", "entry": [{"id": DEV_BUSINESS_ACCOUNT_ID, "changes": [change]}]}

    def _signed(self, body: bytes) -> dict[str, str]:
        key = self.app_secret.encode("utf-8")
        return {
            "Content-Type": "application/json",
            "User-Agent": "facebookexternalua",
            "X-Hub-Signature": "sha1=" + hmac.new(key, body, hashlib.sha1).hexdigest(),
            "X-Hub-Signature-256": "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest(),
        }

    def error(
        self, status: int, code: int | None, message: str, *, details: str = "", subcode: int | None = None
    ) -> Answer:
        code = code if code is not None else _CODE_FOR_STATUS.get(status, 100)
        text, kind = _ERRORS.get(code, (message, "OAuthException"))
        error: dict[str, Any] = {"message": text, "type": kind, "code": code}
        if subcode is not None:
            error["error_subcode"] = subcode
        if details or code >= 130000:
            error["error_data"] = {"messaging_product": "whatsapp", "details": details or text}
        error["fbtrace_id"] = "A" + secrets.token_urlsafe(16)
        return Answer.json(status, {"error": error})

    def handle(self, request: Request) -> Answer:
        match = _PATH.match(request.path)
        if request.method != "POST" or match is None:
            answer = self.error(400, 2500, "Unknown path components", details=f"{request.method} {request.path}")
            return self.violation(request, f"not the messages endpoint: {request.method} {request.path}", answer)
        if match["version"] != self.api_version or match["phone_number_id"] != self.phone_number_id:
            details = (
                f"Unsupported post request. Object with ID '{match['phone_number_id']}' does not exist, cannot be "
                "loaded due to missing permissions, or does not support this operation"
            )
            answer = self.error(400, 100, details, details=details, subcode=33)
            return self.violation(request, f"wrong API version or phone number id in {request.path}", answer)
        if request.headers.get("authorization", "") != f"Bearer {self.access_token}":
            answer = self.error(401, 190, "")
            return self.violation(request, "missing or wrong bearer token", answer)
        if request.content_type() != "application/json":
            answer = self.error(400, 100, "", details="the request body must be JSON")
            return self.violation(request, f"content type {request.content_type()!r}", answer)
        try:
            body = json.loads(request.body)
        except ValueError:
            answer = self.error(400, 100, "", details="the request body is not valid JSON")
            return self.violation(request, "body is not JSON", answer)
        problems = self.problems(body)
        if problems:
            answer = self.error(400, 100, "", details="; ".join(problems))
            return self.violation(request, "; ".join(problems), answer)
        return self._send(request, body)

    def problems(self, body: Any) -> list[str]:
        """What in ``body`` breaks the documented template-message schema."""
        if not isinstance(body, dict):
            return ["the body must be a JSON object"]
        found = [f"unexpected parameter {key!r}" for key in sorted(set(body) - _TOP_LEVEL)]
        if body.get("messaging_product") != "whatsapp":
            found.append("messaging_product must be 'whatsapp'")
        if body.get("recipient_type", "individual") != "individual":
            found.append("recipient_type must be 'individual'")
        to = body.get("to")
        if not isinstance(to, str) or not _DIGITS.match(to):
            found.append(f"to must be the phone number in digits with its country code, without '+': {to!r}")
        callback_data = body.get("biz_opaque_callback_data", "")
        if not isinstance(callback_data, str) or len(callback_data) > _CALLBACK_DATA_MAX:
            found.append(f"biz_opaque_callback_data must be a string of at most {_CALLBACK_DATA_MAX} characters")
        if body.get("type") != "template":
            found.append("type must be 'template' (a business-initiated conversation starts with a template)")
        template = body.get("template")
        if not isinstance(template, dict):
            return [*found, "template must be an object"]
        if not isinstance(template.get("name"), str) or not template["name"]:
            found.append("template.name must be a non-empty string")
        language = template.get("language")
        if not isinstance(language, dict) or language.get("code") != self.language:
            found.append(f"template.language must be {{'code': {self.language!r}}}, got {language!r}")
        found.extend(_component_problems(template.get("components", [])))
        return found

    def _send(self, request: Request, body: dict[str, Any]) -> Answer:
        template = body["template"]
        name = template["name"]
        parameters = tuple(
            parameter["text"]
            for component in template.get("components", [])
            if component.get("type") == "body"
            for parameter in component.get("parameters", [])
        )
        if name not in self.templates:
            details = f"template name ({name}) does not exist in {self.language}"
            answer = self.error(404, 132001, "", details=details)
            return self.violation(request, f"template {name!r} is not approved", answer)
        if len(parameters) != self.templates[name]:
            expected = self.templates[name]
            details = f"body: number of localizable_params ({len(parameters)}) does not match the expected ({expected})"
            answer = self.error(400, 132000, "", details=details)
            return self.violation(request, details, answer)
        to = body["to"]
        if to in self.undeliverable:
            return self.error(
                400, 131026, "", details="Message failed to send because the recipient is not on WhatsApp"
            )
        message_id = "wamid." + base64.b64encode(secrets.token_bytes(24)).decode("ascii")
        callback_data = body.get("biz_opaque_callback_data", "")
        accepted = AcceptedWhatsApp(message_id, to, name, template["language"]["code"], parameters, callback_data)
        with self._lock:
            self.accepted.append(accepted)
        log.info("whatsapp: accepted %s to +%s: template %s %s", message_id, to, name, list(parameters))
        self._report(message_id, to, callback_data)
        return Answer.json(
            200,
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": message_id, "message_status": "accepted"}],
            },
        )


def _component_problems(components: Any) -> list[str]:
    if not isinstance(components, list):
        return ["template.components must be a list"]
    found: list[str] = []
    for i, component in enumerate(components):
        if not isinstance(component, dict) or component.get("type") not in {"header", "body", "button"}:
            found.append(f"template.components[{i}] must be an object whose type is header, body or button")
            continue
        parameters = component.get("parameters", [])
        if not isinstance(parameters, list):
            found.append(f"template.components[{i}].parameters must be a list")
            continue
        for j, parameter in enumerate(parameters):
            where = f"template.components[{i}].parameters[{j}]"
            if not isinstance(parameter, dict) or parameter.get("type") != "text":
                found.append(f"{where} must be a text parameter")
                continue
            text = parameter.get("text")
            if not isinstance(text, str) or not text.strip():
                found.append(f"{where}.text must be a non-empty string")
            elif "\n" in text or "\t" in text or "     " in text:
                found.append(f"{where}.text cannot have new-line/tab characters or more than 4 consecutive spaces")
    return found
