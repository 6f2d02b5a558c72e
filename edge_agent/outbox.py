"""The kiosk's durable outbox: signed submissions waiting for the bus.

One SQLite row per submission, keyed by its ``submission_id`` (enqueueing the same
submission again is a no-op), with its envelope bytes and the trace context of the
moment it was queued. A row moves through these states::

    queued --claim--> in_flight --mark_sent--> sent      (the broker confirmed it)
      ^                  |   |
      |  release/recover |   +--refuse--> queued, later  (the broker refused it)
      +------------------+   +--refuse--> failed         (refused too many times)
    failed --retry_failed--> queued

Durability. The file is in WAL mode with ``synchronous=FULL``: every commit is
fsynced before it returns. With ``NORMAL``, WAL mode stays consistent after a power
cut but may lose the last transactions, and a lost enqueue is a signed acta the
gestor was told was saved; a lost ``mark_sent`` would only cause a harmless resend.
The cost is one fsync per enqueue (human-paced) and one per batch claimed or
confirmed by the forwarder, not one per message.

At-least-once. A row leaves ``in_flight`` for ``sent`` only after RabbitMQ's
publisher confirm. A process killed in between leaves it ``in_flight``;
:meth:`Outbox.recover` (run when a forwarder starts) puts it back in the queue and
it is published again. The platform de-duplicates by ``submission_id``.

Retention (:class:`RetentionPolicy`). Only ``sent`` rows are ever deleted: those
older than ``keep_sent_days`` and those beyond the newest ``keep_sent_max``. They
are kept that long as the kiosk's history and as a copy the platform could ask
for again. ``queued``, ``in_flight`` and ``failed`` rows are never dropped; a
``failed`` row waits for a person (``crm-kiosk retry-failed``).

The tables, their queries and ``State``/``Entry`` are in ``edge_agent.outbox_schema``.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from opentelemetry import trace

from crm_platform.telemetry import inject_headers
from edge_agent.outbox_schema import (
    ALL,
    CLAIMABLE,
    IN_STATE,
    ONE,
    SCHEMA,
    SCHEMA_VERSION,
    Entry,
    State,
    bump,
    entry_from_row,
    float_or_none,
    statements,
    update_in,
)

tracer = trace.get_tracer(__name__)
# No retry is ever scheduled further ahead than this (the forwarder's backoff caps are
# lower); a row beyond it means the clock went back (see Outbox.recover).
MAX_SCHEDULE_AHEAD = 3600.0


class OutboxConflict(ValueError):
    """A submission id was enqueued again with different bytes."""


@dataclass(frozen=True)
class Status:
    """What ``crm-kiosk status`` shows; ``sent`` counts the rows still kept,
    ``sent_total`` every submission ever confirmed by this kiosk."""

    queued: int
    in_flight: int
    sent: int
    failed: int
    sent_total: int
    last_sent_at: float | None
    last_sync_at: float | None
    next_attempt_at: float | None
    last_error: str | None

    @property
    def unsent(self) -> int:
        return self.queued + self.in_flight + self.failed


@dataclass(frozen=True)
class RetentionPolicy:
    """How long confirmed submissions are kept (never applies to unsent ones)."""

    keep_sent_days: float = 30.0
    keep_sent_max: int = 5000

    def __post_init__(self) -> None:
        if self.keep_sent_days < 0 or self.keep_sent_max < 0:
            raise ValueError("retention limits cannot be negative")


class Outbox:
    """The SQLite outbox. Thread-safe; several processes may open the same file
    (``status`` while a forwarder runs), but only one forwarder should claim rows
    (the CLI holds a lock file for that)."""

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        with self._write():
            for statement in statements(SCHEMA):
                self._db.execute(statement)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; IMMEDIATE takes the write lock up front, so two
        processes never both read a row as queued and claim it."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- producing -------------------------------------------------------------------
    def enqueue(self, submission_id: str, envelope: bytes, trace_context: Mapping[str, str] | None = None) -> bool:
        """Store a signed submission for sending; True if it is new.

        The trace of a submission starts here, on the kiosk: its context is stored
        with the row and the forwarder's span (maybe days later) continues it.
        """
        with tracer.start_as_current_span("kiosk.queue_submission", attributes={"crm.submission_id": submission_id}):
            context = dict(trace_context) if trace_context is not None else dict(inject_headers())
            return self.enqueue_many([(submission_id, envelope, context)]) == 1

    def enqueue_many(self, items: Iterable[tuple[str, bytes, Mapping[str, str]]]) -> int:
        """Store several submissions in one transaction; returns how many were new."""
        now = self._clock()
        added = 0
        with self._write() as db:
            for submission_id, envelope, context in items:
                if not submission_id:
                    raise ValueError("a submission needs an id")
                row = db.execute("SELECT envelope FROM envelopes WHERE submission_id = ?", (submission_id,)).fetchone()
                if row is not None:
                    if bytes(row[0]) != envelope:
                        raise OutboxConflict(f"submission {submission_id} is already queued with different content")
                    continue
                db.execute(
                    "INSERT INTO envelopes (submission_id, envelope, trace_context) VALUES (?, ?, ?)",
                    (submission_id, envelope, json.dumps(dict(context))),
                )
                db.execute(
                    "INSERT INTO submissions (submission_id, state, next_attempt_at, created_at) VALUES (?, ?, ?, ?)",
                    (submission_id, State.QUEUED, now, now),
                )
                added += 1
        return added

    # -- forwarding ------------------------------------------------------------------
    def claim(self, limit: int) -> list[Entry]:
        """Take up to ``limit`` due queued rows, earliest due first, and mark them in
        flight (counting the attempt)."""
        now = self._clock()
        with self._write() as db:
            rows = db.execute(CLAIMABLE, (State.QUEUED, now, limit)).fetchall()
            update_in(
                db,
                "UPDATE submissions SET state = ?, attempts = attempts + 1, last_attempt_at = ? WHERE state = ?",
                (State.IN_FLIGHT, now, State.QUEUED),
                [r[0] for r in rows],
            )
        return [
            entry_from_row((*r[:3], State.IN_FLIGHT, r[4] + 1, r[5], r[6], now, *r[8:]))  # as stored after the update
            for r in rows
        ]

    def mark_sent(self, submission_ids: Sequence[str]) -> int:
        """The broker confirmed these: they leave the queue."""
        if not submission_ids:
            return 0
        now = self._clock()
        with self._write() as db:
            changed = update_in(
                db,
                "UPDATE submissions SET state = ?, sent_at = ?, last_error = NULL WHERE state = ?",
                (State.SENT, now, State.IN_FLIGHT),
                submission_ids,
            )
            bump(db, "sent_total", changed)
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('last_sent_at', ?)", (repr(now),))
        return changed

    def release(self, submission_ids: Sequence[str], error: str) -> int:
        """Put in-flight rows back in the queue, due at once: the bus went away, the
        messages were not at fault (not a refusal; ``attempts`` still counts it)."""
        now = self._clock()
        with self._write() as db:
            return update_in(
                db,
                "UPDATE submissions SET state = ?, next_attempt_at = ?, last_error = ? WHERE state = ?",
                (State.QUEUED, now, error[:500], State.IN_FLIGHT),
                submission_ids,
            )

    def refuse(self, submission_id: str, error: str, retry_at: float | None) -> None:
        """The broker refused one message: retry it at ``retry_at``, or give up
        (``failed``) when that is None."""
        with self._write() as db:
            if retry_at is None:
                db.execute(
                    "UPDATE submissions SET state = ?, refusals = refusals + 1, last_error = ? "
                    "WHERE submission_id = ? AND state = ?",
                    (State.FAILED, error[:500], submission_id, State.IN_FLIGHT),
                )
            else:
                db.execute(
                    "UPDATE submissions SET state = ?, refusals = refusals + 1, next_attempt_at = ?, last_error = ? "
                    "WHERE submission_id = ? AND state = ?",
                    (State.QUEUED, retry_at, error[:500], submission_id, State.IN_FLIGHT),
                )

    def recover(self) -> int:
        """When a forwarder starts: whatever was in flight was never confirmed (the
        last one crashed or lost power); queue it again, due now. Returns how many.

        Also makes due any row scheduled further ahead than any backoff could put it:
        a kiosk without a battery-backed clock may boot with its clock behind the
        times stored before, and its queue must not wait for the clock to catch up.
        """
        now = self._clock()
        with self._write() as db:
            db.execute(
                "UPDATE submissions SET next_attempt_at = ? WHERE state = ? AND next_attempt_at > ?",
                (now, State.QUEUED, now + MAX_SCHEDULE_AHEAD),
            )
            return int(
                db.execute(
                    "UPDATE submissions SET state = ?, next_attempt_at = ? WHERE state = ?",
                    (State.QUEUED, now, State.IN_FLIGHT),
                ).rowcount
            )

    def retry_failed(self) -> int:
        """A person decided to try the failed ones again, with a fresh refusal count."""
        now = self._clock()
        with self._write() as db:
            return int(
                db.execute(
                    "UPDATE submissions SET state = ?, refusals = 0, next_attempt_at = ? WHERE state = ?",
                    (State.QUEUED, now, State.FAILED),
                ).rowcount
            )

    def prune(self, policy: RetentionPolicy) -> int:
        """Delete confirmed rows beyond the retention policy; returns how many."""
        horizon = self._clock() - policy.keep_sent_days * 86400
        with self._write() as db:
            doomed = db.execute(
                "SELECT submission_id FROM submissions WHERE state = ? AND sent_at < ? "
                "UNION SELECT submission_id FROM ("
                " SELECT submission_id FROM submissions WHERE state = ? ORDER BY sent_at DESC LIMIT -1 OFFSET ?)",
                (State.SENT, horizon, State.SENT, policy.keep_sent_max),
            ).fetchall()
            ids = [r[0] for r in doomed]
            update_in(db, "DELETE FROM envelopes", (), ids)
            return update_in(db, "DELETE FROM submissions WHERE state = ?", (State.SENT,), ids)

    # -- reading ---------------------------------------------------------------------
    def next_due_at(self) -> float | None:
        """When the earliest queued row becomes due (None: nothing queued)."""
        with self._lock:
            row = self._db.execute(
                "SELECT MIN(next_attempt_at) FROM submissions WHERE state = ?", (State.QUEUED,)
            ).fetchone()
        return None if row[0] is None else float(row[0])

    def pending(self) -> int:
        """Rows the forwarder still has to deliver (queued or in flight; not failed)."""
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) FROM submissions WHERE state IN (?, ?)", (State.QUEUED, State.IN_FLIGHT)
            ).fetchone()
        return int(row[0])

    def get(self, submission_id: str) -> Entry | None:
        with self._lock:
            row = self._db.execute(ONE, (submission_id,)).fetchone()
        return None if row is None else entry_from_row(row)

    def entries(self, state: State | None = None) -> list[Entry]:
        """Every row (or those in one state), oldest first."""
        with self._lock:
            cursor = self._db.execute(ALL) if state is None else self._db.execute(IN_STATE, (state,))
            return [entry_from_row(r) for r in cursor.fetchall()]

    def status(self) -> Status:
        with self._lock:
            counts = dict(self._db.execute("SELECT state, COUNT(*) FROM submissions GROUP BY state").fetchall())
            meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
            (due,) = self._db.execute(
                "SELECT MIN(next_attempt_at) FROM submissions WHERE state = ?", (State.QUEUED,)
            ).fetchone()
            error = self._db.execute(
                "SELECT last_error FROM submissions WHERE state IN (?, ?) AND last_error IS NOT NULL "
                "ORDER BY last_attempt_at DESC LIMIT 1",
                (State.QUEUED, State.FAILED),
            ).fetchone()
        return Status(
            queued=counts.get(State.QUEUED, 0),
            in_flight=counts.get(State.IN_FLIGHT, 0),
            sent=counts.get(State.SENT, 0),
            failed=counts.get(State.FAILED, 0),
            sent_total=int(meta.get("sent_total", 0)),
            last_sent_at=float_or_none(meta.get("last_sent_at")),
            last_sync_at=float_or_none(meta.get("last_sync_at")),
            next_attempt_at=due,
            last_error=error[0] if error else None,
        )

    # -- sync bookkeeping --------------------------------------------------------------
    def set_last_sync(self, when: float | None = None) -> None:
        """Record a successful sync down from the platform (templates, roster)."""
        moment = self._clock() if when is None else when
        with self._write() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('last_sync_at', ?)", (repr(moment),))

    def last_sync(self) -> float | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = 'last_sync_at'").fetchone()
        return float_or_none(row[0]) if row else None


def submission_id_of(envelope: bytes) -> str:
    """The idempotency key inside a signed ``KioskSubmission``."""
    from crm_platform.proto_gen.crm.actas.v1 import submission_pb2 as sub_pb

    outer = sub_pb.KioskSubmission.FromString(envelope)
    return str(sub_pb.SubmissionBody.FromString(outer.body).submission_id)
