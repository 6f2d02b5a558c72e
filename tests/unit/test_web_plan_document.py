"""The UP pages' offer of the signed "Plan de Acción": which approved version, and
the link once stored or "El PDF se está generando" before (the documents service
answers through a stand-in; the template is the page's own)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import grpc
from jinja2 import Environment, FileSystemLoader

from gateway.web import plan_document
from gateway.web.app import HERE

LINK = "Descargar Plan de Acción (PDF firmado)"


class Missing(grpc.RpcError):
    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.NOT_FOUND


def web_answering(status: str | None) -> Any:
    """A web app whose documents service knows the PDF in ``status`` (None: no record)."""
    asked: list[Any] = []

    def call(method: Any, request: Any, user: Any) -> Any:
        asked.append(request)
        if status is None:
            raise Missing()
        return SimpleNamespace(status=status)

    backend = SimpleNamespace(call=call, documents=SimpleNamespace(GetPlanDocument="GetPlanDocument"), asked=asked)
    return SimpleNamespace(backend=backend)


def staff(role: str = "gestor") -> Any:
    return SimpleNamespace(user=SimpleNamespace(role=role))


def plan(version: int, status: str, based_on: int = 0) -> Any:
    return SimpleNamespace(version=version, status=status, based_on=based_on)


def rendered(offer: dict[str, Any] | None) -> str:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True)
    return env.get_template("_plan_pdf.html").render(plan_pdf=offer, unit=SimpleNamespace(id="up-1"))


def test_the_approved_version_is_the_plan_or_the_one_a_draft_revises() -> None:
    assert plan_document.approved_version(None) == 0
    assert plan_document.approved_version(plan(1, "draft")) == 0
    assert plan_document.approved_version(plan(1, "submitted")) == 0
    assert plan_document.approved_version(plan(2, "approved", 1)) == 2
    assert plan_document.approved_version(plan(3, "returned", 2)) == 2


def test_a_stored_pdf_is_a_link_and_one_without_a_record_yet_is_being_made() -> None:
    web = web_answering("stored")
    offer = plan_document.offer(web, staff(), "up-1", plan(2, "approved", 1))
    assert offer == {"version": 2, "stored": True}
    (asked,) = web.backend.asked
    assert (asked.unit_id, asked.plan_version) == ("up-1", 2)
    page = rendered(offer)
    assert LINK in page and 'href="/app/unidades/up-1/plan/pdf?version=2"' in page

    for state in ("pending", None):
        offer = plan_document.offer(web_answering(state), staff(), "up-1", plan(1, "approved"))
        assert offer == {"version": 1, "stored": False}
        page = rendered(offer)
        assert "El PDF se está generando" in page and LINK not in page


def test_nothing_is_offered_without_an_approved_version() -> None:
    web = web_answering("stored")
    assert plan_document.offer(web, staff(), "up-1", plan(1, "submitted")) is None
    assert web.backend.asked == []
    assert rendered(None).strip() == ""
