"""Kiosk store and forward: drain 5,000 queued submissions to RabbitMQ.

Measured: ``crm-kiosk run-forwarder``, a process of its own as on a kiosk (tracing
on, spans written as JSON lines), drains an outbox of signed submissions (a home
visit with fingerprint evidence, a handwritten PNG and the gestor's signature)
to the broker with publisher confirms. The rate is counted from the outbox's own
timestamps, from the first claim to the last confirmed batch recorded, so process
start-up and the connection are left out, as they are for the baseline.

Baseline, same run, same broker and vhost, same bytes: raw kombu publishing with
``confirm_publish=True`` (each publish waits for its confirm), the reference the
issue names; measured before and after the forwarder and averaged. For
information, raw publishing with confirms pipelined in batches of 100, the
technique the forwarder itself uses, so the outbox's own cost is visible.

Memory: the forwarder process's peak resident set (``VmHWM`` in
``/proc/<pid>/status``) over start-up, the drain and the idle period. Idle CPU:
user + system CPU seconds of that process (``/proc/<pid>/stat``) over
``--idle`` seconds with an empty queue, after the drain.

Only RabbitMQ is needed: the machine's broker on 127.0.0.1:5672 with a
throwaway vhost (nothing consumes; the queue is purged between runs).

    python -m benchmarks.bench_kiosk [--count 5000] [--idle 10]
"""

from __future__ import annotations

import argparse
import io
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from kombu import Connection, Producer
from PIL import Image

from benchmarks._common import ROOT, Row, print_rows, sigterm_unwinds
from crm_platform import submission_bus as bus
from edge_agent import submissions as kiosk
from edge_agent.outbox import Outbox, State

NAME = "kiosk"
BATCH = 100
TEMPLATE_SHA = "ab" * 32


# -- inputs ------------------------------------------------------------------------------------
def _envelopes(count: int) -> dict[str, bytes]:
    key = Ed25519PrivateKey.generate()
    png = io.BytesIO()
    Image.new("L", (320, 120), 255).save(png, format="PNG")
    out = {}
    for i in range(count):
        body = kiosk.body(
            submission_id=uuid.uuid4().hex,
            device_id="kiosco-bench",
            template_key="visita_domiciliaria@1",
            values={
                "fecha": "2026-11-20",
                "lugar": f"Nuevo Roche, lote {i}",
                "hogar": "familia-bench",
                "motivo": "seguimiento",
                "situacion_encontrada": "Visita de seguimiento registrada en el quiosco, sin novedades.",
                "personas_presentes": 2,
                "firmantes": ["persona-1", "persona-2"],
            },
            signatures=[
                kiosk.fingerprint_signature(
                    "persona-1", score=150, finger="right_index", sensor_id="ZFM-20 #1", template_sha256=TEMPLATE_SHA
                ),
                kiosk.handwritten_signature("persona-2", png.getvalue()),
                kiosk.handwritten_signature("gestor.bench", png.getvalue(), role="gestor"),
            ],
            gestor_id="gestor.bench",
            location=(11.0, -72.9, 8.0),
        )
        out[body.submission_id] = kiosk.envelope(body, key)
    return out


@contextmanager
def _throwaway_vhost(var_dir: Path) -> Iterator[str]:
    """An AMQP URI on a vhost of its own on the machine's broker; deleted afterwards."""
    from devstack.infra import Stack

    stack = Stack(var_dir=var_dir)
    try:
        stack.start_rabbitmq(isolated_vhost=True)
        yield stack.env["AMQP_URI"]
    finally:
        stack.stop()


def _purge(uri: str) -> None:
    with Connection(uri) as conn:
        channel = conn.default_channel
        bus.QUEUE(channel).declare()
        channel.queue_purge(bus.QUEUE.name)


# -- baselines ---------------------------------------------------------------------------------
def _raw_confirmed(uri: str, messages: Sequence[bytes]) -> float:
    """Messages per second, kombu with ``confirm_publish=True`` (a confirm per publish)."""
    with Connection(uri, transport_options={"confirm_publish": True}) as conn:
        producer = Producer(conn.default_channel)
        bus.QUEUE(producer.channel).declare()
        started = time.perf_counter()
        for raw in messages:
            producer.publish(
                raw,
                exchange=bus.EXCHANGE,
                routing_key=bus.ROUTING_KEY,
                content_type=bus.CONTENT_TYPE,
                content_encoding="binary",
                delivery_mode=2,
            )
        return len(messages) / (time.perf_counter() - started)


def _raw_pipelined(uri: str, messages: Sequence[bytes]) -> float:
    """Messages per second, confirms awaited per batch of ``BATCH`` (as the forwarder does)."""
    with Connection(uri) as conn:
        channel = conn.channel()
        bus.QUEUE(channel).declare()
        channel.confirm_select()
        acked = [0]

        def on_ack(tag: int, multiple: bool) -> None:
            acked[0] = max(acked[0], tag) if multiple else acked[0] + 1

        channel.events["basic_ack"].add(on_ack)
        producer = Producer(channel)
        started = time.perf_counter()
        for start in range(0, len(messages), BATCH):
            for raw in messages[start : start + BATCH]:
                producer.publish(
                    raw,
                    exchange=bus.EXCHANGE,
                    routing_key=bus.ROUTING_KEY,
                    content_type=bus.CONTENT_TYPE,
                    content_encoding="binary",
                    delivery_mode=2,
                )
            while acked[0] < min(start + BATCH, len(messages)):
                conn.drain_events(timeout=30)
        return len(messages) / (time.perf_counter() - started)


