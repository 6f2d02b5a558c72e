"""The outbox's SQLite tables and the rows read from them.

``SCHEMA`` creates the tables (a submission's state row apart from its envelope);
every query that builds an ``Entry`` selects the same columns in the same order
(``SELECT_ENTRIES``, read back by ``entry_from_row``). ``update_in`` runs a
statement over many submission ids in chunks. The state machine over these rows
is ``edge_agent.outbox.Outbox``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

SCHEMA_VERSION = 1

# The envelope lives in a table of its own: the forwarder rewrites a row's state
# several times, and small state rows keep those writes (and their fsyncs) small.
SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    submission_id   TEXT PRIMARY KEY,
    state           TEXT NOT NULL CHECK (state IN ('queued', 'in_flight', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    refusals        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_attempt_at REAL,
    last_error      TEXT,
    created_at      REAL NOT NULL,
    sent_at         REAL
);
CREATE INDEX IF NOT EXISTS submissions_by_state_due ON submissions (state, next_attempt_at);
CREATE TABLE IF NOT EXISTS envelopes (
    submission_id   TEXT PRIMARY KEY,
    envelope        BLOB NOT NULL,
    trace_context   TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

# Column order of every query that builds an Entry (see entry_from_row).
SELECT_ENTRIES = (
    "SELECT s.submission_id, e.envelope, e.trace_context, s.state, s.attempts, s.refusals, s.next_attempt_at, "
    "s.last_attempt_at, s.last_error, s.created_at, s.sent_at "
    "FROM submissions AS s JOIN envelopes AS e ON e.submission_id = s.submission_id "
)
# Earliest due first (for a row never refused nor returned to the queue, that is
# when it was queued), walking the index without sorting.
CLAIMABLE = SELECT_ENTRIES + (
    "WHERE s.state = ? AND s.next_attempt_at <= ? ORDER BY s.next_attempt_at, s.rowid LIMIT ?"
)
ONE = SELECT_ENTRIES + "WHERE s.submission_id = ?"
ALL = SELECT_ENTRIES + "ORDER BY s.created_at, s.rowid"
IN_STATE = SELECT_ENTRIES + "WHERE s.state = ? ORDER BY s.created_at, s.rowid"
# At most this many ids in one ``IN (...)`` list.
CHUNK = 500


class State(StrEnum):
    QUEUED = "queued"
    IN_FLIGHT = "in_flight"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True)
class Entry:
    """One stored submission."""

    submission_id: str
    envelope: bytes
    trace_context: Mapping[str, str]
    state: State
    attempts: int
    refusals: int
    next_attempt_at: float
    last_attempt_at: float | None
    last_error: str | None
    created_at: float
    sent_at: float | None


def update_in(db: sqlite3.Connection, statement: str, params: tuple[Any, ...], ids: Sequence[str]) -> int:
    """Run ``statement`` restricted to ``submission_id IN (ids)``, in chunks; rows changed."""
    joiner = " AND " if " WHERE " in statement else " WHERE "
    changed = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        marks = ",".join("?" * len(chunk))
        changed += db.execute(f"{statement}{joiner}submission_id IN ({marks})", (*params, *chunk)).rowcount
    return changed


def statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def bump(db: sqlite3.Connection, key: str, by: int) -> None:
    db.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + ? AS TEXT)",
        (key, str(by), by),
    )


def float_or_none(raw: str | None) -> float | None:
    return None if raw is None else float(raw)


def entry_from_row(row: Sequence[Any]) -> Entry:
    sid, envelope, context, state, attempts, refusals, due, attempted, error, created, sent = row
    return Entry(
        submission_id=str(sid),
        envelope=bytes(envelope),
        trace_context=json.loads(context),
        state=State(state),
        attempts=int(attempts),
        refusals=int(refusals),
        next_attempt_at=float(due),
        last_attempt_at=None if attempted is None else float(attempted),
        last_error=error,
        created_at=float(created),
        sent_at=None if sent is None else float(sent),
    )
