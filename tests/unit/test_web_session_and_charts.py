"""Pure logic of the web app: CSRF and idle tokens, where a sign-in may send the
user, and what exports write."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from gateway.web import charts, session
from gateway.web.nav import SECTIONS, visible_sections

KEYS = session.SessionKeys.derive("x" * 40)


def test_a_csrf_token_belongs_to_one_session_and_one_secret() -> None:
    token = session.csrf_token(KEYS, "jti-1")
    assert session.csrf_valid(KEYS, "jti-1", token)
    assert not session.csrf_valid(KEYS, "jti-2", token)
    assert not session.csrf_valid(session.SessionKeys.derive("y" * 40), "jti-1", token)
    assert not session.csrf_valid(KEYS, "jti-1", "")


def test_the_activity_stamp_is_signed_and_bound_to_its_session() -> None:
    stamp = session.activity_value(KEYS, "jti-1", at=1_000)
    assert session.idle_for(KEYS, "jti-1", stamp, now=1_600) == 600
    assert session.idle_for(KEYS, "jti-2", stamp, now=1_600) is None  # another session's stamp
    forged = "9999999999." + stamp.split(".")[1]  # a later time with the old signature
    assert session.idle_for(KEYS, "jti-1", forged, now=1_600) is None
    assert session.idle_for(KEYS, "jti-1", None) is None
    assert session.idle_for(KEYS, "jti-1", "garbage") is None


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/app/actas?estado=sealed", "/app/actas?estado=sealed"),
        ("https://ejemplo.invalid/app/", "/app/"),
        ("//ejemplo.invalid/app/", "/app/"),
        ("/app\\..\\x", "/app/"),
        ("/api/v1/users", "/app/"),
        (None, "/app/"),
    ],
)
def test_after_signing_in_only_a_page_of_the_app_is_a_destination(target: str | None, expected: str) -> None:
    assert session.safe_next(target) == expected


def test_exports_keep_accents_and_never_hand_a_spreadsheet_a_formula() -> None:
    table = charts.Table(
        "Personas",
        (("nombre", "Nombre"), ("n", "Actas")),
        [{"nombre": '=HYPERLINK("x")', "n": 2}, {"nombre": "Año Peña", "n": 1}],
    )
    text = charts.to_csv(table).decode("utf-8")
    assert text.startswith("\ufeff")  # so Excel reads UTF-8 accents
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows == [["Nombre", "Actas"], ['\'=HYPERLINK("x")', "2"], ["Año Peña", "1"]]
    book = load_workbook(io.BytesIO(charts.to_xlsx(table)))
    sheet = book.active
    assert sheet is not None
    assert [c.value for c in sheet[2]] == ['\'=HYPERLINK("x")', 2]
    assert sheet.title == "Personas"


def test_a_chart_is_a_vega_lite_spec_rendered_to_svg_with_spanish_titles() -> None:
    table = charts.Table(
        "Actas por semana", (("semana", "Semana"), ("actas", "Actas")), [{"semana": "2026-W49", "actas": 3}]
    )
    spec = charts.bar_spec(table, "semana", "actas")
    assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
    assert spec["encoding"]["y"]["title"] == "Actas" and spec["title"] == "Actas por semana"
    svg = charts.svg(spec)
    assert svg.startswith("<svg") and "Actas por semana" in svg


def test_navigation_follows_the_access_tables() -> None:
    admin_only = next(s for s in SECTIONS if s.path == "/app/administracion")
    assert admin_only.allowed("admin") and not admin_only.allowed("gestor")
    kiosks = next(s for s in SECTIONS if s.path == "/app/quioscos")
    assert kiosks.allowed("auditor") and not kiosks.allowed("gestor")
    assert [s.label for s in visible_sections("kiosk")] == []


def test_dashboard_counts_are_reused_for_their_stated_freshness_and_then_recomputed() -> None:
    from datetime import UTC, datetime

    from gateway.web.dashboard import FreshFor

    now = [0.0]
    calls: list[str] = []
    cache = FreshFor(60, clock=lambda: now[0], wall=lambda: datetime(2026, 12, 6, 15, 0, tzinfo=UTC))

    def compute(key: str) -> dict[str, int]:
        calls.append(key)
        return {key: len(calls)}

    assert cache.get("week", lambda: compute("week"))[0] == {"week": 1}
    now[0] = 59.0
    assert cache.get("week", lambda: compute("week"))[0] == {"week": 1}  # fresh: not asked again
    assert cache.get("gestor", lambda: compute("gestor"))[0] == {"gestor": 2}  # another key
    now[0] = 60.5
    assert cache.get("week", lambda: compute("week"))[0] == {"week": 3}  # stale: recomputed
    assert calls == ["week", "gestor", "week"]
