"""Canonical bytes of a record, so a hash or a signature means one thing.

JSON with sorted keys, no insignificant whitespace, UTF-8 (not ASCII escapes),
and no floats that JSON cannot round-trip (NaN, infinities). Integral floats are
written as integers, as JavaScript would (``1.0`` -> ``1``), so a value that
travels through another language hashes the same.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any


class NotCanonicalisable(ValueError):
    """The value holds something without a canonical JSON form."""


def _normalise(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NotCanonicalisable(f"non-finite number {value!r}")
        return int(value) if value.is_integer() else value
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise NotCanonicalisable("object keys must be strings")
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    raise NotCanonicalisable(f"unsupported type {type(value).__name__}")


def canonical_bytes(value: Any) -> bytes:
    return json.dumps(
        _normalise(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def digest(value: Any) -> str:
    """SHA-256 (hex) of the canonical bytes."""
    return hashlib.sha256(canonical_bytes(value)).hexdigest()
