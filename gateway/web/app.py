"""The staff web app: server-rendered Spanish pages under ``/app``, in the
gateway's process, with the API's authentication and role rules.

Each page module (``dashboard``, ``actas_pages``, ...) registers its routes with a
``WebApp``, which gives them the signed-in user (``staff``), rendering with the
navigation the user's role may see (``render``), and CSRF checks (``check_csrf``).
Data comes from the services over gRPC with the user's identity, exactly as the
API's routes do, and goes through the same redaction (``gateway.policy``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from gateway import auth, errors
from gateway.config import GatewaySettings
from gateway.deps import Backend
from gateway.throttle import LoginThrottle
from gateway.web import session
from gateway.web.nav import ROLE_LABELS, section, visible_sections

HERE = Path(__file__).parent
# Front-end packages pinned by gateway/web/package-lock.json, installed by
# scripts/bootstrap.sh (`npm ci`): never fetched from a CDN at run time.
VENDOR = HERE / "node_modules"
VENDORED = {"htmx.min.js": VENDOR / "htmx.org" / "dist" / "htmx.min.js"}


class SignInRequired(Exception):
    def __init__(self, target: str, reason: str = "") -> None:
        self.target, self.reason = target, reason


class Forbidden(Exception):
    def __init__(self, message: str = "Su rol no tiene permiso para ver esta página.") -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Staff:
    user: auth.User
    jti: str
    csrf: str


class WebApp:
    def __init__(
        self,
        backend: Backend,
        users: auth.UserStore,
        tokens: auth.Tokens,
        throttle: LoginThrottle,
        settings: GatewaySettings,
    ) -> None:
        self.backend, self.users, self.tokens, self.throttle = backend, users, tokens, throttle
        self.settings = settings
        self.keys = session.SessionKeys.derive(settings.jwt_secret)
        self.templates = Jinja2Templates(directory=HERE / "templates")
        self.templates.env.globals["role_label"] = lambda role: ROLE_LABELS.get(role, role)

    # -- the signed-in user ----------------------------------------------------------
    def staff(self, request: Request) -> Staff:
        """The user of this request's session, or SignInRequired (a redirect to the
        sign-in page): no cookie, a revoked or expired token, an idle session."""
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        token = request.cookies.get(session.SESSION_COOKIE)
        if not token:
            raise SignInRequired(target)
        try:
            claims = self.tokens.decode(token)
            user = self.tokens.verify(token)
        except errors.ApiError:
            raise SignInRequired(target, "vencida") from None
        if user.role not in ROLE_LABELS:  # kiosks have no business here
            raise SignInRequired(target)
        jti = str(claims["jti"])
        idle = session.idle_for(self.keys, jti, request.cookies.get(session.ACTIVITY_COOKIE))
        if idle is None or idle > self.settings.web_idle_seconds:
            self._revoke(user, claims)
            raise SignInRequired(target, "inactividad")
        return Staff(user, jti, session.csrf_token(self.keys, jti))

    def member(self, request: Request, path: str) -> Staff:
        """The signed-in user, if their role may see the section at ``path``
        (``nav.SECTIONS``); otherwise Forbidden, a 403 page."""
        staff = self.staff(request)
        if not section(path).allowed(staff.user.role):
            raise Forbidden()
        return staff

    def _revoke(self, user: auth.User, claims: dict[str, Any]) -> None:
        from datetime import UTC, datetime

        self.users.log_out(user.username, str(claims["jti"]), datetime.fromtimestamp(int(claims["exp"]), UTC))

    def check_csrf(self, staff: Staff, presented: str) -> None:
        if not session.csrf_valid(self.keys, staff.jti, presented):
            raise Forbidden("El formulario venció o no es de esta sesión; recargue la página e intente de nuevo.")

    # -- rendering ------------------------------------------------------------------
    def render(
        self, request: Request, staff: Staff | None, template: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        context.setdefault("title", "CRM Social")
        if staff is not None:
            context["user"] = staff.user
            context["csrf"] = staff.csrf
            context["sections"] = visible_sections(staff.user.role)
        context["path"] = request.url.path
        response = self.templates.TemplateResponse(request, template, context, status_code=status)
        if staff is not None:
            session.touch(response, request, self.keys, staff.jti, self.settings.web_secure_cookies)
        response.headers["Cache-Control"] = "no-store"  # a shared laptop's back button shows nothing
        return response


def warm_up() -> None:
    """Start the chart renderer's engine off the request path (it takes seconds)."""
    from gateway.web import charts

    charts.warm_up()


def install(app: FastAPI, web: WebApp) -> None:
    """Exception handlers, the static files and the pages."""
    from gateway.web import (
        account_pages,
        acta_desk_pages,
        actas_pages,
        admin_pages,
        community_pages,
        dashboard,
        financial_pages,
        kiosk_pages,
        kpi_pages,
        notification_pages,
        people_pages,
        person_forms,
        plan_document,
        plan_pages,
        register_pages,
        unit_detail,
        unit_pages,
        unit_tasks,
        workflow_pages,
    )

    @app.exception_handler(SignInRequired)
    async def sign_in(request: Request, exc: SignInRequired) -> Response:
        where = f"{session.PATH}/entrar?siguiente={quote(exc.target, safe='')}"
        if exc.reason:
            where += f"&motivo={exc.reason}"
        if request.headers.get("HX-Request") == "true":
            # A partial update (htmx) would swap the sign-in page into the middle of
            # this one: tell htmx to load it as a whole page instead.
            response: Response = Response(status_code=200, headers={"HX-Redirect": where})
        else:
            response = RedirectResponse(where, status_code=303)
        session.clear(response, request, web.settings.web_secure_cookies)
        return response

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        try:
            staff = web.staff(request)
        except SignInRequired:
            staff = None
        return web.render(
            request,
            staff,
            "error.html",
            status=403,
            title="Sin permiso",
            message="Su rol no tiene permiso para ver esta página.",
        )

    @app.get(session.PATH, include_in_schema=False)
    def app_root() -> Response:
        return RedirectResponse(f"{session.PATH}/", status_code=307)

    app.mount(f"{session.PATH}/static", StaticFiles(directory=HERE / "static"), name="web-static")

    @app.get(f"{session.PATH}/vendor/{{name}}", include_in_schema=False)
    def vendored(name: str) -> Response:
        path = VENDORED.get(name)
        if path is None or not path.is_file():
            return Response("No encontrado", status_code=404, media_type="text/plain; charset=utf-8")
        return Response(
            path.read_bytes(), media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"}
        )

    account_pages.register(app, web)
    dashboard.register(app, web)
    acta_desk_pages.register(app, web)  # before actas_pages: /app/actas/nueva is not an acta's id
    actas_pages.register(app, web)
    community_pages.register(app, web)
    admin_pages.register(app, web)
    notification_pages.register(app, web)
    workflow_pages.register(app, web)
    register_pages.register(app, web)  # before people_pages: /app/comunidades/nueva is no community id
    person_forms.register(app, web)
    people_pages.register(app, web)
    kiosk_pages.register(app, web)
    kpi_pages.register(app, web)
    unit_pages.register(app, web)  # before unit_detail: /app/unidades/tablero is no UP's id
    unit_detail.register(app, web)
    unit_tasks.register(app, web)
    plan_pages.register(app, web)
    plan_document.register(app, web)
    financial_pages.register(app, web)
