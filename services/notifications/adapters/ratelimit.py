"""Per-channel send rates: one token bucket per channel, shared by the dispatcher's
threads. Rates come from configuration, e.g. ``NOTIFY_RATE_WHATSAPP=20/s``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

from crm_platform.config import ConfigError
from services.notifications.domain.model import ChannelName

PERIODS = {"s": 1.0, "m": 60.0, "h": 3600.0}


def parse_rate(raw: str, name: str = "rate") -> float | None:
    """Sends per second from "20/s", "600/m" or "20"; None for "" or "0" (unlimited)."""
    text = raw.strip().lower()
    if not text:
        return None
    count, _, period = text.partition("/")
    try:
        per_second = float(count) / PERIODS[period or "s"]
    except (ValueError, KeyError):
        raise ConfigError(f"{name} must look like 20/s, 600/m or 1000/h, got {raw!r}") from None
    return per_second if per_second > 0 else None


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up."""

    def __init__(self, rate: float, burst: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate)
        self._clock = clock
        self._tokens = self.burst
        self._stamp = clock()
        self._lock = threading.Lock()

    def try_take(self) -> float:
        """0 if a token was taken, else the seconds until one is available."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            if self._tokens >= 1:
                self._tokens -= 1
                return 0.0
            return (1 - self._tokens) / self.rate


class ChannelRateLimits:
    """A bucket per limited channel; channels without one are not limited."""

    def __init__(self, rates: Mapping[ChannelName, float | None]) -> None:
        self._buckets = {c: TokenBucket(r) for c, r in rates.items() if r}

    def acquire(self, channel: ChannelName, timeout: float) -> bool:
        bucket = self._buckets.get(channel)
        if bucket is None:
            return True
        deadline = time.monotonic() + timeout
        while (wait := bucket.try_take()) > 0:
            if time.monotonic() + wait > deadline:
                return False
            time.sleep(wait)
        return True

    @classmethod
    def from_env(cls, setting: Callable[[str, str], str]) -> ChannelRateLimits:
        defaults = {ChannelName.WHATSAPP: "20/s", ChannelName.SMS: "10/s", ChannelName.EMAIL: ""}
        rates = {}
        for channel, default in defaults.items():
            name = f"NOTIFY_RATE_{channel.upper()}"
            rates[channel] = parse_rate(setting(name, default), name)
        return cls(rates)
