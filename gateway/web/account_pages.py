"""Signing in and out of the web app. The sign-in form is throttled and audited
exactly like ``POST /api/v1/auth/login`` (the same ``LoginThrottle``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway import auth, errors
from gateway.account_routes import client_address
from gateway.throttle import Throttled
from gateway.web import session
from gateway.web.app import WebApp
from gateway.web.nav import ROLE_LABELS

REASONS = {
    "inactividad": "Su sesión se cerró tras un tiempo sin actividad. Inicie sesión de nuevo.",
    "vencida": "Su sesión venció o fue cerrada. Inicie sesión de nuevo.",
    "salida": "Cerró su sesión.",
}


def register(app: FastAPI, web: WebApp) -> None:
    secure = web.settings.web_secure_cookies

    def form(request: Request, *, status: int = 200, error: str = "", username: str = "") -> HTMLResponse:
        token = request.cookies.get(session.LOGIN_CSRF_COOKIE) or session.new_login_csrf()
        response = web.render(
            request,
            None,
            "login.html",
            status=status,
            title="Iniciar sesión",
            error=error,
            notice=REASONS.get(request.query_params.get("motivo", ""), ""),
            username=username,
            login_csrf=token,
            next=session.safe_next(request.query_params.get("siguiente")),
        )
        response.set_cookie(session.LOGIN_CSRF_COOKIE, token, **session.cookie_options(request, secure))
        return response

    @app.get(f"{session.PATH}/entrar", response_class=HTMLResponse, include_in_schema=False)
    def sign_in_form(request: Request) -> HTMLResponse:
        return form(request)

    @app.post(f"{session.PATH}/entrar", response_class=HTMLResponse, include_in_schema=False)
    def sign_in(
        request: Request,
        usuario: Annotated[str, Form(max_length=128)] = "",
        contrasena: Annotated[str, Form(max_length=256)] = "",
        csrf: Annotated[str, Form(max_length=128)] = "",
        siguiente: Annotated[str, Form(max_length=512)] = "",
    ) -> Response:
        expected = request.cookies.get(session.LOGIN_CSRF_COOKIE, "")
        if not expected or csrf != expected:
            return form(request, status=403, error="El formulario venció; intente de nuevo.", username=usuario)
        username, ip = auth.normalise(usuario), client_address(request)
        try:
            web.throttle.check(username, ip)
        except Throttled as exc:
            refused = form(request, status=429, error=exc.message, username=usuario)
            refused.headers["Retry-After"] = str(exc.seconds)
            return refused
        try:
            user = web.users.authenticate(username, contrasena)
        except errors.ApiError as exc:
            web.throttle.failure(username, ip)
            return form(request, status=401, error=exc.message, username=usuario)
        web.throttle.success(username, ip)
        if user.role not in ROLE_LABELS:
            return form(request, status=403, error="Esta cuenta no usa la aplicación web.", username=usuario)
        token = web.tokens.issue(user)
        claims = web.tokens.decode(token)
        response = RedirectResponse(session.safe_next(siguiente), status_code=303)
        session.set_session(response, request, token, web.tokens.ttl, secure)
        session.touch(response, request, web.keys, str(claims["jti"]), secure)
        response.delete_cookie(session.LOGIN_CSRF_COOKIE, **session.cookie_options(request, secure))
        return response

    @app.post(f"{session.PATH}/salir", include_in_schema=False)
    def sign_out(request: Request, csrf: Annotated[str, Form(max_length=128)] = "") -> Response:
        staff = web.staff(request)
        web.check_csrf(staff, csrf)
        claims = web.tokens.decode(request.cookies.get(session.SESSION_COOKIE, ""))
        web.users.log_out(staff.user.username, staff.jti, datetime.fromtimestamp(int(claims["exp"]), UTC))
        web.throttle.audit(staff.user.username, client_address(request), "web_logout")
        response = RedirectResponse(f"{session.PATH}/entrar?motivo=salida", status_code=303)
        session.clear(response, request, secure)
        return response
