"""HTTP routes for a person's session and account: login (throttled), logout,
password change, and (admins) deactivation and reactivation of accounts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from crm_platform.access import KIOSK
from gateway import auth, errors, schemas
from gateway import responses as R
from gateway.deps import User
from gateway.policy import GATEWAY
from gateway.throttle import LoginThrottle, Throttled

API = "/api/v1"


class PasswordChangeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(max_length=256)
    new_password: str = Field(max_length=256)


class PasswordResetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    new_password: str = Field(max_length=256)


def client_address(request: Request) -> str:
    # Behind a proxy, uvicorn puts the forwarded client here when the proxy is
    # trusted (FORWARDED_ALLOW_IPS).
    return request.client.host if request.client else "desconocido"


def _bearer(authorization: str | None) -> str:
    return (authorization or "").partition(" ")[2]


def register(
    app: FastAPI,
    users: auth.UserStore,
    tokens: auth.Tokens,
    revoked: auth.RevokedTokens,
    throttle: LoginThrottle,
) -> None:
    @app.exception_handler(Throttled)
    async def throttled(_: Request, exc: Throttled) -> JSONResponse:
        return JSONResponse(errors.body(exc.message), status_code=429, headers={"Retry-After": str(exc.seconds)})

    def session(user: auth.User) -> dict[str, Any]:
        return {"access_token": tokens.issue(user), "token_type": "bearer", "expires_in": tokens.ttl, "role": user.role}

    @app.post(f"{API}/auth/login", tags=["auth"], response_model=R.SessionOut, responses=R.failures(400, 401, 413, 429))
    def login(body: schemas.LoginRequest, request: Request) -> dict[str, Any]:
        """A bearer token. Repeated failures lock the account and the client for a
        while (429 with Retry-After), checked before the password is hashed."""
        username, ip = auth.normalise(body.username), client_address(request)
        throttle.check(username, ip)
        try:
            user = users.authenticate(username, body.password)
        except errors.ApiError:
            throttle.failure(username, ip)
            raise
        throttle.success(username, ip)
        return session(user)

    @app.post(f"{API}/auth/logout", status_code=204, tags=["auth"], responses=R.failures(401))
    def logout(user: User, request: Request) -> Response:
        """Revoke the token of this request; it is refused from the next request on."""
        claims = tokens.decode(_bearer(request.headers.get("authorization")))  # verified: ``user`` came from it
        expires = datetime.fromtimestamp(int(claims["exp"]), UTC)
        if user.role == KIOSK:
            revoked.revoke(str(claims["jti"]), expires)
        else:
            users.log_out(user.username, str(claims["jti"]), expires)
        throttle.audit(user.username, client_address(request), "logout")
        return Response(status_code=204)

    @app.post(
        f"{API}/auth/password",
        tags=["auth"],
        response_model=R.SessionOut,
        responses=R.failures(400, 401, 403, 413, 429),
    )
    def change_password(body: PasswordChangeRequest, user: User, request: Request) -> dict[str, Any]:
        """Change one's own password: every earlier token (on every device) stops
        working; the answer carries a new token."""
        ip = client_address(request)
        if user.role == KIOSK:
            raise errors.ApiError(403, "Su rol no tiene permiso para esta operación")
        throttle.check(user.username, ip)
        try:
            users.authenticate(user.username, body.current_password)
        except errors.ApiError:
            throttle.failure(user.username, ip)
            raise errors.ApiError(
                400, "Solicitud inválida", {"current_password": "La contraseña actual no es correcta"}
            ) from None
        if body.new_password == body.current_password:
            raise errors.ApiError(
                400, "Solicitud inválida", {"new_password": "La contraseña nueva debe ser distinta de la actual"}
            )
        changed = users.change_password(user.username, body.new_password)
        throttle.audit(user.username, ip, "password_changed")
        return session(changed)

    def set_active(username: str, user: auth.User, request: Request, active: bool) -> dict[str, Any]:
        auth.require(user, GATEWAY, "CreateUser")  # those who manage accounts
        username = auth.normalise(username)
        if username == user.username and not active:
            raise errors.ApiError(409, "No puede desactivar su propia cuenta")
        users.set_active(username, active)
        throttle.audit(username, client_address(request), "reactivated" if active else "deactivated", by=user.username)
        return {"username": username, "active": active}

    @app.post(
        f"{API}/users/{{username}}/password-reset", tags=["auth"], response_model=R.AccountStateOut, responses=R.ACTION
    )
    def reset_password(username: str, body: PasswordResetRequest, user: User, request: Request) -> dict[str, Any]:
        """Admins: set a forgotten password; the account's earlier tokens are refused at once."""
        auth.require(user, GATEWAY, "CreateUser")  # those who manage accounts
        username = auth.normalise(username)
        active = users.reset_password(username, body.new_password)
        throttle.audit(username, client_address(request), "password_reset", by=user.username)
        return {"username": username, "active": active}

    @app.post(
        f"{API}/users/{{username}}/deactivation", tags=["auth"], response_model=R.AccountStateOut, responses=R.ACTION
    )
    def deactivate_user(username: str, user: User, request: Request) -> dict[str, Any]:
        """Admins: the account can no longer log in and its tokens are refused at once."""
        return set_active(username, user, request, active=False)

    @app.post(
        f"{API}/users/{{username}}/reactivation", tags=["auth"], response_model=R.AccountStateOut, responses=R.ACTION
    )
    def reactivate_user(username: str, user: User, request: Request) -> dict[str, Any]:
        """Admins: the account can log in again (tokens from before stay refused)."""
        return set_active(username, user, request, active=True)
