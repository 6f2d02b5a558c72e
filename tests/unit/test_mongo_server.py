"""The local MongoDB stand-in's retryable-write records, after devstack.mongo_server's
fix: same replies, lifetime and cap as SecantusDB's own, kept in insertion order."""

from __future__ import annotations

import pytest
from secantus import transactions

from devstack import mongo_server

LSID = b"session-1"
OK = {"ok": 1.0, "n": 1, "nModified": 1}


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def registry(clock: Clock) -> transactions.TransactionRegistry:
    mongo_server.install()
    return transactions.TransactionRegistry(time_func=clock)


def test_a_retried_write_gets_the_original_reply(registry: transactions.TransactionRegistry) -> None:
    registry.record_retryable(LSID, 1, b"update x", OK)
    assert registry.retryable_reply(LSID, 1, b"update x") == OK
    assert registry.retryable_reply(LSID, 1, b"another command") is None  # a reused key is not replayed
    assert registry.retryable_reply(LSID, 2, b"update x") is None


def test_a_failed_write_is_not_recorded(registry: transactions.TransactionRegistry) -> None:
    registry.record_retryable(LSID, 1, b"insert", {"ok": 1.0, "writeErrors": [{"code": 11000}]})
    registry.record_retryable(LSID, 2, b"insert", {"ok": 0.0})
    assert registry.retryable_reply(LSID, 1, b"insert") is None
    assert registry.retryable_reply(LSID, 2, b"insert") is None


def test_records_past_their_lifetime_are_dropped(registry: transactions.TransactionRegistry, clock: Clock) -> None:
    lifetime = transactions._RETRYABLE_RECORD_LIFETIME_SECONDS
    registry.record_retryable(LSID, 1, b"old", OK)
    clock.now += lifetime / 2
    registry.record_retryable(LSID, 2, b"newer", OK)
    clock.now += lifetime / 2 + 1  # the first is now past its lifetime, the second is not
    assert registry.retryable_reply(LSID, 1, b"old") is None
    assert registry.retryable_reply(LSID, 2, b"newer") == OK


def test_the_cap_evicts_the_oldest_records_first(
    registry: transactions.TransactionRegistry, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transactions, "_RETRYABLE_RECORD_MAX", 3)
    for number in range(1, 5):
        clock.now += 1
        registry.record_retryable(LSID, number, b"w", OK)
    clock.now += 1
    registry.record_retryable(LSID, 1, b"w", OK)  # a re-recorded key becomes the newest
    assert len(registry._retryable) == 3
    kept = [n for n in range(1, 5) if registry.retryable_reply(LSID, n, b"w") is not None]
    assert kept == [1, 3, 4]


def test_many_writes_keep_the_records_bounded(
    registry: transactions.TransactionRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transactions, "_RETRYABLE_RECORD_MAX", 100)
    for number in range(1, 1_001):
        registry.record_retryable(LSID, number, b"w", OK)
    assert len(registry._retryable) == 100
    assert registry.retryable_reply(LSID, 900, b"w") is None
    assert registry.retryable_reply(LSID, 901, b"w") == OK


def test_start_up_fails_loudly_when_the_patched_names_are_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transactions.TransactionRegistry, "_crm_ordered_records", False, raising=False)
    monkeypatch.delattr(transactions, "_strip_per_attempt_fields")
    with pytest.raises(RuntimeError, match="_strip_per_attempt_fields"):
        mongo_server.install()
