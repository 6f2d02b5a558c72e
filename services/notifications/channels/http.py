"""What the HTTP channel adapters share: one request whose transport errors become failures.

A timeout becomes a ``TransientFailure``: the request may or may not have reached
the provider, so the message is tried again later (the service's message key
keeps our side idempotent; the provider may, rarely, deliver it twice). A reply
that is not JSON is returned with ``body=None`` for the adapter to judge.
"""

from __future__ import annotations

import email.utils
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from services.notifications.domain.model import PermanentFailure, TransientFailure

_EXCERPT = 200


@dataclass(frozen=True)
class HttpReply:
    status: int
    body: Any  # the decoded JSON, or None when the reply is not JSON
    text: str
    retry_after: float | None

    def excerpt(self) -> str:
        """The start of the raw reply, for a reason that shows what came back."""
        text = " ".join(self.text.split())
        return text[:_EXCERPT] + ("..." if len(text) > _EXCERPT else "")


def post(client: httpx.Client, url: str, provider: str, **request: Any) -> HttpReply:
    """POST to a provider; transport problems raise ``TransientFailure`` naming ``provider``."""
    return send(client, "POST", url, provider, **request)


def get(client: httpx.Client, url: str, provider: str, **request: Any) -> HttpReply:
    """GET from a provider, as ``post``."""
    return send(client, "GET", url, provider, **request)


def send(client: httpx.Client, method: str, url: str, provider: str, **request: Any) -> HttpReply:
    try:
        response = client.request(method, url, **request)
    except httpx.TimeoutException as exc:
        raise TransientFailure(
            f"{provider}: no answer within the timeout ({type(exc).__name__}); the message may or may not "
            "have been accepted"
        ) from exc
    except httpx.UnsupportedProtocol as exc:
        raise PermanentFailure(f"{provider}: misconfigured URL {url!r}: {exc}") from exc
    except httpx.TransportError as exc:
        raise TransientFailure(f"{provider}: cannot reach the provider: {type(exc).__name__}: {exc}") from exc
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    return HttpReply(
        status=response.status_code,
        body=body,
        text=response.text,
        retry_after=retry_after_seconds(response.headers.get("Retry-After")),
    )


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` header in seconds: either delay-seconds or an HTTP date (RFC 9110)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
