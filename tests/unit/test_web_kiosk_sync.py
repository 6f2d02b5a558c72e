"""How the Quioscos page and Inicio word a kiosk's last sync, and which kiosks they
flag as silent (active, nothing sealed from them for seven days)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp

from crm_platform.proto_gen.crm.actas.v1 import actas_pb2 as apb
from gateway.web.kiosk_pages import last_sync, silent

NOW = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)


def _ts(when: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(when)
    return stamp


def device(
    registered_days_ago: float, last_days_ago: float | None = None, sent: int = 0, revoked: bool = False
) -> apb.Device:
    d = apb.Device(id="q1", registered_at=_ts(NOW - timedelta(days=registered_days_ago)), revoked=revoked)
    if last_days_ago is not None:
        d.last_submission_at.CopyFrom(_ts(NOW - timedelta(days=last_days_ago)))
        d.submissions = sent
    return d


def test_a_kiosk_that_never_sent_says_so() -> None:
    assert last_sync(device(1)) == "Nunca ha enviado actas"


def test_the_last_sync_is_shown_in_colombian_time_with_the_number_of_actas() -> None:
    d = device(30, last_days_ago=0, sent=12)  # 15:00 UTC is 10:00 in Bogotá
    assert last_sync(d) == "2026-12-06 10:00 · 12 actas"


def test_an_active_kiosk_is_silent_after_seven_days_without_a_sealed_submission() -> None:
    assert not silent(device(30, last_days_ago=6.9, sent=3), NOW)
    assert silent(device(30, last_days_ago=7.1, sent=3), NOW)


def test_a_new_kiosk_counts_from_its_pairing_and_a_revoked_one_is_never_flagged() -> None:
    assert not silent(device(2), NOW)
    assert silent(device(8), NOW)
    assert not silent(device(30, last_days_ago=20, sent=1, revoked=True), NOW)
