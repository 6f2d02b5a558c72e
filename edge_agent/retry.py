"""Exponential backoff with jitter for the kiosk's retries (pure; no I/O)."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Delay before retry number ``attempt`` (1, 2, 3...): the ceiling doubles from
    ``base`` up to ``cap``; the delay is drawn uniformly from the upper half of it.

    Keeping the lower half out ("equal jitter") means a retry never comes sooner than
    half the ceiling, so a kiosk cannot spin on a dead link, while kiosks that lost
    the bus at the same moment spread their reconnections instead of arriving together.
    """

    base: float = 1.0
    cap: float = 300.0
    factor: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.base <= self.cap or self.factor < 1:
            raise ValueError(f"invalid backoff: base={self.base} cap={self.cap} factor={self.factor}")

    def ceiling(self, attempt: int) -> float:
        if attempt < 1:
            return 0.0
        # The exponent is clamped before it can overflow a float.
        exponent = min(attempt - 1, 64)
        return float(min(self.cap, self.base * self.factor**exponent))

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        ceiling = self.ceiling(attempt)
        return (rng or _rng).uniform(ceiling / 2, ceiling)


# Jitter needs no cryptographic quality.
_rng = random.Random()  # noqa: S311
