"""When to try again after a failed PDF: exponential backoff with a cap and jitter;
and how long a producer holds a record while it makes the PDF.

A failed render is never given up on: a sealed acta must end with its document.
After many attempts the wait stays at the cap and the record keeps the last error
for operators to see.
"""

from __future__ import annotations

import random
from datetime import timedelta

BASE_SECONDS = 2.0
CAP_SECONDS = 600.0

# A producer leases a record before rendering it and renews the lease just before
# the upload. Rendering and signing take well under a second, so 30 s is ample;
# it is also how long a record held by a killed process waits for the retry loop.
LEASE = timedelta(seconds=30)


def backoff(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Wait before attempt ``attempts + 1``: 2 s, 4 s, 8 s ... up to 10 min, ±20 %."""
    raw = min(CAP_SECONDS, BASE_SECONDS * 2 ** max(0, attempts - 1))
    jitter = (rng or random).uniform(0.8, 1.2)
    return timedelta(seconds=raw * jitter)
