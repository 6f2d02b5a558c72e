"""Store and forward under faults: the kiosk's forwarder (``python -m edge_agent.cli
drain``, a process of its own) drains a real outbox to RabbitMQ while the test
kills it, restarts the broker or breaks the network; the platform's ingest
worker stores what arrives. In every case each of N signed submissions ends up
stored exactly once in ``crm_actas.actas``, and none is refused.

All on loopback: the stack's broker (its own vhost), a private RabbitMQ node for
the restart, and a TCP proxy the test controls for the network faults.
"""

from __future__ import annotations

import io
import json
import os
import signal
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pymongo
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from kombu import Connection
from PIL import Image

from crm_platform import submission_bus as bus
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2 as apb
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2_grpc as apb_grpc
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as pb
from devstack.infra import VENV_BIN, ManagedProcess, Stack, wait_for
from edge_agent import submissions as kiosk
from edge_agent.outbox import Outbox, State
from edge_agent.tcp_proxy import TcpProxy
from services.actas.domain.submission import public_key_b64
from tests.helpers import GESTOR, Caller, eventually, person_request, traces_dir
from tests.private_broker import PrivateBroker

pytestmark = pytest.mark.integration

N = 200
COORDINATOR = Caller("coordinadora.test", "coordinator")


# -- the platform side ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def actas(stack: Stack) -> Iterator[apb_grpc.ActasServiceStub]:
    channel = grpc.insecure_channel(stack.env["ACTAS_GRPC"])
    yield apb_grpc.ActasServiceStub(channel)
    channel.close()


@pytest.fixture(scope="module")
def actas_db(stack: Stack) -> Iterator[pymongo.collection.Collection]:
    client: pymongo.MongoClient = pymongo.MongoClient(stack.env["MONGO_URI"])
    yield client["crm_actas"]["actas"]
    client.close()


@pytest.fixture
def device(actas: apb_grpc.ActasServiceStub) -> tuple[str, Ed25519PrivateKey]:
    key = Ed25519PrivateKey.generate()
    device_id = f"kiosco-{uuid.uuid4().hex[:8]}"
    actas.RegisterDevice(
        apb.RegisterDeviceRequest(
            id=device_id, public_key=public_key_b64(key), community_id="com-pruebas", description="Quiosco de prueba"
        ),
        metadata=COORDINATOR,
    )
    return device_id, key


@pytest.fixture
def signer(beneficiaries: Any, family: pb.Family) -> pb.Beneficiary:
    return beneficiaries.RegisterBeneficiary(person_request(family_id=family.id, relationship="head"), metadata=GESTOR)


@pytest.fixture
def submissions(device: tuple[str, Ed25519PrivateKey], family: pb.Family, signer: pb.Beneficiary) -> dict[str, bytes]:
    """N signed home-visit submissions, by submission id."""
    device_id, key = device
    png = io.BytesIO()
    Image.new("L", (120, 40), 255).save(png, format="PNG")
    out = {}
    for i in range(N):
        body = kiosk.body(
            submission_id=uuid.uuid4().hex,
            device_id=device_id,
            template_key="visita_domiciliaria@1",
            values={
                "fecha": "2026-11-20",
                "lugar": f"Nuevo Roche, lote {i}",
                "hogar": family.id,
                "motivo": "seguimiento",
                "situacion_encontrada": "Visita de seguimiento registrada en el quiosco.",
                "personas_presentes": 1,
                "firmantes": [signer.id],
            },
            signatures=[
                kiosk.handwritten_signature(signer.id, png.getvalue()),
                kiosk.handwritten_signature("gestor.test", png.getvalue(), role="gestor"),
            ],
            gestor_id="gestor.test",
        )
        out[body.submission_id] = kiosk.envelope(body, key)
    return out


def assert_each_stored_once(
    actas_db: pymongo.collection.Collection,
    actas: apb_grpc.ActasServiceStub,
    device_id: str,
    ids: list[str],
    timeout: float = 90,
) -> None:
    def stored() -> Counter[str]:
        found = actas_db.find({"submission_id": {"$in": ids}}, {"submission_id": 1})
        return Counter(doc["submission_id"] for doc in found)

    eventually(lambda: len(stored()) == len(ids), timeout=timeout, interval=0.5)
    counts = stored()
    assert set(counts) == set(ids) and set(counts.values()) == {1}
    refused = actas.ListRejectedSubmissions(
        apb.ListRejectedSubmissionsRequest(limit=500), metadata=COORDINATOR
    ).rejected
    assert [r.reason for r in refused if r.device_id == device_id] == []  # duplicates are absorbed, not refused


# -- the kiosk side ------------------------------------------------------------------------------
def queued_outbox(path: Path, submissions: dict[str, bytes]) -> Outbox:
    outbox = Outbox(path)
    for sid, raw in submissions.items():
        assert outbox.enqueue(sid, raw)
    return outbox


