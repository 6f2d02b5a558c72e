"""Append-only hash chain over sealed actas: each entry commits to the previous
one, so altering, reordering or deleting a record is detected by recomputing.

Entry ``n`` holds ``seq = n``, the acta id, the acta's content hash, the previous
entry's hash (``GENESIS`` for the first) and its own hash over all of that.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from services.actas.domain.canonical import digest

GENESIS = "0" * 64


@dataclass(frozen=True)
class ChainEntry:
    seq: int
    acta_id: str
    acta_hash: str
    prev_hash: str
    entry_hash: str


def entry_hash(seq: int, acta_id: str, acta_hash: str, prev_hash: str) -> str:
    return digest({"seq": seq, "acta_id": acta_id, "acta_hash": acta_hash, "prev": prev_hash})


def append(last: ChainEntry | None, acta_id: str, acta_hash: str) -> ChainEntry:
    seq = 1 if last is None else last.seq + 1
    prev = GENESIS if last is None else last.entry_hash
    return ChainEntry(seq, acta_id, acta_hash, prev, entry_hash(seq, acta_id, acta_hash, prev))


@dataclass(frozen=True)
class ChainProblem:
    """One finding, in terms an auditor reads: what and where."""

    kind: str  # altered_entry, altered_acta, broken_link, missing, out_of_order
    seq: int
    acta_id: str
    detail: str


def verify(entries: Sequence[ChainEntry], acta_hashes: dict[str, str] | None = None) -> list[ChainProblem]:
    """Recompute the chain. ``acta_hashes`` (acta id -> hash recomputed from the
    stored acta) also catches an acta altered after it was chained."""
    problems: list[ChainProblem] = []
    expected_seq, prev = 1, GENESIS
    for entry in entries:
        if entry.seq < expected_seq:
            problems.append(
                ChainProblem(
                    "out_of_order",
                    entry.seq,
                    entry.acta_id,
                    f"entrada {entry.seq} aparece después de la {expected_seq - 1}",
                )
            )
        elif entry.seq > expected_seq:
            problems.append(
                ChainProblem("missing", expected_seq, "", f"faltan las entradas {expected_seq}..{entry.seq - 1}")
            )
        if entry.entry_hash != entry_hash(entry.seq, entry.acta_id, entry.acta_hash, entry.prev_hash):
            problems.append(
                ChainProblem(
                    "altered_entry", entry.seq, entry.acta_id, "el hash de la entrada no corresponde a su contenido"
                )
            )
        elif entry.prev_hash != prev:
            problems.append(ChainProblem("broken_link", entry.seq, entry.acta_id, "no enlaza con la entrada anterior"))
        if acta_hashes is not None and acta_hashes.get(entry.acta_id) not in (None, entry.acta_hash):
            problems.append(
                ChainProblem(
                    "altered_acta", entry.seq, entry.acta_id, "el acta almacenada no coincide con la encadenada"
                )
            )
        expected_seq, prev = max(expected_seq, entry.seq + 1), entry.entry_hash
    return problems


def build(records: Iterable[tuple[str, str]]) -> list[ChainEntry]:
    """A chain over ``(acta_id, acta_hash)`` pairs, in order."""
    entries: list[ChainEntry] = []
    for acta_id, acta_hash in records:
        entries.append(append(entries[-1] if entries else None, acta_id, acta_hash))
    return entries
