"""When to try a failed delivery again, and how to read a provider's HTTP answer.

Pure: the random source is passed in, so delays are reproducible in tests.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

HttpOutcome = Literal["ok", "transient", "permanent"]

# Statuses worth retrying: the request timed out, came too early, was throttled,
# or the provider failed. Every other 4xx says the request itself is wrong.
_TRANSIENT_STATUSES = frozenset({408, 425, 429})


class RandomSource(Protocol):
    def random(self) -> float: ...


_default_rng = random.Random()  # noqa: S311 - jitter, not cryptography


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter for transient failures.

    ``attempt`` counts the attempts already made: after the first failure,
    ``delay(1)`` is about ``base_seconds``; each later one ``factor`` times longer,
    never more than ``cap_seconds``. ``jitter`` spreads each delay by up to that
    fraction either way, so a batch that failed together does not retry together.
    """

    base_seconds: float = 2.0
    factor: float = 2.0
    cap_seconds: float = 600.0
    max_attempts: int = 6
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.base_seconds <= 0 or self.factor < 1 or self.cap_seconds < self.base_seconds:
            raise ValueError("RetryPolicy needs base_seconds > 0, factor >= 1 and cap_seconds >= base_seconds")
        if self.max_attempts < 1 or not 0 <= self.jitter < 1:
            raise ValueError("RetryPolicy needs max_attempts >= 1 and 0 <= jitter < 1")

    def delay(self, attempt: int, retry_after: float | None = None, rng: RandomSource | None = None) -> float:
        """Seconds to wait before the next attempt, after ``attempt`` attempts failed.

        A provider's ``Retry-After`` wins over the backoff: we wait at least that
        long (plus up to ``jitter`` more, never less), but never beyond the cap.
        """
        if attempt < 1:
            raise ValueError(f"attempt counts attempts made, starting at 1; got {attempt}")
        source = rng or _default_rng
        if retry_after is not None and retry_after >= 0:
            return min(self.cap_seconds, retry_after * (1 + self.jitter * source.random()))
        # Exponent bounded so a huge attempt number cannot overflow a float.
        backoff = self.base_seconds * self.factor ** min(attempt - 1, 64)
        spread = 1 + self.jitter * (2 * source.random() - 1)
        return min(self.cap_seconds, backoff * spread)

    def gives_up(self, attempt: int) -> bool:
        """Whether ``attempt`` attempts are all this policy allows."""
        return attempt >= self.max_attempts


def classify_http(
    status: int,
    body: Any,
    *,
    transient_codes: Collection[int] = (),
    permanent_codes: Collection[int] = (),
) -> HttpOutcome:
    """How a provider's HTTP answer ends an attempt.

    2xx is ``ok``; 408, 425, 429 and 5xx are ``transient``; any other status is
    ``permanent``. A provider error code found in ``body`` (Graph API's
    ``{"error": {"code": ...}}`` or Twilio's ``{"code": ...}``) overrides the
    status when listed in ``transient_codes`` or ``permanent_codes``: WhatsApp
    reports some throttling as a 400.
    """
    if 200 <= status < 300:
        return "ok"
    code = provider_error_code(body)
    if code is not None and code in transient_codes:
        return "transient"
    if code is not None and code in permanent_codes:
        return "permanent"
    if status in _TRANSIENT_STATUSES or 500 <= status < 600:
        return "transient"
    return "permanent"


def provider_error_code(body: Any) -> int | None:
    """The numeric error code of a Graph API or Twilio error body, if there is one."""
    if not isinstance(body, Mapping):
        return None
    error = body.get("error")
    code = error.get("code") if isinstance(error, Mapping) else body.get("code")
    if isinstance(code, bool):
        return None
    if isinstance(code, int):
        return code
    if isinstance(code, str) and code.isdigit():
        return int(code)
    return None
