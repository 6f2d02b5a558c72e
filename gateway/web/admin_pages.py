"""Administración: staff accounts. Create (field errors beside each field),
deactivate and reactivate, reset a forgotten password, with the same rules, store
and audit as the API's ``POST /users``, ``/users/{username}/deactivation`` and
``/users/{username}/password-reset``; and the roles, each with the sections of the
web app it opens (read from the services' access tables through ``nav``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from crm_platform.access import USER_ROLES
from gateway import actas_routes, auth, errors
from gateway.account_routes import client_address
from gateway.web.app import Staff, WebApp
from gateway.web.nav import ROLE_LABELS, visible_sections

PAGE = "/app/administracion"
FIELDS = ("username", "full_name", "document", "title", "role", "password")


def register(app: FastAPI, web: WebApp) -> None:
    def staff_admin(request: Request) -> Staff:
        return web.member(request, PAGE)

    def page(
        request: Request,
        staff: Staff,
        *,
        status: int = 200,
        values: dict[str, str] | None = None,
        problems: dict[str, str] | None = None,
        notice: str = "",
    ) -> HTMLResponse:
        return web.render(
            request,
            staff,
            "administracion.html",
            status=status,
            title="Administración",
            accounts=web.users.accounts(),
            roles={r: ROLE_LABELS[r] for r in USER_ROLES},
            role_sections={r: [s.label for s in visible_sections(r)] for r in USER_ROLES},
            values=values or {},
            problems=problems or {},
            notice=notice,
        )

    @app.get(PAGE, response_class=HTMLResponse, include_in_schema=False)
    def accounts(request: Request) -> HTMLResponse:
        staff = staff_admin(request)
        done = {
            "creada": "Cuenta creada.",
            "desactivada": "Cuenta desactivada.",
            "activada": "Cuenta reactivada.",
            "contrasena": "Contraseña restablecida; las sesiones abiertas de esa cuenta se cerraron.",
        }
        return page(request, staff, notice=done.get(request.query_params.get("hecho", ""), ""))

    @app.post(f"{PAGE}/usuarios", response_class=HTMLResponse, include_in_schema=False)
    def create(
        request: Request,
        csrf: Annotated[str, Form(max_length=128)] = "",
        username: Annotated[str, Form(max_length=64)] = "",
        full_name: Annotated[str, Form(max_length=120)] = "",
        document: Annotated[str, Form(max_length=40)] = "",
        title: Annotated[str, Form(max_length=80)] = "",
        role: Annotated[str, Form(max_length=32)] = "",
        password: Annotated[str, Form(max_length=256)] = "",
    ) -> Response:
        staff = staff_admin(request)
        web.check_csrf(staff, csrf)
        values = {"username": username, "full_name": full_name, "document": document, "title": title, "role": role}
        try:
            created = web.users.create(username, password, role, full_name, document, title)
        except errors.ApiError as exc:
            return page(request, staff, status=exc.status, values=values, problems=exc.fields or {"": exc.message})
        actas_routes.put_staff_profile(web.backend, created)
        web.throttle.audit(created.username, client_address(request), "created", by=staff.user.username)
        return RedirectResponse(f"{PAGE}?hecho=creada", status_code=303)

    @app.post(f"{PAGE}/usuarios/{{username}}/contrasena", include_in_schema=False)
    def reset_password(
        request: Request,
        username: str,
        csrf: Annotated[str, Form(max_length=128)] = "",
        nueva: Annotated[str, Form(max_length=256)] = "",
    ) -> Response:
        staff = staff_admin(request)
        web.check_csrf(staff, csrf)
        target = auth.normalise(username)
        try:
            web.users.reset_password(target, nueva)
        except errors.ApiError as exc:
            fields = {f"reset-{target}": msg for msg in (exc.fields or {}).values()} or {"": exc.message}
            return page(request, staff, status=exc.status, problems=fields)
        web.throttle.audit(target, client_address(request), "password_reset", by=staff.user.username)
        return RedirectResponse(f"{PAGE}?hecho=contrasena", status_code=303)

    @app.post(f"{PAGE}/usuarios/{{username}}/estado", include_in_schema=False)
    def set_active(
        request: Request,
        username: str,
        csrf: Annotated[str, Form(max_length=128)] = "",
        activa: Annotated[str, Form(max_length=2)] = "",
    ) -> Response:
        staff = staff_admin(request)
        web.check_csrf(staff, csrf)
        active = activa == "1"
        target = auth.normalise(username)
        if target == staff.user.username and not active:
            return page(request, staff, status=409, problems={"": "No puede desactivar su propia cuenta."})
        try:
            web.users.set_active(target, active)
        except errors.ApiError as exc:
            return page(request, staff, status=exc.status, problems={"": exc.message})
        outcome = "reactivated" if active else "deactivated"
        web.throttle.audit(target, client_address(request), outcome, by=staff.user.username)
        return RedirectResponse(f"{PAGE}?hecho={'activada' if active else 'desactivada'}", status_code=303)
