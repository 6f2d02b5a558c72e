"""Caller assertions: who performs a call between services, signed.

A caller (the gateway for a logged-in user, a kiosk, another service) sends a
short-lived JWT naming the subject and role, signed with ``CRM_INTERNAL_SECRET``:
as gRPC metadata ``x-crm-caller`` or as nameko context data ``crm-caller``.
Services trust the role only after verifying it, so nobody gains the ``kiosk``
role by writing a header.
"""

from __future__ import annotations

import functools
import time

import jwt

from crm_platform.config import ConfigError, secret

ISSUER = "crm-social-internal"
TTL_SECONDS = 15 * 60


class InvalidCaller(Exception):
    """A call carries no caller assertion, or one that does not verify."""


@functools.cache
def _internal_secret() -> str:
    value = secret("CRM_INTERNAL_SECRET", "development-only-internal-secret-change-me")
    if len(value) < 32:
        raise ConfigError("CRM_INTERNAL_SECRET must be at least 32 characters")
    return value


def assert_caller(subject: str, role: str) -> str:
    """A signed assertion that ``subject`` with ``role`` makes the call.

    Reused while more than half its lifetime remains, so a busy caller signs
    (and the callee verifies) once per window instead of once per call.
    """
    window = int(time.time()) // (TTL_SECONDS // 2)
    return _signed(subject, role, window)


@functools.lru_cache(maxsize=1024)
def _signed(subject: str, role: str, window: int) -> str:
    issued = window * (TTL_SECONDS // 2)
    claims = {"sub": subject, "role": role, "iat": issued, "exp": issued + TTL_SECONDS, "iss": ISSUER}
    return jwt.encode(claims, _internal_secret(), algorithm="HS256")


def verify_caller(token: str | None) -> tuple[str, str]:
    """(subject, role) of a valid assertion; InvalidCaller otherwise."""
    if not token:
        raise InvalidCaller("Falta identificar a quien realiza la operación")
    subject, role, expires = _verified(str(token))
    if expires <= time.time():
        raise InvalidCaller("Identificación del llamador inválida: Signature has expired")
    return subject, role


@functools.lru_cache(maxsize=4096)
def _verified(token: str) -> tuple[str, str, int]:
    # A token is immutable: once its signature checks, only its expiry can change
    # the verdict, and that is checked on every use.
    try:
        claims = jwt.decode(
            str(token),
            _internal_secret(),
            algorithms=["HS256"],
            issuer=ISSUER,
            options={"require": ["exp", "sub", "role", "iss"]},
        )
    except jwt.InvalidTokenError as exc:
        raise InvalidCaller(f"Identificación del llamador inválida: {exc}") from None
    subject, role = str(claims["sub"]), str(claims["role"])
    if not subject or not role:
        raise InvalidCaller("Identificación del llamador incompleta")
    return subject, role, int(claims["exp"])
