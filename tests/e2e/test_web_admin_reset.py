"""Administración in a real browser: an admin resets a forgotten password, sees the
field error of a short one beside its field, and the account's open sessions end."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser

from devstack.infra import Stack
from tests.e2e.conftest import login
from tests.e2e.web_support import DESKTOP, PHONE, browser, serious_violations, sign_in

__all__ = ["browser"]  # the fixture, imported for pytest

PASSWORD = "web-password-123"


@pytest.fixture(scope="module")
def base(stack: Stack) -> str:
    return stack.urls["gateway"]


def account(http: httpx.Client, admin: dict[str, str], role: str) -> str:
    name = f"reset-{role}-{uuid.uuid4().hex[:6]}"
    body = {"username": name, "password": PASSWORD, "role": role, "full_name": f"Persona {role.title()}"}
    assert http.post("/api/v1/users", headers=admin, json=body).status_code == 201
    return name


@pytest.fixture
def people(http: httpx.Client, as_role: dict[str, dict[str, str]]) -> Iterator[dict[str, str]]:
    yield {role: account(http, as_role["admin"], role) for role in ("admin", "gestor")}


def test_an_admin_resets_a_password_and_the_accounts_session_ends(
    browser: Browser, base: str, people: dict[str, str], http: httpx.Client
) -> None:
    gestor = login(http, people["gestor"], PASSWORD)
    assert http.get("/api/v1/communities", headers=gestor).status_code == 200
    for size in (PHONE, DESKTOP):
        ctx = browser.new_context(viewport=size, bypass_csp=True)
        page = ctx.new_page()
        try:
            sign_in(page, base, people["admin"], PASSWORD)
            page.goto(f"{base}/app/administracion")
            page.get_by_text(f"Restablecer contraseña de {people['gestor']}").click()
            field = page.get_by_label(f"Contraseña nueva para {people['gestor']}")
            field.fill("corta")
            page.get_by_role("button", name="Restablecer").locator("visible=true").click()
            field = page.get_by_label(f"Contraseña nueva para {people['gestor']}")
            assert field.get_attribute("aria-invalid") == "true"
            assert "al menos 10 caracteres" in page.locator(f"#e-reset-{people['gestor']}").inner_text()
            assert serious_violations(page) == []
            assert http.get("/api/v1/communities", headers=gestor).status_code == 200  # nothing changed yet
        finally:
            ctx.close()

    ctx = browser.new_context()
    page = ctx.new_page()
    try:
        sign_in(page, base, people["admin"], PASSWORD)
        page.goto(f"{base}/app/administracion")
        page.get_by_text(f"Restablecer contraseña de {people['gestor']}").click()
        page.get_by_label(f"Contraseña nueva para {people['gestor']}").fill("una-clave-nueva-9")
        page.get_by_role("button", name="Restablecer").locator("visible=true").click()
        assert "Contraseña restablecida" in page.get_by_role("status").inner_text()
    finally:
        ctx.close()
    assert http.get("/api/v1/communities", headers=gestor).status_code == 401  # the old session ended
    renewed = login(http, people["gestor"], "una-clave-nueva-9")
    assert http.get("/api/v1/communities", headers=renewed).status_code == 200
