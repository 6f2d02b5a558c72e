"""A stand-in for Twilio's Programmable Messaging REST API (create a Message).

Checks each request as Twilio documents it: ``POST
/2010-04-01/Accounts/{AccountSid}/Messages.json`` with HTTP Basic auth
(AccountSid, AuthToken) and a form-encoded ``To`` (E.164), ``From`` (the
account's sender) and ``Body`` (at most 1,600 characters). Answers ``201`` with
the Message resource (``sid`` ``SM``..., ``status`` ``queued``), or Twilio's
error ``{"code", "message", "more_info", "status"}``.

``GET`` on the same resource lists the account's messages as Twilio does,
newest first, filtered by ``To`` and ``From`` and cut to ``PageSize`` (at most
1,000), in Twilio's page envelope (``messages``, ``page``, ``page_size``,
``uri``...).

Numbers in ``invalid_numbers`` get 21211, in ``landlines`` 21614 (not a mobile),
in ``unsubscribed`` 21610 (the recipient replied STOP).

A send with ``StatusCallback`` (an absolute http(s) URL, else 21609) is followed
by Twilio's status callbacks to that URL: ``sent`` then ``delivered``, or
``undelivered`` with ``ErrorCode`` 30003 for numbers in ``undelivered``. Each is
a form (``MessageSid``, ``MessageStatus``, ``AccountSid``, ``From``, ``To``,
``ApiVersion`` and the legacy ``SmsSid``, ``SmsStatus``) signed in
``X-Twilio-Signature``: the base64 HMAC-SHA1, keyed with the auth token, of the
URL followed by each parameter's name and value sorted by name.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import re
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

from devstack.providers.server import Answer, Request, StandIn
from services.notifications.domain.templates import sms_segments

log = logging.getLogger(__name__)

DEV_ACCOUNT_SID = "AC" + "0" * 31 + "1"
DEV_AUTH_TOKEN = "crm-dev-sms-token"  # noqa: S105 - the local stand-in's, matches config's dev default
DEV_SENDER = "+15005550006"

_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json$")
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")
_MAX_BODY = 1600
_MAX_URL = 2048
_MAX_PAGE = 1000
# Twilio's status callbacks for one message, a few milliseconds apart.
_FIRST_STATUS_DELAY = 0.02
_NEXT_STATUS_DELAY = 0.01
UNDELIVERED_CODE = "30003"  # unreachable destination handset

_MESSAGES = {
    20001: "Invalid parameter",
    20003: "Authenticate",
    20404: "The requested resource {path} was not found",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    20503: "Service Unavailable",
    21211: "Invalid 'To' Phone Number: {to}",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21606: "The 'From' phone number provided ({sender}) is not a valid message-capable phone number for this account.",
    21609: "Invalid StatusCallback url",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number {to} is not a valid mobile number",
    21617: "The concatenated message body exceeds the 1600 character limit.",
}
_CODE_FOR_STATUS = {401: 20003, 404: 20404, 429: 20429, 500: 20500, 503: 20503}


@dataclass(frozen=True)
class AcceptedSms:
    sid: str
    to: str
    sender: str
    body: str
    status_callback: str = ""
    created: datetime = field(default_factory=lambda: datetime.now(UTC))


class SmsStandIn(StandIn):
    """Twilio's ``Messages.json`` endpoint for one account."""

    success_status = 201

    def __init__(
        self,
        *,
        account_sid: str = DEV_ACCOUNT_SID,
        auth_token: str = DEV_AUTH_TOKEN,
        sender: str = DEV_SENDER,
        invalid_numbers: Iterable[str] = (),
        landlines: Iterable[str] = (),
        unsubscribed: Iterable[str] = (),
        undelivered: Iterable[str] = (),
        port: int = 0,
    ) -> None:
        super().__init__(port)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.sender = sender
        self.invalid_numbers = set(invalid_numbers)
        self.landlines = set(landlines)
        self.unsubscribed = set(unsubscribed)
        self.undelivered = set(undelivered)
        self.accepted: list[AcceptedSms] = []

    def error(self, status: int, code: int | None, message: str, **context: str) -> Answer:
        code = code if code is not None else _CODE_FOR_STATUS.get(status, 20500)
        template = _MESSAGES.get(code, message)
        return Answer.json(
            status,
            {
                "code": code,
                "message": template.format(**{"path": "", "to": "", "sender": "", **context}),
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status,
            },
        )

    def handle(self, request: Request) -> Answer:
        match = _PATH.match(request.path)
        if request.method == "GET" and match is not None and match["sid"] == self.account_sid:
            return self._list(request)
        if request.method != "POST" or match is None or match["sid"] != self.account_sid:
            answer = self.error(404, 20404, "", path=request.path)
            return self.violation(
                request, f"not this account's Messages resource: {request.method} {request.path}", answer
            )
        if _basic_auth(request.headers.get("authorization", "")) != (self.account_sid, self.auth_token):
            return self.violation(request, "missing or wrong HTTP Basic credentials", self.error(401, 20003, ""))
        if request.content_type() != "application/x-www-form-urlencoded":
            answer = self.error(400, 21604, "")
            return self.violation(request, f"content type {request.content_type()!r}, not a form", answer)
        try:
            form = parse_qs(request.body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(request.body))
        except (UnicodeDecodeError, ValueError):
            return self.violation(request, "body is not a UTF-8 form", self.error(400, 21604, ""))
        repeated = sorted(key for key, values in form.items() if len(values) > 1)
        if repeated:
            return self.violation(request, f"repeated parameters {repeated}", self.error(400, 21604, ""))
        fields = {key: values[0] for key, values in form.items()}
        problem = self._problem(fields)
        if problem is not None:
            code, description = problem
            answer = self.error(400, code, "", to=fields.get("To", ""), sender=fields.get("From", ""))
            return self.violation(request, description, answer)
        return self._send(fields)

    def _list(self, request: Request) -> Answer:
        """Twilio's Read multiple Message resources: newest first, by To and From."""
        if _basic_auth(request.headers.get("authorization", "")) != (self.account_sid, self.auth_token):
            return self.violation(request, "missing or wrong HTTP Basic credentials", self.error(401, 20003, ""))
        query = dict(parse_qsl(request.query, keep_blank_values=True))
        try:
            size = int(query.get("PageSize", "50"))
        except ValueError:
            size = 0
        if not 1 <= size <= _MAX_PAGE:
            return self.violation(request, f"PageSize {query.get('PageSize')!r}", self.error(400, 20001, ""))
        with self._lock:
            found = [
                m
                for m in reversed(self.accepted)
                if query.get("To", m.to) == m.to and query.get("From", m.sender) == m.sender
            ][:size]
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json?{urlencode({**query, 'PageSize': size})}"
        page = {
            "messages": [self._resource(m.sid, m.to, m.sender, m.body, m.created) for m in found],
            "end": max(len(found) - 1, 0),
            "first_page_uri": uri + "&Page=0",
            "next_page_uri": None,
            "page": 0,
            "page_size": size,
            "previous_page_uri": None,
            "start": 0,
            "uri": uri + "&Page=0",
        }
        return Answer.json(200, page)

    def _problem(self, fields: dict[str, str]) -> tuple[int, str] | None:
        to, sender, body = fields.get("To", ""), fields.get("From", ""), fields.get("Body", "")
        if not to:
            return 21604, "To is missing"
        if not sender:
            return 21603, "From is missing"
        if not body:
            return 21602, "Body is missing or empty"
        if not _E164.match(to):
            return 21211, f"To is not E.164: {to!r}"
        if sender != self.sender:
            return 21606, f"From {sender!r} is not the account's sender {self.sender!r}"
        if len(body) > _MAX_BODY:
            return 21617, f"Body has {len(body)} characters, over {_MAX_BODY}"
        callback = fields.get("StatusCallback")
        if callback is not None and not _is_http_url(callback):
            return (
                21609,
                f"StatusCallback is not an absolute http(s) URL of at most {_MAX_URL} characters: {callback!r}",
            )
        return None

    def _send(self, fields: dict[str, str]) -> Answer:
        to, sender, body = fields["To"], fields["From"], fields["Body"]
        for numbers, code in ((self.invalid_numbers, 21211), (self.landlines, 21614), (self.unsubscribed, 21610)):
            if to in numbers:
                return self.error(400, code, "", to=to)
        sid = "SM" + secrets.token_hex(16)
        callback = fields.get("StatusCallback", "")
        accepted = AcceptedSms(sid, to, sender, body, callback)
        with self._lock:
            self.accepted.append(accepted)
        log.info("sms: accepted %s to %s: %s", sid, to, body)
        if callback:
            self._report(callback, sid, to, sender)
        return Answer.json(201, self._resource(sid, to, sender, body, accepted.created))

    def _report(self, url: str, sid: str, to: str, sender: str) -> None:
        """Queue the status callbacks Twilio sends after accepting a message."""
        final = "undelivered" if to in self.undelivered else "delivered"
        for i, status in enumerate(("sent", final)):
            params = {
                "ApiVersion": "2010-04-01",
                "AccountSid": self.account_sid,
                "From": sender,
                "To": to,
                "MessageSid": sid,
                "SmsSid": sid,
                "MessageStatus": status,
                "SmsStatus": status,
            }
            if status == "undelivered":
                params["ErrorCode"] = UNDELIVERED_CODE
            headers = {
                "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                "User-Agent": "TwilioProxy/1.1",
                "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
                "X-Twilio-Signature": _signature(self.auth_token, url, params),
            }
            body = urlencode(params).encode("utf-8")
            self.post_webhook(url, body, headers, delay=_NEXT_STATUS_DELAY if i else _FIRST_STATUS_DELAY)

    def _resource(self, sid: str, to: str, sender: str, body: str, created: datetime) -> dict[str, Any]:
        now = format_datetime(created, usegmt=True)
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}"
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": sender,
            "messaging_service_sid": None,
            "num_media": "0",
            "num_segments": str(sms_segments(body)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": to,
            "uri": f"{uri}.json",
        }


def _signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    signed = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(
        hmac.new(auth_token.encode("utf-8"), signed.encode("utf-8"), hashlib.sha1).digest()
    ).decode()


def _is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return len(value) <= _MAX_URL and parts.scheme in {"http", "https"} and bool(parts.hostname)


def _basic_auth(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password
