"""Store and forward: drain the kiosk's outbox to the bus.

The loop, in one thread:

1. Nothing due? Wait (until the next row is due, at most ``idle_poll`` seconds, so a
   submission queued by another process is noticed); close an idle connection.
2. Something due and no connection? Connect (bounded by the connect timeout). On
   failure wait ``connect_backoff.delay(n)`` after the n-th failure in a row, then
   try again: that is how the kiosk notices the bus is reachable again, without
   spinning, however long it was offline.
3. Claim a batch (in flight, one transaction), publish it and await every
   publisher confirm, then mark the confirmed ones sent (one transaction). If the
   connection breaks, the unconfirmed ones go back to the queue, due at once, and
   the forwarder reconnects (at once the first time, then with backoff). A message
   the broker refuses is retried on its own backoff and, after ``max_refusals``,
   left ``failed`` for a person to look at.

Each message is published inside a ``kiosk.forward_submission`` span that
continues the trace stored when the submission was queued; its context travels in
the message headers (W3C ``traceparent``) to the actas ingest worker.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

from crm_platform import submission_bus as bus
from crm_platform.telemetry import extract_context, inject_headers
from edge_agent.outbox import Entry, Outbox, RetentionPolicy
from edge_agent.publisher import BusUnavailable, Outgoing, Publisher
from edge_agent.retry import Backoff

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)


class Observer(Protocol):
    """What a user interface may want to show while the forwarder works."""

    def bus_reachable(self) -> None: ...

    def bus_unreachable(self, error: str, retry_in: float) -> None: ...

    def batch_sent(self, sent: int, pending: int) -> None: ...

    def refused(self, submission_id: str, error: str, gave_up: bool) -> None: ...


class LoggingObserver:
    def bus_reachable(self) -> None:
        log.info("bus reachable")

    def bus_unreachable(self, error: str, retry_in: float) -> None:
        log.warning("bus unreachable (%s); retrying in %.1fs", error, retry_in)

    def batch_sent(self, sent: int, pending: int) -> None:
        log.debug("%d sent, %d pending", sent, pending)

    def refused(self, submission_id: str, error: str, gave_up: bool) -> None:
        log.warning("submission %s refused (%s)%s", submission_id, error, "; giving up" if gave_up else "")


@dataclass(frozen=True)
class ForwarderSettings:
    """``batch_size`` messages are claimed, published and confirmed together (and at
    most that many are sent twice after a crash); ``idle_poll`` bounds how late a
    submission queued by another process is noticed; an unused connection is closed
    after ``idle_close`` seconds; retention runs every ``prune_every`` seconds."""

    batch_size: int = 100
    idle_poll: float = 1.0
    idle_close: float = 60.0
    connect_backoff: Backoff = field(default_factory=lambda: Backoff(base=0.5, cap=30.0))
    refusal_backoff: Backoff = field(default_factory=lambda: Backoff(base=5.0, cap=600.0))
    max_refusals: int = 8
    max_rate: float | None = None  # messages per second; None: as fast as confirms come back
    retention: RetentionPolicy = field(default_factory=RetentionPolicy)
    prune_every: float = 600.0


@dataclass
class DrainReport:
    """What one :meth:`Forwarder.run` did; ``pending`` is what it left undelivered."""

    sent: int = 0
    refused: int = 0
    connection_failures: int = 0
    elapsed: float = 0.0
    pending: int = 0


class Forwarder:
    """Drains an :class:`Outbox` through a :class:`Publisher` (see the module docstring)."""

    def __init__(
        self,
        outbox: Outbox,
        publisher: Publisher,
        settings: ForwarderSettings | None = None,
        *,
        observer: Observer | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        """``clock`` must be the outbox's clock; ``sleep`` (default: an interruptible
        wait that :meth:`stop` cuts short) and ``rng`` are there for tests."""
        self.outbox = outbox
        self.publisher = publisher
        self.settings = settings or ForwarderSettings()
        self.observer: Observer = observer or LoggingObserver()
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter
        self._stopping = threading.Event()
        self._sleep = sleep or self._stopping.wait
        self._failures = 0
        self._last_publish = -math.inf
        self._next_slot = 0.0
        self._last_prune = -math.inf

    def stop(self) -> None:
        """Finish the batch in hand (its confirms are awaited, boundedly) and leave."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def run(self, *, until_empty: bool = False, deadline: float | None = None) -> DrainReport:
        """Forward until stopped; with ``until_empty``, until nothing is left to
        deliver (rows that failed for good wait for a person and do not count);
        with ``deadline`` (a ``time.monotonic()`` value), no later than that."""
        report = DrainReport()
        started = time.monotonic()
        recovered = self.outbox.recover()
        if recovered:
            log.info("%d submissions were in flight when the last run ended; queued again", recovered)
        try:
            while not self.stopping:
                if deadline is not None and time.monotonic() >= deadline:
                    break
                self._maybe_prune()
                now = self._clock()
                due = self.outbox.next_due_at()
                if due is None or due > now:
                    if until_empty and self.outbox.pending() == 0:
                        break
                    self._close_if_idle()
                    wait = self.settings.idle_poll if due is None else min(self.settings.idle_poll, due - now)
                    self._wait(wait, deadline)
                    continue
                if not self.publisher.connected and not self._connect(report, deadline):
                    continue
                self._forward_batch(report)
        finally:
            self.publisher.close()
            report.elapsed = time.monotonic() - started
            report.pending = self.outbox.pending()
        return report

    # -- steps -----------------------------------------------------------------------
    def _connect(self, report: DrainReport, deadline: float | None) -> bool:
        try:
            self.publisher.connect()
        except BusUnavailable as exc:
            self._failures += 1
            report.connection_failures += 1
            delay = self.settings.connect_backoff.delay(self._failures, self._rng)
            self.observer.bus_unreachable(str(exc), delay)
            self._wait(delay, deadline)
            return False
        # ``_failures`` is reset by a batch that goes through, not by the connection:
        # a link that connects and then breaks every time still backs off.
        self._last_publish = time.monotonic()
        self.observer.bus_reachable()
        return True

    def _forward_batch(self, report: DrainReport) -> None:
        batch = self.outbox.claim(self._batch_limit())
        if not batch:
            return
        spans = {e.submission_id: self._start_span(e) for e in batch}
        messages = [Outgoing(e.submission_id, e.envelope, _headers_for(spans[e.submission_id])) for e in batch]
        outcome = self.publisher.publish_batch(messages)
        report.sent += self.outbox.mark_sent(outcome.confirmed)
        by_id = {e.submission_id: e for e in batch}
        for sid, reason in outcome.refused.items():
            self._refuse(by_id[sid], reason, report)
            spans[sid].set_status(StatusCode.ERROR, reason)
        if outcome.unconfirmed:
            error = f"sin conexión con el bus: {outcome.error}"
            self.outbox.release(outcome.unconfirmed, error)
            for sid in outcome.unconfirmed:
                spans[sid].set_status(StatusCode.ERROR, error)
        for span in spans.values():
            span.end()
        self._last_publish = time.monotonic()
        if outcome.confirmed:
            self.observer.batch_sent(len(outcome.confirmed), self.outbox.pending())
        if not outcome.unconfirmed:
            self._failures = 0
        else:
            self._failures += 1
            report.connection_failures += 1
            # The first failure reconnects at once (a broker restart is usually brief);
            # the next ones back off.
            delay = 0.0 if self._failures == 1 else self.settings.connect_backoff.delay(self._failures, self._rng)
            self.observer.bus_unreachable(str(outcome.error), delay)
            self._wait(delay, None)
        self._pace(len(batch))

    def _start_span(self, entry: Entry) -> trace.Span:
        """The span of one message, from publish to confirm, continuing the trace
        stored when the submission was queued."""
        return tracer.start_span(
            "kiosk.forward_submission",
            context=extract_context(entry.trace_context),
            kind=SpanKind.PRODUCER,
            attributes={
                "crm.submission_id": entry.submission_id,
                "crm.attempt": entry.attempts,
                "messaging.system": "rabbitmq",
                "messaging.destination.name": bus.EXCHANGE.name,
            },
        )

    def _refuse(self, entry: Entry, error: str, report: DrainReport) -> None:
        report.refused += 1
        refusals = entry.refusals + 1
        gave_up = refusals >= self.settings.max_refusals
        retry_at = None if gave_up else self._clock() + self.settings.refusal_backoff.delay(refusals, self._rng)
        self.outbox.refuse(entry.submission_id, error, retry_at)
        self.observer.refused(entry.submission_id, error, gave_up)

    def _batch_limit(self) -> int:
        """With a rate limit, batches small enough that pacing stays smooth."""
        rate = self.settings.max_rate
        if not rate:
            return self.settings.batch_size
        return max(1, min(self.settings.batch_size, int(rate / 5)))

    def _pace(self, count: int) -> None:
        rate = self.settings.max_rate
        if not rate:
            return
        now = self._clock()
        self._next_slot = max(now, self._next_slot) + count / rate
        # Bounded, in case the wall clock jumped back since the last batch.
        self._wait(min(self._next_slot - now, count / rate), None)

    def _close_if_idle(self) -> None:
        if self.publisher.connected and time.monotonic() - self._last_publish >= self.settings.idle_close:
            log.debug("closing the idle bus connection")
            self.publisher.close()

    def _maybe_prune(self) -> None:
        if time.monotonic() - self._last_prune < self.settings.prune_every:
            return
        self._last_prune = time.monotonic()
        removed = self.outbox.prune(self.settings.retention)
        if removed:
            log.info("retention: %d sent submissions removed", removed)

    def _wait(self, seconds: float, deadline: float | None) -> None:
        if deadline is not None:
            seconds = min(seconds, max(0.0, deadline - time.monotonic()))
        if seconds > 0 and not self.stopping:
            self._sleep(seconds)


def _headers_for(span: trace.Span) -> dict[str, str]:
    """The message headers that carry ``span`` (W3C ``traceparent``) across the bus."""
    with trace.use_span(span, end_on_exit=False):
        return dict(inject_headers())