# -- the forwarder process ---------------------------------------------------------------------
def _proc_status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def _forwarder(
    uri: str, messages: dict[str, bytes], work: Path, idle_seconds: float, *, tracing: bool = True
) -> tuple[float, float, float]:
    """(messages/s, peak RSS in MB, CPU % of one core while idle)."""
    work.mkdir(parents=True, exist_ok=True)
    db = work / "outbox.sqlite3"
    outbox = Outbox(db)
    outbox.enqueue_many((sid, raw, {}) for sid, raw in messages.items())
    env = {
        **os.environ,
        "OTEL_SERVICE_NAME": "crm-kiosk-bench",
        "OTEL_TRACES_DIR": str(work / "traces"),
        "OTEL_SDK_DISABLED": "false" if tracing else "true",
        "PYTHONPATH": str(ROOT),
    }
    log = (work / "forwarder.log").open("wb")
    argv = [sys.executable, "-m", "edge_agent.cli", "run-forwarder", "--db", str(db), "--amqp", uri, "--quiet"]
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 600
        while outbox.status().sent_total < len(messages):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the forwarder stopped or stalled; see {work / 'forwarder.log'}")
            time.sleep(0.2)
        sent = outbox.entries(State.SENT)
        first_claim = min(e.last_attempt_at or math.inf for e in sent)
        last_confirmed = max(e.sent_at or 0.0 for e in sent)
        rate = len(messages) / (last_confirmed - first_claim)
        idle_cpu = float("nan")
        if idle_seconds > 0:
            time.sleep(1.0)  # let the last spans be exported
            before = _cpu_seconds(proc.pid)
            time.sleep(idle_seconds)
            idle_cpu = (_cpu_seconds(proc.pid) - before) / idle_seconds * 100
        peak_mb = _proc_status_kb(proc.pid, "VmHWM") / 1024
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        log.close()
        outbox.close()
    return rate, peak_mb, idle_cpu


def _enqueue_latency(messages: dict[str, bytes], work: Path, count: int = 200) -> float:
    """Median milliseconds to queue one submission (one transaction, one fsync)."""
    samples = []
    with Outbox(work / "enqueue.sqlite3") as outbox:
        for sid, raw in list(messages.items())[:count]:
            started = time.perf_counter()
            outbox.enqueue(sid, raw)
            samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


# -- the run -------------------------------------------------------------------------------------
def run(count: int = 5000, idle_seconds: float = 10.0) -> list[Row]:
    # The forwarder process and the vhost must not outlive a killed benchmark.
    with sigterm_unwinds():
        return _run(count, idle_seconds)


def _run(count: int, idle_seconds: float) -> list[Row]:
    messages = _envelopes(count)
    payload = list(messages.values())
    size = statistics.mean(len(m) for m in payload)
    print(f"[{NAME}] {count} signed submissions, {size:,.0f} bytes each on average", flush=True)
    with tempfile.TemporaryDirectory(prefix="crm-bench-kiosk-") as tmp, _throwaway_vhost(Path(tmp) / "stack") as uri:
        work = Path(tmp)
        raw_before = _raw_confirmed(uri, payload)
        _purge(uri)
        rate, peak_mb, idle_cpu = _forwarder(uri, messages, work / "traced", idle_seconds)
        _purge(uri)
        untraced, _, _ = _forwarder(uri, messages, work / "untraced", 0.0, tracing=False)
        _purge(uri)
        raw_after = _raw_confirmed(uri, payload)
        _purge(uri)
        pipelined = _raw_pipelined(uri, payload)
        _purge(uri)
        enqueue_ms = _enqueue_latency(messages, work)
    raw = (raw_before + raw_after) / 2
    print(
        f"[{NAME}] forwarder {rate:,.0f}/s ({untraced:,.0f}/s untraced); "
        f"raw confirmed {raw_before:,.0f}/s and {raw_after:,.0f}/s; raw pipelined {pipelined:,.0f}/s; "
        f"peak RSS {peak_mb:.1f} MB; idle CPU {idle_cpu:.2f} %",
        flush=True,
    )
    rows = [
        Row(
            NAME,
            f"drain {count:,} queued submissions (crm-kiosk run-forwarder, own process, tracing on)",
            "msg/s",
            rate,
            raw,
            "raw kombu publish, confirm_publish=True (mean of 2 runs)",
            target=">= 70 % of raw",
            passed=rate >= 0.7 * raw,
        ),
        Row(
            NAME,
            "the same drain, against the forwarder's own technique without the outbox",
            "msg/s",
            rate,
            pipelined,
            f"raw kombu publish, confirms awaited per batch of {BATCH}",
        ),
        Row(
            NAME,
            "the same drain with tracing off (OTEL_SDK_DISABLED=true): what a span per message costs",
            "msg/s",
            untraced,
            pipelined,
            f"raw kombu publish, confirms awaited per batch of {BATCH}",
        ),
        Row(
            NAME,
            "forwarder process peak RSS (VmHWM: start-up, drain, idle)",
            "MB",
            peak_mb,
            None,
            "-",
            target="< 100 MB",
            passed=peak_mb < 100,
        ),
        Row(
            NAME,
            f"forwarder CPU while idle, empty queue ({idle_seconds:g} s)",
            "% of a core",
            idle_cpu,
            None,
            "-",
            target="< 1 % of a core",
            passed=idle_cpu < 1.0,
        ),
        Row(NAME, "queue one submission (one transaction, fsync), median", "ms", enqueue_ms, None, "-"),
    ]
    print_rows(NAME, rows)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_kiosk", description=__doc__)
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--idle", type=float, default=10.0, help="idle seconds measured after the drain")
    args = parser.parse_args(argv)
    run(args.count, args.idle)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
