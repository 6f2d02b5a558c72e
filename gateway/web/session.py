"""The staff web app's session: the same signed token the API uses, kept in an
HttpOnly cookie, plus what a browser session needs on top of it.

- **Cookie**: ``crm_sesion`` holds the token (HttpOnly, SameSite=Strict, path
  ``/app``, Secure when the request came over TLS or ``secure`` is set). Logout,
  deactivation and password change revoke it exactly as for the API.
- **Idle timeout**: ``crm_actividad`` holds the time of the last request, signed and
  bound to the token's id; a session idle for longer than ``idle_seconds`` is logged
  out (its token revoked), not merely hidden.
- **CSRF**: every form carries a token derived from the session's token id (HMAC
  with a key of its own); a POST without the right one is refused. The sign-in form,
  which has no session yet, uses a double-submitted random cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response

SESSION_COOKIE = "crm_sesion"
ACTIVITY_COOKIE = "crm_actividad"
LOGIN_CSRF_COOKIE = "crm_csrf"
PATH = "/app"


@dataclass(frozen=True)
class SessionKeys:
    """Keys derived from the gateway's token secret, one per purpose."""

    csrf: bytes
    activity: bytes

    @classmethod
    def derive(cls, secret: str) -> SessionKeys:
        def key(purpose: str) -> bytes:
            return hmac.new(secret.encode(), f"crm-web:{purpose}".encode(), hashlib.sha256).digest()

        return cls(csrf=key("csrf"), activity=key("activity"))


def _mac(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def csrf_token(keys: SessionKeys, jti: str) -> str:
    return _mac(keys.csrf, jti)


def csrf_valid(keys: SessionKeys, jti: str, presented: str) -> bool:
    return bool(presented) and hmac.compare_digest(csrf_token(keys, jti), presented)


def activity_value(keys: SessionKeys, jti: str, at: float | None = None) -> str:
    stamp = str(int(at if at is not None else time.time()))
    return f"{stamp}.{_mac(keys.activity, f'{jti}|{stamp}')}"


def idle_for(keys: SessionKeys, jti: str, value: str | None, now: float | None = None) -> float | None:
    """Seconds since the last request of this session, or None if the cookie is
    missing, forged or belongs to another session."""
    stamp, _, mac = (value or "").partition(".")
    if not stamp.isdigit() or not hmac.compare_digest(_mac(keys.activity, f"{jti}|{stamp}"), mac):
        return None
    return (now if now is not None else time.time()) - int(stamp)


def is_secure(request: Request, force: bool) -> bool:
    return force or request.url.scheme == "https"


def cookie_options(request: Request, force_secure: bool) -> dict[str, Any]:
    return {"httponly": True, "samesite": "strict", "path": PATH, "secure": is_secure(request, force_secure)}


def set_session(response: Response, request: Request, token: str, max_age: int, force_secure: bool) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age, **cookie_options(request, force_secure))


def touch(response: Response, request: Request, keys: SessionKeys, jti: str, force_secure: bool) -> None:
    response.set_cookie(ACTIVITY_COOKIE, activity_value(keys, jti), **cookie_options(request, force_secure))


def clear(response: Response, request: Request, force_secure: bool) -> None:
    for name in (SESSION_COOKIE, ACTIVITY_COOKIE):
        response.delete_cookie(name, **cookie_options(request, force_secure))


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: only a path inside the app (no open redirect)."""
    if target and target.startswith(f"{PATH}/") and not target.startswith("//") and "\\" not in target:
        return target
    return f"{PATH}/"
