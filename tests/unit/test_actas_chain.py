"""Canonical form and the tamper-evident hash chain over sealed actas."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.actas.domain.canonical import NotCanonicalisable, canonical_bytes, digest
from services.actas.domain.chain import GENESIS, ChainEntry, build, verify


def test_canonical_bytes_ignore_key_order_and_keep_utf8() -> None:
    a = canonical_bytes({"b": 1, "a": {"y": "Peña", "x": [1.0, 2.5]}})
    b = canonical_bytes({"a": {"x": [1, 2.5], "y": "Peña"}, "b": 1})
    assert a == b == '{"a":{"x":[1,2.5],"y":"Peña"},"b":1}'.encode()
    assert digest({"k": 1}) != digest({"k": 2})


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {1: "x"}, {"s": {1, 2}}])
def test_values_without_a_canonical_form_are_refused(value: object) -> None:
    with pytest.raises(NotCanonicalisable):
        canonical_bytes(value)


def chain(n: int = 5) -> list[ChainEntry]:
    return build((f"acta-{i}", digest({"acta": i})) for i in range(1, n + 1))


def test_an_intact_chain_verifies() -> None:
    entries = chain()
    assert entries[0].prev_hash == GENESIS and [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert verify(entries) == []


def test_an_altered_entry_is_named() -> None:
    entries = chain()
    entries[2] = replace(entries[2], acta_hash=digest({"acta": "forged"}))
    assert [(p.kind, p.seq, p.acta_id) for p in verify(entries)] == [("altered_entry", 3, "acta-3")]


def test_a_rehashed_forgery_breaks_the_next_link() -> None:
    entries = chain()
    forged = build([("acta-1", entries[0].acta_hash), ("acta-2", entries[1].acta_hash), ("acta-3", "f" * 64)])[2]
    entries[2] = forged
    kinds = [(p.kind, p.seq) for p in verify(entries)]
    assert ("broken_link", 4) in kinds


def test_deleted_and_reordered_entries_are_named() -> None:
    entries = chain()
    deleted = entries[:2] + entries[3:]
    problems = verify(deleted)
    assert ("missing", 3) in [(p.kind, p.seq) for p in problems]
    swapped = [entries[0], entries[2], entries[1], entries[3], entries[4]]
    kinds = {p.kind for p in verify(swapped)}
    assert {"missing", "out_of_order"} <= kinds


def test_an_acta_altered_after_sealing_is_caught_against_the_chain() -> None:
    entries = chain(3)
    stored = {e.acta_id: e.acta_hash for e in entries}
    stored["acta-2"] = digest({"acta": "changed later"})
    assert [(p.kind, p.acta_id) for p in verify(entries, stored)] == [("altered_acta", "acta-2")]
