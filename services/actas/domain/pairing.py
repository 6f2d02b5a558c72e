"""One-time pairing codes: how a coordinator approves a kiosk or desk reader.

A coordinator issues a code for one community; an operator types it on the
device, which presents it with its public key. The code is short enough to type
(8 characters from an alphabet without look-alikes: no 0/O, 1/I/L), lives 24 hours,
pairs one device and is stored only as its SHA-256. Guessing is bounded by the
gateway's throttle on failed pairings (about 40 bits per code, a handful of tries
per address and in total before exponential locks).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
CODE_LIFETIME = timedelta(hours=24)


@dataclass(frozen=True)
class IssuedCode:
    """A pairing code as stored: its hash, never the code itself."""

    code_sha256: str
    community_id: str
    description: str
    issued_by: str
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    used_by_device: str = ""
    used_with_key: str = ""


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def display(code: str) -> str:
    """``ABCD-EFGH``: easier to read aloud and type."""
    return f"{code[:4]}-{code[4:]}"


def normalise(typed: str) -> str | None:
    """The code as typed (any case, spaces or dashes), or None if it cannot be one."""
    code = "".join(ch for ch in typed.upper() if ch not in " -")
    if len(code) != CODE_LENGTH or any(ch not in ALPHABET for ch in code):
        return None
    return code


def code_hash(code: str) -> str:
    return hashlib.sha256(f"crm-pairing-code\n{code}".encode()).hexdigest()
