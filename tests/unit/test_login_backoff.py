"""The login throttle's arithmetic: free failures, a first lock, doubling to a cap,
and the Retry-After a locked client is told."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.auth import ISSUER, Tokens, User
from gateway.errors import ApiError
from gateway.throttle import Backoff, Throttled, retry_after

POLICY = Backoff(free_failures=5, base_seconds=30, max_seconds=900, window_seconds=900)


def test_the_first_failures_are_free_then_the_lock_doubles_up_to_its_cap() -> None:
    assert [POLICY.lock_seconds(n) for n in range(5)] == [0, 0, 0, 0, 0]
    assert [POLICY.lock_seconds(n) for n in range(5, 12)] == [30, 60, 120, 240, 480, 900, 900]


def test_a_huge_failure_count_stays_at_the_cap() -> None:
    assert POLICY.lock_seconds(10_000) == 900


def test_zero_free_failures_disables_the_policy() -> None:
    assert Backoff(0, 30, 900, 900).lock_seconds(50) == 0


def test_retry_after_rounds_up_and_is_at_least_one_second() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert retry_after(now + timedelta(seconds=29.2), now) == 30
    assert retry_after(now + timedelta(milliseconds=10), now) == 1
    assert retry_after(now - timedelta(seconds=3), now) == 1


def test_the_throttled_message_is_spanish_and_names_the_wait() -> None:
    refused = Throttled(42)
    assert refused.seconds == 42 and "espere 42 segundos" in refused.message


def test_tokens_carry_an_id_and_the_account_version_and_ask_whether_they_are_live() -> None:
    asked: list[dict] = []

    def live(claims: dict) -> bool:
        asked.append(claims)
        return claims["ver"] == 3

    tokens = Tokens("k" * 40, 60, live)
    first, second = tokens.issue(User("ana", "gestor", "Ana", 3)), tokens.issue(User("ana", "gestor", "Ana", 3))
    assert tokens.verify(first) == User("ana", "gestor", "Ana", 3)
    assert asked[0]["jti"] and asked[0]["jti"] != tokens.decode(second)["jti"]
    stale = tokens.issue(User("ana", "gestor", "Ana", 2))
    with pytest.raises(ApiError) as refused:
        tokens.verify(stale)
    assert refused.value.status == 401 and "revocada" in refused.value.message
    assert tokens.decode(first)["iss"] == ISSUER