def forwarder(stack: Stack, name: str, db: Path, amqp: str, *args: str) -> ManagedProcess:
    """``crm-kiosk drain`` as a process of its own (its output goes to the stack's logs)."""
    return stack.spawn(
        name,
        [sys.executable, "-m", "edge_agent.cli", "drain", "--db", str(db), "--amqp", amqp, *args],
        {"OTEL_SERVICE_NAME": "crm-kiosk", "LOG_LEVEL": "INFO"},
    )


def via(proxy: TcpProxy, amqp_uri: str) -> str:
    """The same broker URI, through the proxy."""
    head, _, tail = amqp_uri.partition("@")
    vhost = tail.split("/", 1)[1]
    return f"{head}@{proxy.host}:{proxy.port}/{vhost}"


def upstream_of(amqp_uri: str) -> tuple[str, int]:
    hostport = amqp_uri.partition("@")[2].split("/", 1)[0]
    host, _, port = hostport.rpartition(":")
    return host, int(port)


# -- faults ----------------------------------------------------------------------------------------
def test_a_forwarder_killed_while_its_messages_await_confirms_resends_them_and_each_is_stored_once(
    stack: Stack, actas, actas_db, device, submissions: dict[str, bytes], tmp_path: Path
) -> None:
    db = tmp_path / "outbox.sqlite3"
    outbox = queued_outbox(db, submissions)
    amqp = stack.env["AMQP_URI"]
    first = second = None
    with TcpProxy(upstream_of(amqp)) as proxy:
        try:
            first = forwarder(stack, "kiosk-kill-1", db, via(proxy, amqp), "--max-rate", "100")
            eventually(lambda: outbox.status().sent_total >= 40, timeout=30, interval=0.05)
            # The worst instant: the broker gets the next batch, its confirms are lost.
            proxy.blackhole(replies_only=True)
            eventually(lambda: outbox.status().in_flight > 0, timeout=10, interval=0.01)
            time.sleep(0.5)
            os.killpg(first.proc.pid, signal.SIGKILL)
            assert first.proc.wait(10) == -signal.SIGKILL
            at_death = outbox.status()
            assert at_death.in_flight > 0 and at_death.sent_total < N
            # Those unconfirmed messages did reach the platform...
            unconfirmed = [e.submission_id for e in outbox.entries(State.IN_FLIGHT)]
            assert_each_stored_once(actas_db, actas, device[0], unconfirmed, timeout=30)

            # ...and a new forwarder sends them again, with everything else.
            second = forwarder(stack, "kiosk-kill-2", db, amqp)
            assert second.proc.wait(60) == 0
        finally:
            for process in (first, second):
                if process is not None:
                    process.stop()
    status = outbox.status()
    outbox.close()
    assert (status.queued, status.in_flight, status.failed, status.sent_total) == (0, 0, 0, N)
    assert_each_stored_once(actas_db, actas, device[0], list(submissions))


@pytest.mark.timeout(240)
def test_a_rabbitmq_restart_mid_drain_loses_and_duplicates_nothing(
    stack: Stack, actas, actas_db, device, submissions: dict[str, bytes], tmp_path: Path
) -> None:
    broker = PrivateBroker(tmp_path / "rabbitmq")
    ingest = drain = None
    db = tmp_path / "outbox.sqlite3"
    outbox = queued_outbox(db, submissions)
    try:
        broker.start()
        ingest = stack.spawn(
            "actas-ingest-private",
            [str(VENV_BIN / "crm-actas-ingest")],
            {"AMQP_URI": broker.uri, "OTEL_SERVICE_NAME": "actas-ingest-private"},
        )
        wait_for("private ingest worker", lambda: _consumed(broker.uri), 60, ingest.log, ingest.proc)
        drain = forwarder(stack, "kiosk-broker-restart", db, broker.uri, "--max-rate", "50", "--connect-timeout", "2")
        eventually(lambda: outbox.status().sent_total >= 50, timeout=30, interval=0.05)
        broker.stop()
        stalled = outbox.status().sent_total
        assert stalled < N
        broker.start()
        assert drain.proc.wait(90) == 0
        assert "Sin conexión con el bus" in drain.log.read_text()
        assert_each_stored_once(actas_db, actas, device[0], list(submissions))
    finally:
        for process in (drain, ingest):
            if process is not None:
                process.stop()
        broker.close()
        outbox.close()


def _consumed(amqp_uri: str) -> bool:
    with Connection(amqp_uri, connect_timeout=2) as conn:
        return bool(conn.default_channel.queue_declare(queue=bus.QUEUE.name, passive=True).consumer_count > 0)


