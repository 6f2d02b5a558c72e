"""Inicio's KPI cards: Colombian number formats, alerts from the definitions, and
an Inicio that still opens when the reports service does not answer."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from crm_platform.proto_gen.crm.reports.v1 import reports_pb2 as rpb
from gateway import auth
from gateway.web import kpi_pages


class Down(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode) -> None:
        self._code = code

    def code(self) -> grpc.StatusCode:
        return self._code


class FakeBackend:
    def __init__(self, reply: Any) -> None:
        self.reply = reply
        self.reports = type("Stub", (), {"ListKpis": object()})()

    def call(self, method: Any, request: Any, user: auth.User) -> Any:
        if isinstance(self.reply, Exception):
            raise self.reply
        return self.reply


class FakeWeb:
    def __init__(self, reply: Any) -> None:
        self.backend = FakeBackend(reply)


def user(role: str) -> auth.User:
    return auth.User(username=f"u-{role}", role=role, full_name="Persona")


def reply() -> rpb.ListKpisReply:
    kpis = [
        rpb.Kpi(code="cobertura_30d", name="Cobertura", unit="percent", numerator_label="Visitados"),
        rpb.Kpi(code="hogares_sin_jefe", name="Sin jefe", unit="count", numerator_label="Hogares", alert=True),
        rpb.Kpi(code="participaciones", name="Participaciones", unit="count", numerator_label="Personas"),
    ]
    totals = [(1234, 2000, 61.7), (3, 0, 3.0), (1500, 0, 1500.0)]
    values = [
        rpb.KpiValue(as_of="2026-12-06", total=rpb.Group(numerator=n, denominator=d, value=v)) for n, d, v in totals
    ]
    return rpb.ListKpisReply(kpis=kpis, values=values)


def test_cards_show_colombian_numbers_and_alerts_only_where_the_definition_says() -> None:
    cards = kpi_pages.cards(FakeWeb(reply()), user("coordinator"))  # type: ignore[arg-type]
    assert cards is not None
    assert [(c.value, c.detail, c.alert, c.as_of) for c in cards] == [
        ("61,7\u00a0%", "1.234 de 2.000", False, "06/12/2026"),
        ("3", "Hogares", True, "06/12/2026"),
        ("1.500", "Personas", False, "06/12/2026"),  # a count above zero, but no alert
    ]


def test_inicio_gets_no_cards_for_a_role_without_access_and_an_empty_list_when_reports_is_down() -> None:
    assert kpi_pages.cards(FakeWeb(reply()), user("psychosocial")) is None  # type: ignore[arg-type]
    down = FakeWeb(Down(grpc.StatusCode.UNAVAILABLE))
    assert kpi_pages.cards(down, user("coordinator")) == []  # type: ignore[arg-type]
    with pytest.raises(grpc.RpcError):  # anything else is a real error, not hidden
        kpi_pages.cards(FakeWeb(Down(grpc.StatusCode.INTERNAL)), user("coordinator"))  # type: ignore[arg-type]
