"""Shared by the benchmarks: the local stack, a bounded closed-loop driver,
percentiles and the results table."""

from __future__ import annotations

import contextlib
import os
import platform
import signal
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devstack.infra import Stack

ROOT = Path(__file__).resolve().parent.parent
RESULTS_PATH = ROOT / "var" / "benchmarks" / "results.md"
SUBJECT = "benchmark"
ROLE = "gestor"
IDENTITY_SETTINGS = ("CRM_ENV", "CRM_INTERNAL_SECRET")


def quiet_eventlet_warning() -> None:
    """nameko imports eventlet, which warns on import that it is deprecated."""
    import warnings

    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")


@contextlib.contextmanager
def running_stack(label: str) -> Iterator[Stack]:
    """The real local stack (RabbitMQ vhost of its own, SecantusDB, SeaweedFS and the
    project's processes, all on 127.0.0.1) under a temporary directory; always stopped."""
    from devstack.infra import start_stack

    with sigterm_unwinds(), tempfile.TemporaryDirectory(prefix=f"crm-bench-{label}-") as tmp:
        started = time.perf_counter()
        stack = _start_with_retry(start_stack, Path(tmp), label)
        # This process signs caller assertions with the settings the stack's
        # processes verify them with.
        for key in IDENTITY_SETTINGS:
            if key in stack.env:
                os.environ[key] = stack.env[key]
        try:
            print(f"[{label}] stack started in {time.perf_counter() - started:.1f}s", flush=True)
            yield stack
        finally:
            stopping = time.perf_counter()
            stack.stop()
            print(f"[{label}] stack stopped in {time.perf_counter() - stopping:.1f}s", flush=True)


@contextlib.contextmanager
def sigterm_unwinds() -> Iterator[None]:
    """SIGTERM (``timeout``, a CI runner) unwinds through ``finally`` like Ctrl-C, so
    the processes a benchmark started do not outlive it (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _start_with_retry(start_stack: Callable[..., Stack], var_dir: Path, label: str) -> Stack:
    """One retry: on a busy machine a component can lose a race for a free port."""
    from devstack.infra import ComponentFailed

    try:
        return start_stack(var_dir / "try-1", isolated_vhost=True)
    except ComponentFailed as exc:
        print(f"[{label}] the stack did not start ({exc}); retrying once", flush=True)
        return start_stack(var_dir / "try-2", isolated_vhost=True)


def _exit_on_signal(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


# -- measuring ---------------------------------------------------------------------


def percentiles(samples: Sequence[float]) -> tuple[float, float]:
    """(p50, p99) of ``samples``."""
    if not samples:
        return float("nan"), float("nan")
    if len(samples) == 1:
        return samples[0], samples[0]
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49], cuts[98]


@dataclass(frozen=True)
class Measurement:
    """Calls completed in ``elapsed`` wall seconds, with their latencies (seconds)."""

    label: str
    samples: tuple[float, ...] = field(repr=False)
    elapsed: float

    @property
    def count(self) -> int:
        return len(self.samples)

    @property
    def rps(self) -> float:
        return self.count / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def p50_ms(self) -> float:
        return percentiles(self.samples)[0] * 1000

    @property
    def p99_ms(self) -> float:
        return percentiles(self.samples)[1] * 1000

    def line(self) -> str:
        p50, p99 = percentiles(self.samples)
        return (
            f"  {self.label:<46} {self.count:>7} calls in {self.elapsed:6.2f}s "
            f"{self.rps:9.1f}/s  p50 {p50 * 1000:7.2f} ms  p99 {p99 * 1000:7.2f} ms"
        )

    @classmethod
    def combine(cls, label: str, parts: Sequence[Measurement]) -> Measurement:
        """One measurement from several rounds: all samples, summed wall time."""
        return cls(label, tuple(x for p in parts for x in p.samples), sum(p.elapsed for p in parts))


def drive(
    label: str,
    call: Callable[[int], Any],
    *,
    threads: int = 1,
    duration: float | None = None,
    max_calls: int,
) -> Measurement:
    """Closed loop: ``threads`` threads call ``call(i)`` back to back (``i`` counts
    0, 1, 2...) until ``max_calls`` calls have started or ``duration`` seconds have
    passed. The first exception stops every thread and is re-raised."""
    lock = threading.Lock()
    issued = 0
    failure: list[BaseException] = []
    per_thread: list[list[float]] = [[] for _ in range(threads)]
    start = time.perf_counter()
    deadline = start + duration if duration is not None else float("inf")

    def worker(samples: list[float]) -> None:
        nonlocal issued
        while True:
            with lock:
                if failure or issued >= max_calls:
                    return
                i = issued
                issued += 1
            t0 = time.perf_counter()
            if t0 >= deadline:
                return
            try:
                call(i)
            except BaseException as exc:
                with lock:
                    failure.append(exc)
                return
            samples.append(time.perf_counter() - t0)

    if threads == 1:
        worker(per_thread[0])
    else:
        pool = [threading.Thread(target=worker, args=(s,), daemon=True) for s in per_thread]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
    elapsed = time.perf_counter() - start
    if failure:
        raise failure[0]
    return Measurement(label, tuple(x for s in per_thread for x in s), elapsed)


# -- reporting ---------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One figure beside its baseline measured in the same run; ``ratio`` is always
    figure / baseline (for throughput higher is better, for latency lower is)."""

    benchmark: str
    figure: str
    unit: str
    value: float
    baseline: float | None
    baseline_name: str
    target: str = "-"
    passed: bool | None = None

    @property
    def ratio(self) -> float | None:
        return self.value / self.baseline if self.baseline else None

    @property
    def verdict(self) -> str:
        return {True: "pass", False: "**FAIL**", None: "info"}[self.passed]


def _num(value: float, unit: str) -> str:
    if unit == "ms":
        return f"{value:.2f} ms"
    if unit == "s":
        return f"{value:.1f} s"
    return f"{value:,.1f} {unit}"


def markdown_table(rows: Sequence[Row]) -> str:
    lines = [
        "| benchmark | figure | measured | baseline | ratio | target | result |",
        "|---|---|---:|---|---:|---|---|",
    ]
    for r in rows:
        baseline = "-" if r.baseline is None else f"{_num(r.baseline, r.unit)} ({r.baseline_name})"
        ratio = "-" if r.ratio is None else f"{r.ratio:.2f}"
        lines.append(
            f"| {r.benchmark} | {r.figure} | {_num(r.value, r.unit)} | {baseline} | {ratio} | "
            f"{r.target} | {r.verdict} |"
        )
    return "\n".join(lines)


def environment_note() -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M UTC}; {platform.node()}; {os.cpu_count()} CPUs; "
        f"load average {load}; Python {platform.python_version()}"
    )


def print_rows(title: str, rows: Sequence[Row]) -> None:
    print(f"\n## {title}\n\n{markdown_table(rows)}\n", flush=True)
