"""The kiosk outbox's state machine, retention, backoff and the forwarder's loop,
against a temporary SQLite file and a fake publisher (no network)."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from edge_agent.cli import ForwarderBusy, SpanishObserver, render_status, single_forwarder
from edge_agent.forwarder import Forwarder, ForwarderSettings
from edge_agent.outbox import Outbox, OutboxConflict, RetentionPolicy, State
from edge_agent.publisher import BatchOutcome, BusUnavailable, Outgoing
from edge_agent.retry import Backoff

DAY = 86400.0


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def outbox(tmp_path: Path, clock: Clock) -> Iterator[Outbox]:
    with Outbox(tmp_path / "outbox.sqlite3", clock=clock) as store:
        yield store


def fill(outbox: Outbox, n: int, clock: Clock | None = None) -> list[str]:
    ids = []
    for i in range(n):
        sid = f"s{i:04d}"
        outbox.enqueue(sid, f"sobre {i}".encode())
        ids.append(sid)
        if clock is not None:
            clock.advance(1)
    return ids


# -- the state machine ---------------------------------------------------------------------
def test_enqueueing_the_same_submission_twice_keeps_one_row(outbox: Outbox) -> None:
    assert outbox.enqueue("s1", b"firmado") is True
    assert outbox.enqueue("s1", b"firmado") is False
    assert [e.submission_id for e in outbox.entries()] == ["s1"]


def test_the_same_id_with_different_bytes_is_a_conflict_not_an_overwrite(outbox: Outbox) -> None:
    outbox.enqueue("s1", b"firmado")
    with pytest.raises(OutboxConflict):
        outbox.enqueue("s1", b"otro contenido")
    assert outbox.get("s1") is not None and outbox.get("s1").envelope == b"firmado"  # type: ignore[union-attr]


def test_a_new_row_is_queued_due_now_with_the_callers_trace_context(outbox: Outbox, clock: Clock) -> None:
    context = {"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"}
    outbox.enqueue("s1", b"x", trace_context=context)
    entry = outbox.get("s1")
    assert entry is not None
    assert entry.state is State.QUEUED and entry.attempts == 0 and entry.next_attempt_at == clock.now
    assert entry.trace_context == context and entry.sent_at is None


def test_claim_takes_due_rows_oldest_first_marks_them_in_flight_and_counts_the_attempt(
    outbox: Outbox, clock: Clock
) -> None:
    ids = fill(outbox, 5, clock)
    claimed = outbox.claim(3)
    assert [e.submission_id for e in claimed] == ids[:3]
    assert all(e.state is State.IN_FLIGHT and e.attempts == 1 for e in claimed)
    assert [e.state for e in outbox.entries()] == [State.IN_FLIGHT] * 3 + [State.QUEUED] * 2
    assert [e.submission_id for e in outbox.claim(10)] == ids[3:]
    assert outbox.claim(10) == []


def test_only_confirmed_rows_in_flight_become_sent(outbox: Outbox) -> None:
    fill(outbox, 3)
    outbox.claim(2)
    # s0001 is in flight but unconfirmed; s0002 was never published.
    assert outbox.mark_sent(["s0000", "s0002"]) == 1
    states = {e.submission_id: e.state for e in outbox.entries()}
    assert states == {"s0000": State.SENT, "s0001": State.IN_FLIGHT, "s0002": State.QUEUED}
    assert outbox.status().sent_total == 1


def test_rows_in_flight_when_the_process_died_are_sent_again_after_a_restart(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "outbox.sqlite3"
    first = Outbox(path, clock=clock)
    fill(first, 4)
    first.claim(3)
    first.mark_sent(["s0000"])
    first.close()  # as good as kill -9: nothing else is written on the way out

    with Outbox(path, clock=clock) as again:
        assert again.status().in_flight == 2
        assert again.recover() == 2
        assert [e.submission_id for e in again.claim(10)] == ["s0001", "s0002", "s0003"]
        assert again.get("s0001").attempts == 2  # type: ignore[union-attr]


def test_released_rows_are_due_at_once_and_not_counted_as_refusals(outbox: Outbox, clock: Clock) -> None:
    fill(outbox, 2)
    outbox.claim(2)
    clock.advance(5)
    assert outbox.release(["s0000", "s0001"], "sin conexión") == 2
    entry = outbox.get("s0000")
    assert entry is not None
    assert entry.state is State.QUEUED and entry.next_attempt_at == clock.now and entry.refusals == 0
    assert entry.last_error == "sin conexión"


def test_a_refused_row_waits_for_its_retry_time_and_a_hopeless_one_is_kept_as_failed(
    outbox: Outbox, clock: Clock
) -> None:
    fill(outbox, 2)
    outbox.claim(2)
    outbox.refuse("s0000", "nack", retry_at=clock.now + 30)
    outbox.refuse("s0001", "devuelto", retry_at=None)
    assert outbox.claim(10) == []
    assert outbox.next_due_at() == clock.now + 30
    clock.advance(30)
    assert [e.submission_id for e in outbox.claim(10)] == ["s0000"]
    failed = outbox.get("s0001")
    assert failed is not None and failed.state is State.FAILED and failed.refusals == 1
    assert outbox.pending() == 1  # failed rows are not pending: they wait for a person

    assert outbox.retry_failed() == 1
    retried = outbox.get("s0001")
    assert retried is not None and retried.state is State.QUEUED and retried.refusals == 0


def test_status_counts_every_state_and_reports_the_last_send_and_sync(outbox: Outbox, clock: Clock) -> None:
    fill(outbox, 4)
    outbox.claim(3)
    outbox.mark_sent(["s0000"])
    outbox.refuse("s0001", "devuelto", retry_at=None)
    sent_at = clock.now
    clock.advance(60)
    outbox.set_last_sync()
    status = outbox.status()
    assert (status.queued, status.in_flight, status.sent, status.failed) == (1, 1, 1, 1)
    assert status.last_sent_at == sent_at and status.last_sync_at == clock.now == outbox.last_sync()
    assert status.last_error == "devuelto" and status.unsent == 3


# -- retention ---------------------------------------------------------------------------------
def test_retention_deletes_old_and_excess_sent_rows_and_never_an_unsent_one(outbox: Outbox, clock: Clock) -> None:
    fill(outbox, 10, clock)
    outbox.claim(8)
    outbox.mark_sent([f"s{i:04d}" for i in range(3)])  # 60 days old when pruned
    clock.advance(40 * DAY)
    for i in range(3, 7):  # 20 days old, one minute apart
        outbox.mark_sent([f"s{i:04d}"])
        clock.advance(60)
    outbox.refuse("s0007", "devuelto", retry_at=None)
    clock.advance(20 * DAY)  # the unsent rows are 60 days old too

    removed = outbox.prune(RetentionPolicy(keep_sent_days=50, keep_sent_max=2))
    left = {e.submission_id: e.state for e in outbox.entries()}
    assert removed == 5
    assert left == {
        "s0005": State.SENT,  # the newest two sent rows are within the count limit
        "s0006": State.SENT,
        "s0007": State.FAILED,
        "s0008": State.QUEUED,
        "s0009": State.QUEUED,
    }
    assert outbox.status().sent_total == 7  # the history count survives pruning


def test_retention_limits_cannot_be_negative() -> None:
    with pytest.raises(ValueError):
        RetentionPolicy(keep_sent_days=-1)


# -- backoff -------------------------------------------------------------------------------------
def test_backoff_ceiling_doubles_from_base_up_to_the_cap() -> None:
    backoff = Backoff(base=0.5, cap=30)
    assert [backoff.ceiling(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert backoff.ceiling(10_000) == 30


@pytest.mark.parametrize("attempt", [1, 2, 5, 12, 500])
def test_backoff_jitter_stays_in_the_upper_half_of_the_ceiling(attempt: int) -> None:
    backoff = Backoff(base=1, cap=300)
    rng = random.Random(attempt)
    delays = [backoff.delay(attempt, rng) for _ in range(2000)]
    ceiling = backoff.ceiling(attempt)
    assert all(ceiling / 2 <= d <= ceiling for d in delays)
    assert max(delays) - min(delays) > ceiling / 4  # actually jittered, not constant


def test_backoff_rejects_settings_that_could_spin() -> None:
    for bad in ({"base": 0}, {"base": 10, "cap": 1}, {"factor": 0.5}):
        with pytest.raises(ValueError):
            Backoff(**bad)


# -- the forwarder loop ----------------------------------------------------------------------------
class FakePublisher:
    """Confirms everything unless told otherwise; scripted failures are consumed in order."""

    def __init__(self) -> None:
        self.connected = False
        self.connect_failures = 0
        self.connects = 0
        self.break_after: list[int] = []  # per batch: publish this many, then the connection breaks
        self.refuse: set[str] = set()
        self.published: list[Outgoing] = []

    def connect(self) -> None:
        if self.connect_failures:
            self.connect_failures -= 1
            raise BusUnavailable("connection refused")
        self.connects += 1
        self.connected = True

    def publish_batch(self, messages: Sequence[Outgoing]) -> BatchOutcome:
        outcome = BatchOutcome()
        limit = self.break_after.pop(0) if self.break_after else len(messages)
        for m in messages[:limit]:
            self.published.append(m)
            if m.submission_id in self.refuse:
                outcome.refused[m.submission_id] = "devuelto"
            else:
                outcome.confirmed.append(m.submission_id)
        if limit < len(messages):
            # The last one went out but its confirm never came back.
            outcome.confirmed = outcome.confirmed[:-1]
            outcome.unconfirmed = [m.submission_id for m in messages[max(0, limit - 1) :]]
            outcome.error = "ConnectionResetError"
            self.connected = False
        return outcome

    def close(self) -> None:
        self.connected = False


def forwarder_for(
    outbox: Outbox, publisher: FakePublisher, clock: Clock, sleeps: list[float], **settings: object
) -> Forwarder:
    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.advance(seconds)

    return Forwarder(
        outbox,
        publisher,
        ForwarderSettings(**settings),  # type: ignore[arg-type]
        clock=clock,
        rng=random.Random(7),
        sleep=sleep,
    )


def test_the_forwarder_drains_in_batches_and_marks_every_confirmed_submission_sent(
    outbox: Outbox, clock: Clock
) -> None:
    ids = fill(outbox, 25)
    publisher, sleeps = FakePublisher(), list[float]()
    report = forwarder_for(outbox, publisher, clock, sleeps, batch_size=10).run(until_empty=True)
    assert report.sent == 25 and report.pending == 0 and publisher.connects == 1
    assert [m.submission_id for m in publisher.published] == ids
    assert {e.state for e in outbox.entries()} == {State.SENT}


def test_an_unreachable_bus_is_retried_with_growing_jittered_delays_until_it_answers(
    outbox: Outbox, clock: Clock
) -> None:
    fill(outbox, 3)
    publisher, sleeps = FakePublisher(), list[float]()
    publisher.connect_failures = 6
    report = forwarder_for(outbox, publisher, clock, sleeps).run(until_empty=True)
    assert report.sent == 3 and report.connection_failures == 6
    backoff = Backoff(base=0.5, cap=30.0)
    assert len(sleeps) == 6
    assert all(backoff.ceiling(n) / 2 <= d <= backoff.ceiling(n) for n, d in enumerate(sleeps, start=1))
    assert sleeps == sorted(sleeps)  # with these ceilings the halves do not overlap


def test_a_connection_lost_mid_batch_requeues_the_unconfirmed_and_sends_them_after_reconnecting(
    outbox: Outbox, clock: Clock
) -> None:
    ids = fill(outbox, 10)
    publisher, sleeps = FakePublisher(), list[float]()
    publisher.break_after = [4]
    report = forwarder_for(outbox, publisher, clock, sleeps, batch_size=10).run(until_empty=True)
    published = [m.submission_id for m in publisher.published]
    assert report.sent == 10 and report.connection_failures == 1 and publisher.connects == 2
    # The fourth went out before the break and again after: at least once, never lost.
    assert published == ids[:4] + ids[3:]
    assert sleeps == []  # the first reconnection is immediate
    assert outbox.get(ids[3]).attempts == 2  # type: ignore[union-attr]
    assert outbox.status().sent_total == 10


def test_a_link_that_connects_but_breaks_every_batch_still_backs_off(outbox: Outbox, clock: Clock) -> None:
    fill(outbox, 10)
    publisher, sleeps = FakePublisher(), list[float]()
    publisher.break_after = [3, 3, 3]
    report = forwarder_for(outbox, publisher, clock, sleeps, batch_size=10).run(until_empty=True)
    assert report.sent == 10 and report.connection_failures == 3 and publisher.connects == 4
    backoff = Backoff(base=0.5, cap=30.0)
    assert len(sleeps) == 2  # the first break reconnects at once, the next ones wait longer each time
    assert backoff.ceiling(2) / 2 <= sleeps[0] <= backoff.ceiling(2) <= sleeps[1] <= backoff.ceiling(3)


def test_a_refused_submission_is_retried_on_its_own_backoff_then_left_failed_for_a_person(
    outbox: Outbox, clock: Clock
) -> None:
    fill(outbox, 3)
    publisher, sleeps = FakePublisher(), list[float]()
    publisher.refuse = {"s0001"}
    report = forwarder_for(outbox, publisher, clock, sleeps, max_refusals=3).run(until_empty=True)
    assert report.sent == 2 and report.refused == 3 and report.pending == 0
    assert [m.submission_id for m in publisher.published].count("s0001") == 3
    failed = outbox.get("s0001")
    assert failed is not None and failed.state is State.FAILED and failed.last_error == "devuelto"
    assert sum(sleeps) >= Backoff(base=5.0, cap=600.0).ceiling(1) / 2  # it waited between refusals


def test_each_message_carries_the_trace_context_stored_when_it_was_queued(outbox: Outbox, clock: Clock) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    outbox.enqueue("s1", b"x", trace_context={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"})
    publisher = FakePublisher()
    forwarder_for(outbox, publisher, clock, []).run(until_empty=True)
    assert publisher.published[0].headers["traceparent"].split("-")[1] == trace_id


def test_a_rate_limit_paces_the_batches(outbox: Outbox, clock: Clock) -> None:
    fill(outbox, 40)
    publisher, sleeps = FakePublisher(), list[float]()
    forwarder_for(outbox, publisher, clock, sleeps, max_rate=50.0).run(until_empty=True)
    assert len(publisher.published) == 40
    assert sum(sleeps) == pytest.approx(40 / 50, rel=0.25)


# -- the command line -------------------------------------------------------------------------------
def test_status_is_shown_in_spanish(outbox: Outbox) -> None:
    fill(outbox, 2)
    outbox.claim(1)
    text = render_status(outbox.status(), outbox.path)
    for label in ("En cola:", "En vuelo:", "Enviados:", "Fallidos:", "Último envío:", "Última sincronización:"):
        assert label in text
    assert "nunca" in text


def test_progress_is_printed_in_spanish() -> None:
    out = io.StringIO()
    observer = SpanishObserver(stream=out)
    observer.bus_unreachable("connection refused", 2.5)
    observer.batch_sent(100, 0)
    assert "Sin conexión con el bus" in out.getvalue() and "Nuevo intento en 2.5 s" in out.getvalue()
    assert "quedan 0" in out.getvalue()


def test_only_one_forwarder_at_a_time_drains_an_outbox(tmp_path: Path) -> None:
    db = tmp_path / "outbox.sqlite3"
    with single_forwarder(db), pytest.raises(ForwarderBusy), single_forwarder(db):
        pass
    with single_forwarder(db):  # released with the first holder
        pass


def test_after_the_clock_went_back_a_restart_does_not_leave_the_queue_waiting(outbox: Outbox, clock: Clock) -> None:
    fill(outbox, 1)
    clock.advance(-3 * DAY)  # booted without a real-time clock
    assert outbox.claim(1) == []
    outbox.recover()
    assert [e.submission_id for e in outbox.claim(1)] == ["s0000"]