def test_a_network_cut_and_a_stalled_link_are_survived_and_each_submission_is_stored_once(
    stack: Stack, actas, actas_db, device, submissions: dict[str, bytes], tmp_path: Path
) -> None:
    db = tmp_path / "outbox.sqlite3"
    outbox = queued_outbox(db, submissions)
    amqp = stack.env["AMQP_URI"]
    drain = None
    with TcpProxy(upstream_of(amqp)) as proxy:
        try:
            drain = forwarder(
                stack,
                "kiosk-network",
                db,
                via(proxy, amqp),
                *("--max-rate", "100", "--connect-timeout", "1", "--io-timeout", "2"),
            )
            eventually(lambda: outbox.status().sent_total >= 50, timeout=30, interval=0.05)
            proxy.cut()  # connections reset, new ones refused
            eventually(lambda: outbox.status().in_flight == 0, timeout=10, interval=0.05)
            during_cut = outbox.status().sent_total
            time.sleep(2)
            assert outbox.status().sent_total == during_cut < N
            proxy.restore()

            eventually(lambda: outbox.status().sent_total >= during_cut + 50, timeout=30, interval=0.05)
            proxy.blackhole()  # connections stay open; nothing gets through, nothing answers
            time.sleep(3)  # longer than the I/O timeout
            stalled = outbox.status().sent_total
            time.sleep(1)
            assert outbox.status().sent_total == stalled < N
            proxy.restore()

            assert drain.proc.wait(60) == 0
        finally:
            if drain is not None:
                drain.stop()
    log = drain.log.read_text()
    outbox.close()
    assert "Connection refused" in log, log  # the cut link
    assert "no respondió en 2 s" in log, log  # the stalled link ended in a bounded wait
    assert_each_stored_once(actas_db, actas, device[0], list(submissions))


# -- replays and tracing ------------------------------------------------------------------------------
def test_a_submission_enqueued_twice_or_replayed_from_another_outbox_is_stored_once(
    stack: Stack, actas, actas_db, device, submissions: dict[str, bytes], tmp_path: Path
) -> None:
    (sid, raw), (marker_id, marker) = list(submissions.items())[:2]
    first, second = tmp_path / "a.sqlite3", tmp_path / "b.sqlite3"
    with Outbox(first) as outbox:
        assert outbox.enqueue(sid, raw) is True
        assert outbox.enqueue(sid, raw) is False
        assert len(outbox.entries()) == 1
    # The same bytes again from another outbox: a kiosk restored from a backup taken
    # before the send, or an acta re-exported after its history was pruned. The
    # marker goes after it, so once the marker is stored the replay was handled.
    with Outbox(second) as outbox:
        outbox.enqueue(sid, raw)
        outbox.enqueue(marker_id, marker)
    for name, db in (("a", first), ("b", second)):
        process = forwarder(stack, f"kiosk-replay-{name}", db, stack.env["AMQP_URI"])
        try:
            assert process.proc.wait(30) == 0
        finally:
            process.stop()
    assert_each_stored_once(actas_db, actas, device[0], [sid, marker_id])


def test_the_trace_starts_on_the_kiosk_and_continues_through_the_bus_into_the_ingest_worker(
    stack: Stack, submissions: dict[str, bytes], tmp_path: Path
) -> None:
    sid, raw = next(iter(submissions.items()))
    trace_id, capture_span = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    with Outbox(tmp_path / "outbox.sqlite3") as outbox:
        # As the signing flow would store it: the context of the span that captured the acta.
        outbox.enqueue(sid, raw, trace_context={"traceparent": f"00-{trace_id}-{capture_span}-01"})
    process = forwarder(stack, "kiosk-trace", tmp_path / "outbox.sqlite3", stack.env["AMQP_URI"])
    try:
        assert process.proc.wait(30) == 0
    finally:
        process.stop()

    def spans() -> list[dict[str, Any]]:
        found = []
        for path in traces_dir(stack).glob("*.jsonl"):
            found += [s for s in map(json.loads, path.read_text().splitlines()) if s["trace_id"] == trace_id]
        names = {s["name"] for s in found}
        # The documents consumer, and its call back to actas, are further along the trace.
        done = {"actas.ingest_submission", "documents.on_acta_sealed"} <= names and any(
            s["service"] == "actas-grpc" and s["name"].endswith("ActasService/GetActa") for s in found
        )
        return found if done else []

    found = eventually(spans, timeout=30)
    kiosk_span = next(s for s in found if s["name"] == "kiosk.forward_submission")
    ingest_span = next(s for s in found if s["name"] == "actas.ingest_submission")
    assert kiosk_span["service"] == "crm-kiosk" and kiosk_span["kind"] == "PRODUCER"
    assert kiosk_span["parent_id"] == capture_span and kiosk_span["attributes"]["crm.submission_id"] == sid
    assert ingest_span["parent_id"] == kiosk_span["span_id"] and ingest_span["kind"] == "CONSUMER"

    # kiosk → ingest → (AMQP, published by the ingest worker's background relay) documents → actas (gRPC)
    by_id = {s["span_id"]: s for s in found}

    def ancestors(span: dict[str, Any]) -> list[dict[str, Any]]:
        chain = []
        while span["parent_id"] in by_id:
            span = by_id[span["parent_id"]]
            chain.append(span)
        return chain

    documents = next(s for s in found if s["name"] == "documents.on_acta_sealed")
    assert documents["service"] == "documents" and ingest_span in ancestors(documents)
    get_acta = next(s for s in found if s["service"] == "actas-grpc" and s["name"].endswith("ActasService/GetActa"))
    assert documents in ancestors(get_acta)
