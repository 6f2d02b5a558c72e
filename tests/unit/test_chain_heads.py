"""Signed chain heads without I/O: the signature covers every field, a chain
recomputed after a rewrite no longer matches a head signed before it, and the
publisher signs once per move and never blesses a rewritten chain."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from crm_platform.config import ConfigError
from services.actas.adapters.chain_heads import DEV_KEY_FILE, signing_key_from_env
from services.actas.domain import chain, heads
from services.actas.domain.errors import InvalidState
from services.actas.service_layer.heads import ChainRewritten, HeadPublisher, NoHeadYet

KEY = Ed25519PrivateKey.generate()
WHEN = datetime(2026, 12, 6, 19, 30, 0, 123456, tzinfo=UTC)


def records(n: int) -> list[tuple[str, str]]:
    return [(f"acta{i}", f"{i:064x}") for i in range(1, n + 1)]


def test_a_head_round_trips_through_its_json_and_verifies() -> None:
    head = heads.sign(KEY, 3, "a" * 64, WHEN)
    document = json.loads(json.dumps(head.to_json()))
    assert document["signed_at"] == "2026-12-06T19:30:00.123Z" and document["format"] == heads.FORMAT
    back = heads.from_json(document)
    assert back == head and back.signed_by(KEY.public_key())


@pytest.mark.parametrize(
    "change", [{"chain_seq": 4}, {"head_hash": "b" * 64}, {"signed_at": "2026-12-06T19:31:00.123Z"}]
)
def test_changing_any_signed_field_breaks_the_signature(change: dict[str, object]) -> None:
    document = {**heads.sign(KEY, 3, "a" * 64, WHEN).to_json(), **change}
    assert not heads.from_json(document).signed_by(KEY.public_key())


def test_a_head_signed_with_another_key_is_not_the_operators() -> None:
    other = heads.sign(Ed25519PrivateKey.generate(), 3, "a" * 64, WHEN)
    assert not other.signed_by(KEY.public_key())


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"chain_seq": "3"}, "chain_seq"),
        ({"head_hash": "corto"}, "head_hash"),
        ({"signed_at": "ayer"}, "signed_at"),
        ({"signature": "no base64!"}, "signature"),
        ({"format": "otro"}, "format"),
    ],
)
def test_a_malformed_head_names_the_field_in_spanish(change: dict[str, object], field: str) -> None:
    with pytest.raises(heads.InvalidHead, match=f"campo '{field}'"):
        heads.from_json({**heads.sign(KEY, 3, "a" * 64, WHEN).to_json(), **change})


def test_a_recomputed_chain_passes_alone_but_not_against_a_head_signed_before() -> None:
    original = chain.build(records(5))
    kept = [heads.sign(KEY, e.seq, e.entry_hash, WHEN) for e in original[:4]]
    tampered = records(5)
    tampered[2] = ("acta3", "f" * 64)  # acta 3 rewritten, its hash and every later entry recomputed
    rewritten = chain.build(tampered)
    assert chain.verify(rewritten) == []
    assert heads.check_against(original, kept) == []

    [problem] = heads.check_against(rewritten, kept)
    assert (problem.kind, problem.seq, problem.acta_id) == ("rewritten", 3, "acta3")
    assert "primera entrada que no coincide: 3" in problem.detail

    [problem] = heads.check_against(rewritten, [kept[3]])  # only the head at 4 was kept
    assert problem.kind == "rewritten" and problem.seq == 1
    assert "la entrada 4 no coincide" in problem.detail and "entre la 1 y la 4" in problem.detail


def test_entries_deleted_behind_a_head_are_missing() -> None:
    original = chain.build(records(5))
    [problem] = heads.check_against(original[:3], [heads.sign(KEY, 5, original[4].entry_hash, WHEN)])
    assert problem.kind == "missing" and problem.seq == 5


class FakeStore:
    def __init__(self, entries: list[chain.ChainEntry]) -> None:
        self.entries = entries
        self.heads: dict[int, heads.SignedHead] = {}

    def current(self) -> tuple[int, str] | None:
        return (self.entries[-1].seq, self.entries[-1].entry_hash) if self.entries else None

    def entry_hash(self, seq: int) -> str | None:
        return next((e.entry_hash for e in self.entries if e.seq == seq), None)

    def latest(self) -> heads.SignedHead | None:
        return self.heads[max(self.heads)] if self.heads else None

    def add(self, head: heads.SignedHead) -> tuple[heads.SignedHead, bool]:
        if head.chain_seq in self.heads:
            return self.heads[head.chain_seq], False
        self.heads[head.chain_seq] = head
        return head, True


class FixedClock:
    def now(self) -> datetime:
        return WHEN


def test_the_publisher_signs_once_per_move_and_refuses_a_rewritten_chain() -> None:
    store = FakeStore([])
    publisher = HeadPublisher(store, KEY, FixedClock())
    publisher.publish_if_moved()
    assert store.heads == {}
    with pytest.raises(InvalidState):
        publisher.publish()

    store.entries = chain.build(records(2))
    publisher.publish_if_moved()
    publisher.publish_if_moved()
    assert list(store.heads) == [2]
    head, created = publisher.publish()
    assert not created and head.chain_seq == 2

    tampered = records(3)
    tampered[0] = ("acta1", "f" * 64)
    store.entries = chain.build(tampered)
    with pytest.raises(ChainRewritten, match="entrada 2"):
        publisher.publish()
    assert list(store.heads) == [2]


def test_no_head_yet_is_a_spanish_not_found() -> None:
    with pytest.raises(NoHeadYet, match="Aún no se ha publicado ninguna cabeza"):
        HeadPublisher(FakeStore([]), KEY, FixedClock()).latest()


def test_the_signing_key_is_required_outside_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_ENV", "production")
    monkeypatch.delenv("ACTAS_HEAD_SIGNING_KEY", raising=False)
    with pytest.raises(ConfigError, match="ACTAS_HEAD_SIGNING_KEY is required"):
        signing_key_from_env()


def test_development_makes_one_key_that_every_process_shares(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CRM_ENV", "development")
    monkeypatch.delenv("ACTAS_HEAD_SIGNING_KEY", raising=False)
    monkeypatch.setenv("ACTAS_DEV_HEAD_KEY_DIR", str(tmp_path))
    with ThreadPoolExecutor(4) as pool:
        keys = list(pool.map(lambda _: heads.key_id(signing_key_from_env().public_key()), range(8)))
    assert len(set(keys)) == 1
    monkeypatch.setenv("CRM_ENV", "production")
    monkeypatch.setenv("ACTAS_HEAD_SIGNING_KEY", str(tmp_path / DEV_KEY_FILE))
    assert heads.key_id(signing_key_from_env().public_key()) == keys[0]
