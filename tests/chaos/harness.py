"""Fault injection against the real stack while kiosks submit, and the invariants
that must hold afterwards.

A ``ChaosStack`` is the project's own devstack (SecantusDB, SeaweedFS, every
service process, the provider stand-ins) on a private RabbitMQ node, so one
scenario can restart "the broker" without touching the machine's. Each scenario:

1. seeds a cohort of its own: a community, a household of beneficiaries with a
   WhatsApp number and the ``notifications`` consent each, and a paired kiosk;
2. publishes ``count`` signed kiosk submissions at a steady pace from a thread
   (publisher confirms; a publish the broker did not confirm is sent again, as a
   kiosk's outbox does), through the shared ``submission_bus.publish``;
3. strikes mid-stream, ``faults`` times, once the stage under test is busy:
   - ``ingest_kill``: SIGKILL ``crm-actas-ingest``, start it again;
   - ``store_kill``: SIGKILL SecantusDB a few milliseconds after a seal commits
     (the chain head moved), start it again on the same data;
   - ``documents_kill``: SIGKILL ``crm-documents`` while it produces PDFs;
   - ``notifications_kill``: SIGKILL ``crm-notifications`` while it sends;
   - ``broker_restart``: stop the RabbitMQ node mid-drain and start it again;
4. waits, bounded, until everything is done (sealed, PDFs stored, messages sent),
   watches a few seconds more for late duplicates, and checks:
   - sealed == distinct submissions sent (each confirmed by the broker), none refused;
   - no duplicates: one acta per submission, one chain position per acta;
   - ``crm-social verify`` reports the chain intact, through the service and
     straight from the database;
   - exactly one stored PDF per acta, PAdES-signed (the signature intact and
     trusted), whose SHA-256 is the record's, of the acta's content hash, and
     produced once (one ``document_stored`` announcement per acta);
   - each notification key (``acta_sealed:<acta>:<person>``) accepted by the
     provider stand-ins exactly once, and no message about an acta that was not
     sealed;
   - every process of the stack still running;
   and measures the recovery: from each fault to the first new progress of the
   stage it hit (seal, PDF or message, from the records' own timestamps), and
   from the last fault to the last thing done.

Every violation names what is wrong ("acta X: stored PDF sha256 ... != record ...").
Everything binds to 127.0.0.1; every wait is bounded (and by ``Config.deadline``);
everything started is stopped.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import io
import json
import math
import os
import re
import secrets
import shutil
import subprocess
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import grpc
import pymongo
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from kombu import Connection, Producer, Queue
from minio import Minio
from PIL import Image
from pymongo.errors import PyMongoError

from crm_platform import submission_bus as bus
from crm_platform.grpc_support import caller_metadata
from crm_platform.messaging import events_exchange
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2 as apb
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2_grpc as apb_grpc
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as pb
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2_grpc as pb_grpc
from devstack.infra import (
    VENV_BIN,
    ComponentFailed,
    Stack,
    _grpc_serving,
    _rpc_consumed,
    development_env,
    wait_for,
)
from edge_agent import submissions as kiosk
from services.actas.domain.submission import public_key_b64
from tests.helpers import person_request
from tests.private_broker import PrivateBroker

# The services' databases and bucket as devstack runs them (no *_DB override).
ACTAS_DB = "crm_actas"
DOCUMENTS_DB = "crm_documents"
NOTIFICATIONS_DB = "crm_notifications"
DOCUMENTS_BUCKET = "crm-documents"

SERVICES = (
    "beneficiaries-amqp",
    "beneficiaries-grpc",
    "actas-grpc",
    "actas-ingest",
    "documents",
    "providers",
    "notifications",
    "gateway",
)
INFRASTRUCTURE = ("secantusdb", "seaweedfs")
DONE = ("sent", "delivered")  # delivery-log states of a message a provider accepted
FINAL = (*DONE, "failed", "skipped")
TEMPLATE = "visita_domiciliaria@1"
PEOPLE_PER_COHORT = 5
READY_TIMEOUT = 60.0

# The invariants, in the order the table shows them.
SEALED, DUPLICATES, CHAIN, PDFS, NOTIFICATIONS, PROCESSES, DRAIN, RUN = (
    "sealed",
    "duplicates",
    "chain",
    "pdfs",
    "notifications",
    "processes",
    "drain",
    "run",  # the scenario itself could not run to the end
)
INVARIANTS = (SEALED, DUPLICATES, CHAIN, PDFS, NOTIFICATIONS, PROCESSES, DRAIN, RUN)

Echo = Callable[[str], None]


# -- configuration and results ----------------------------------------------------------------
@dataclass(frozen=True)
class Config:
    count: int = 50  # kiosk submissions per scenario
    pace: float = 25.0  # submissions published per second
    faults: int = 1  # strikes per scenario, spread over the stream
    down_seconds: float = 1.0  # how long the struck component stays down
    drain_limit: float = 60.0  # all done within this many seconds of the last submission sent
    drain_wait: float = 60.0  # how long to keep watching (> drain_limit measures a slow recovery)
    settle: float = 3.0  # watched after draining, for late duplicates
    deadline: float = math.inf  # time.monotonic() after which every wait gives up


SHORT = Config()
# About what the slowest stage (signed PDFs) keeps up with on a 2-core machine, so the
# time to drain measures the recovery rather than a backlog the pace itself built.
FULL = Config(count=300, pace=6.0, faults=3, drain_wait=180.0, settle=5.0)


@dataclass
class Result:
    scenario: str
    sent: int = 0
    sealed: int = 0
    duplicates: int = 0
    progress_s: list[float | None] = field(default_factory=list)  # per fault: to the first new progress
    drained_s: float | None = None  # last fault -> last thing done
    tail_s: float | None = None  # last submission sent -> last thing done
    elapsed_s: float = 0.0
    violations: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    notes: list[str] = field(default_factory=list)
    var_dir: Path | None = None

    def fail(self, invariant: str, problem: str) -> None:
        self.violations[invariant].append(problem)

    def holds(self, invariant: str) -> bool:
        return not self.violations.get(invariant)

    @property
    def ok(self) -> bool:
        return not any(self.violations.values())

    def report(self, limit: int = 12) -> str:
        """Every violation, grouped by invariant (at most ``limit`` lines each)."""
        progress_s = ", ".join("-" if p is None else f"{p:.1f}" for p in self.progress_s) or "-"
        lines = [
            f"{self.scenario}: {'ok' if self.ok else 'VIOLATED'}: sent {self.sent}, sealed {self.sealed}, "
            f"duplicates {self.duplicates}; first progress after each fault {progress_s} s, drained "
            f"{_seconds(self.drained_s)} s after the last fault and {_seconds(self.tail_s)} s after the last "
            f"submission; {self.elapsed_s:.0f} s in all"
        ]
        for invariant in INVARIANTS:
            problems = self.violations.get(invariant) or []
            for problem in problems[:limit]:
                lines.append(f"  [{invariant}] {problem}")
            if len(problems) > limit:
                lines.append(f"  [{invariant}] ... and {len(problems) - limit} more")
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)


# -- the stack --------------------------------------------------------------------------------
class ChaosStack:
    """The project's stack on a private RabbitMQ node, plus the clients the checks use."""

    def __init__(self, var_dir: Path) -> None:
        self.var_dir = var_dir
        self.broker = PrivateBroker(var_dir / "rabbitmq")
        self.stack = Stack(var_dir=var_dir, env=development_env(var_dir))
        self._mongo: pymongo.MongoClient | None = None
        self._channels: dict[str, grpc.Channel] = {}

    # lifecycle
    def start(self) -> ChaosStack:
        try:
            self.broker.start()
            self.stack.env["AMQP_URI"] = self.broker.uri
            self.stack.start_mongo()
            self.stack.start_s3()
            self.stack.start_services()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for channel in self._channels.values():
            channel.close()
        self._channels.clear()
        if self._mongo is not None:
            self._mongo.close()
            self._mongo = None
        try:
            # The services first and side by side (each gets SIGTERM, then SIGKILL after
            # its grace): one after the other, a stack that lost its broker takes minutes.
            services = [m for m in self.stack.processes if m.name not in INFRASTRUCTURE]
            stoppers = [threading.Thread(target=m.stop, daemon=True) for m in services]
            for stopper in stoppers:
                stopper.start()
            for stopper in stoppers:
                stopper.join(30)
            self.stack.stop()  # whatever is left, infrastructure last
        finally:
            self.broker.close()

    def __enter__(self) -> ChaosStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def env(self) -> dict[str, str]:
        return self.stack.env

    # clients
    @property
    def mongo(self) -> pymongo.MongoClient:
        if self._mongo is None:
            self._mongo = pymongo.MongoClient(
                self.env["MONGO_URI"], tz_aware=True, serverSelectionTimeoutMS=2000, socketTimeoutMS=30000
            )
        return self._mongo

    def channel(self, target_env: str) -> grpc.Channel:
        if target_env not in self._channels:
            self._channels[target_env] = grpc.insecure_channel(self.env[target_env])
        return self._channels[target_env]

    def s3(self) -> Minio:
        return Minio(
            self.env["S3_ENDPOINT"],
            access_key=self.env["S3_ACCESS_KEY"],
            secret_key=self.env["S3_SECRET_KEY"],
            secure=False,
        )

    # processes
    def wait_ready(self, name: str, timeout: float = READY_TIMEOUT) -> None:
        """Wait until a (re)started service answers as ``start_services`` waits for it."""
        uri = self.env["AMQP_URI"]
        checks: dict[str, list[tuple[str, Callable[[], bool]]]] = {
            "actas-ingest": [("consumer", lambda: _rpc_consumed(uri, bus.QUEUE.name))],
            "actas-grpc": [("gRPC", lambda: _grpc_serving(self.env["ACTAS_GRPC"]))],
            "beneficiaries-grpc": [("gRPC", lambda: _grpc_serving(self.env["BENEFICIARIES_GRPC"]))],
            "beneficiaries-amqp": [("consumer", lambda: _rpc_consumed(uri, "rpc-beneficiaries"))],
            "documents": [
                ("gRPC", lambda: _grpc_serving(self.env["DOCUMENTS_GRPC"])),
                ("consumer", lambda: _rpc_consumed(uri, "documents.acta_sealed")),
            ],
            "notifications": [
                ("gRPC", lambda: _grpc_serving(self.env["NOTIFICATIONS_GRPC"])),
                ("consumer", lambda: _rpc_consumed(uri, "notifications.acta_sealed")),
            ],
        }
        managed = self.stack.process(name)
        for what, check in checks.get(name, []):
            wait_for(f"{name} {what} (after restart)", check, timeout, managed.log, managed.proc)

    def dead(self) -> dict[str, int]:
        """Processes of the stack that are not running: name -> exit code."""
        found = {}
        for name in (*INFRASTRUCTURE, *SERVICES):
            code = self.stack.process(name).proc.poll()
            if code is not None:
                found[name] = code
        return found

    def heal(self, timeout: float = READY_TIMEOUT) -> list[str]:
        """Start again whatever is down (a previous scenario's casualty), so the next
        scenario begins on a whole stack; returns what was restarted."""
        healed = []
        if not self.broker.running:
            self.broker.start()
            healed.append("rabbitmq")
        for name in self.dead():
            if name == "secantusdb":
                self.stack.restart_mongo()
            elif name == "providers":  # it would come back on new ports; nothing can heal that
                raise ComponentFailed("the provider stand-ins exited; the stack cannot continue")
            else:
                self.stack.respawn(name)
                self.wait_ready(name, timeout)
            healed.append(name)
        return healed


# -- the kiosk side ---------------------------------------------------------------------------
@dataclass
class Cohort:
    """A scenario's own people, kiosk and submissions: nothing else touches them."""

    label: str
    device_id: str
    family_id: str
    phones: dict[str, str]  # beneficiary id -> WhatsApp number, digits only
    envelopes: list[tuple[str, bytes]]  # (submission id, signed bytes), in publishing order

    @property
    def person_by_phone(self) -> dict[str, str]:
        return {phone: person for person, phone in self.phones.items()}


def seed(cs: ChaosStack, label: str, count: int, people: int = PEOPLE_PER_COHORT) -> Cohort:
    """A community, a household whose members each have a WhatsApp number and the
    notifications consent, a paired kiosk, and ``count`` signed home visits (one
    member signs each, in turn; then the gestor)."""
    gestor = caller_metadata("chaos.gestor", "gestor")
    coordinator = caller_metadata("chaos.coordinator", "coordinator")
    directory = pb_grpc.BeneficiariesServiceStub(cs.channel("BENEFICIARIES_GRPC"))
    community = directory.RegisterCommunity(
        pb.RegisterCommunityRequest(
            name=f"Comunidad {label} {uuid.uuid4().hex[:6]}", municipality="Barrancas", department="La Guajira"
        ),
        metadata=coordinator,
        timeout=30,
    )
    family = directory.RegisterFamily(
        pb.RegisterFamilyRequest(community_id=community.id, name=f"Hogar {label}", address="Lote 1"),
        metadata=gestor,
        timeout=30,
    )
    phones: dict[str, str] = {}
    for i in range(people):
        phone = f"57310{secrets.randbelow(10**7):07d}"  # a Colombian mobile, unique enough per run
        person = directory.RegisterBeneficiary(
            person_request(
                family_id=family.id, whatsapp_phone=f"+{phone}", relationship="head" if i == 0 else "other_relative"
            ),
            metadata=gestor,
            timeout=30,
        )
        directory.RecordConsent(
            pb.RecordConsentRequest(beneficiary_id=person.id, kind="notifications"), metadata=gestor, timeout=30
        )
        phones[person.id] = phone
    key = Ed25519PrivateKey.generate()
    device_id = f"kiosco-{label}-{uuid.uuid4().hex[:6]}"
    apb_grpc.ActasServiceStub(cs.channel("ACTAS_GRPC")).RegisterDevice(
        apb.RegisterDeviceRequest(
            id=device_id, public_key=public_key_b64(key), community_id=community.id, description=f"Quiosco {label}"
        ),
        metadata=coordinator,
        timeout=30,
    )
    png = io.BytesIO()
    Image.new("L", (120, 40), 255).save(png, format="PNG")
    signers = list(phones)
    envelopes = []
    for i in range(count):
        signer = signers[i % len(signers)]
        body = kiosk.body(
            submission_id=uuid.uuid4().hex,
            device_id=device_id,
            template_key=TEMPLATE,
            values={
                "fecha": "2026-11-20",
                "lugar": f"Nuevo Roche, lote {i}",
                "hogar": family.id,
                "motivo": "seguimiento",
                "situacion_encontrada": f"Visita {i} registrada en el quiosco ({label}).",
                "personas_presentes": 1,
                "firmantes": [signer],
            },
            signatures=[
                kiosk.handwritten_signature(signer, png.getvalue()),
                kiosk.handwritten_signature("chaos.gestor", png.getvalue(), role="gestor"),
            ],
            gestor_id="chaos.gestor",
        )
        envelopes.append((body.submission_id, kiosk.envelope(body, key)))
    return Cohort(label, device_id, family.id, phones, envelopes)


class Publisher(threading.Thread):
    """Publishes the cohort's submissions at a steady pace with publisher confirms.

    A submission counts as sent once the broker confirmed it. One that was not
    confirmed (the broker went away) is published again, like a kiosk's outbox
    does, so the broker may hold it twice; the platform must store it once.
    """

    def __init__(self, uri: str, envelopes: Sequence[tuple[str, bytes]], pace: float, deadline: float) -> None:
        super().__init__(name="chaos-publisher", daemon=True)
        self.uri = uri
        self.envelopes = list(envelopes)
        self.pace = pace
        self.deadline = deadline
        self.errors: list[str] = []
        self._sent: dict[str, float] = {}  # submission id -> time.time() of the broker's confirm
        self._lock = threading.Lock()
        self._halt = threading.Event()

    @property
    def count(self) -> int:
        with self._lock:
            return len(self._sent)

    def sent_ids(self) -> list[str]:
        with self._lock:
            return list(self._sent)

    @property
    def last_sent_at(self) -> float | None:
        with self._lock:
            return max(self._sent.values(), default=None)

    def halt(self) -> None:
        self._halt.set()

    def run(self) -> None:
        try:
            self._publish_all()
        except Exception as exc:  # reported by the scenario, never raised in a thread
            self.errors.append(f"publisher stopped: {exc!r}")

    def _publish_all(self) -> None:
        conn: Connection | None = None
        producer: Producer | None = None
        started = time.monotonic()
        i = 0
        try:
            while i < len(self.envelopes):
                if time.monotonic() > self.deadline:
                    self.errors.append(f"deadline reached with {i} of {len(self.envelopes)} sent")
                    return
                if self._halt.wait(max(0.0, started + i / self.pace - time.monotonic())):
                    return
                sid, raw = self.envelopes[i]
                try:
                    if producer is None:
                        conn = Connection(self.uri, connect_timeout=2, transport_options={"confirm_publish": True})
                        conn.connect()
                        producer = Producer(conn.channel())
                    bus.publish(producer, raw, timeout=5, confirm_timeout=10)
                except Exception as exc:  # the broker went away: reconnect, send it again
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                    producer = None
                    if conn is not None:
                        with contextlib.suppress(Exception):
                            conn.release()
                        conn = None
                    self._halt.wait(0.5)
                    continue
                with self._lock:
                    self._sent[sid] = time.time()
                i += 1
        finally:
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.release()


class DocumentAnnouncements:
    """Counts ``document_stored`` events per acta: a durable queue of the scenario's
    own on ``documents.events`` (it survives a broker restart), read at the end."""

    def __init__(self, uri: str, label: str) -> None:
        self.uri = uri
        self.queue = Queue(
            f"chaos.{label}.{uuid.uuid4().hex[:6]}.document_stored",
            exchange=events_exchange("documents"),
            routing_key="document_stored",
            durable=True,
            auto_delete=False,
        )
        with Connection(uri, connect_timeout=5) as conn:
            self.queue(conn.default_channel).declare()

    def read(self, timeout: float = 30) -> dict[str, dict[str, str]]:
        """acta id -> {event id: "sha256 <first 12> stored <time>"}, one entry per distinct
        announcement (a republished event keeps its id and counts once)."""
        found: dict[str, dict[str, str]] = defaultdict(dict)
        deadline = time.monotonic() + timeout
        with Connection(self.uri, connect_timeout=5) as conn:
            channel = conn.default_channel
            while time.monotonic() < deadline:
                message = channel.basic_get(self.queue.name, no_ack=True)
                if message is None:
                    break
                body = message.body if isinstance(message.body, bytes | str) else b""
                with contextlib.suppress(ValueError, TypeError):
                    event = json.loads(body)
                    what = f"sha256 {str(event.get('sha256', ''))[:12]} stored {event.get('stored_at', '?')}"
                    found[str(event.get("acta_id", ""))][str(event.get("event_id", ""))] = what
        return found

    def close(self) -> None:
        with contextlib.suppress(Exception), Connection(self.uri, connect_timeout=5) as conn:
            conn.default_channel.queue_delete(self.queue.name)


# -- what the stack holds -----------------------------------------------------------------------
@dataclass
class Snapshot:
    actas: list[dict[str, Any]]
    rejections: list[dict[str, Any]]
    documents: dict[str, dict[str, Any]]  # acta id -> record
    notifications: dict[str, dict[str, Any]]  # message key -> delivery-log record

    @property
    def expected_keys(self) -> set[str]:
        return {f"acta_sealed:{a['_id']}:{p}" for a in self.actas for p in a.get("participant_ids") or []}


def snapshot(cs: ChaosStack, cohort: Cohort, submission_ids: Iterable[str]) -> Snapshot:
    sids = list(submission_ids)
    mongo = cs.mongo
    actas = list(
        mongo[ACTAS_DB].actas.find(
            {"submission_id": {"$in": sids}},
            {"submission_id": 1, "chain_seq": 1, "content_hash": 1, "participant_ids": 1, "sealed_at": 1},
        )
    )
    rejections = list(mongo[ACTAS_DB].rejections.find({"device_id": cohort.device_id}, {"raw": 0, "outbox": 0}))
    ids = [a["_id"] for a in actas]
    documents = {d["_id"]: d for d in mongo[DOCUMENTS_DB].documents.find({"_id": {"$in": ids}}, {"outbox": 0})}
    notifications = {
        n["_id"]: n
        for n in mongo[NOTIFICATIONS_DB].notifications.find(
            {"recipient_id": {"$in": list(cohort.phones)}}, {"outbox": 0, "variables": 0}
        )
    }
    return Snapshot(actas, rejections, documents, notifications)


def outstanding(cs: ChaosStack, cohort: Cohort, publisher: Publisher) -> list[str]:
    """What is not done yet, with a few of each; empty once the scenario has drained."""
    left = []
    if publisher.count < len(cohort.envelopes):
        left.append(f"{len(cohort.envelopes) - publisher.count} submissions not sent yet")
    sent = publisher.sent_ids()
    state = snapshot(cs, cohort, sent)
    sealed = {a["submission_id"] for a in state.actas}
    refused = {r.get("submission_id") for r in state.rejections}
    if unsealed := sorted(set(sent) - sealed - refused):
        left.append(f"{len(unsealed)} sent submissions not sealed{_few(unsealed)}")
    if pending := [a["_id"] for a in state.actas if state.documents.get(a["_id"], {}).get("status") != "stored"]:
        left.append(f"{len(pending)} actas without a stored PDF{_few(pending)}")
    waiting = sorted(k for k in state.expected_keys if state.notifications.get(k, {}).get("status") not in FINAL)
    if waiting:
        left.append(f"{len(waiting)} notifications not sent{_few(waiting)}")
    return left


def _few(items: Sequence[str], n: int = 3) -> str:
    return f" ({', '.join(items[:n])}{', ...' if len(items) > n else ''})"


def progress(cs: ChaosStack, cohort: Cohort, publisher: Publisher, stage: str) -> int:
    """How much the stage has done so far (seals, stored PDFs, sent messages); -1 if
    the store does not answer."""
    try:
        if stage == "notification":
            return int(
                cs.mongo[NOTIFICATIONS_DB].notifications.count_documents(
                    {"recipient_id": {"$in": list(cohort.phones)}, "status": {"$in": list(DONE)}}
                )
            )
        actas = cs.mongo[ACTAS_DB].actas
        mine = {"submission_id": {"$in": publisher.sent_ids()}}
        if stage == "seal":
            return int(actas.count_documents(mine))
        ids = [a["_id"] for a in actas.find(mine, {"_id": 1})]
        return int(cs.mongo[DOCUMENTS_DB].documents.count_documents({"_id": {"$in": ids}, "status": "stored"}))
    except PyMongoError:
        return -1


# -- what the provider stand-ins accepted ----------------------------------------------------------
_WHATSAPP = re.compile(
    r"whatsapp: accepted (?P<id>\S+) to \+(?P<to>\d+): template (?P<template>\S+) (?P<params>\[.*\])$"
)
_SMS = re.compile(r"sms: accepted (?P<id>SM\w+) to \+(?P<to>\d+): (?P<body>.*)$")
_LINK = re.compile(r"/verificar/(?P<acta>[A-Za-z0-9_-]+)")


@dataclass(frozen=True)
class Accepted:
    channel: str
    provider_id: str
    to: str  # digits
    acta_id: str  # from the link in the message; "" if it has none
    at: str  # when, as the stand-in logged it (local time)


def accepted_messages(log: Path) -> tuple[list[Accepted], list[str]]:
    """Every message the stand-ins accepted, from their log (``python -m
    devstack.providers`` logs each one: id, recipient and parameters or body),
    and any "accepted" line that could not be read."""
    found, unreadable = [], []
    for line in log.read_text(errors="replace").splitlines():
        if ": accepted " not in line:
            continue
        if match := _WHATSAPP.search(line):
            try:
                params = [str(p) for p in ast.literal_eval(match["params"])]
            except (ValueError, SyntaxError):
                unreadable.append(line)
                continue
            links = [m["acta"] for p in params if (m := _LINK.search(p))]
            found.append(Accepted("whatsapp", match["id"], match["to"], links[0] if links else "", _logged_at(line)))
        elif match := _SMS.search(line):
            link = _LINK.search(match["body"])
            found.append(Accepted("sms", match["id"], match["to"], link["acta"] if link else "", _logged_at(line)))
        else:
            unreadable.append(line)
    return found, unreadable


def _logged_at(line: str) -> str:
    """The time of a log line (``%(asctime)s``: ``2026-12-06 04:13:54,607 ...``)."""
    return line[11:23] if len(line) > 23 and line[4] == "-" and line[13] == ":" else "?"


# -- the checks ---------------------------------------------------------------------------------------
def check_seals(result: Result, cohort: Cohort, sent: Iterable[str], state: Snapshot) -> None:
    sent_ids = set(sent)
    by_submission: dict[str, list[str]] = defaultdict(list)
    for acta in state.actas:
        by_submission[acta["submission_id"]].append(acta["_id"])
    result.sent = len(sent_ids)
    result.sealed = len(by_submission)
    refused = {r.get("submission_id"): r for r in state.rejections}
    for sid in sorted(sent_ids - set(by_submission)):
        if sid in refused:
            r = refused[sid]
            result.fail(SEALED, f"submission {sid}: refused ({r.get('reason')}: {r.get('detail', '')}), not sealed")
        else:
            result.fail(SEALED, f"submission {sid}: confirmed by the broker, never sealed")
    for rejection in state.rejections:
        if rejection.get("submission_id") in by_submission:
            result.fail(
                DUPLICATES,
                f"submission {rejection.get('submission_id')}: sealed and also refused as {rejection.get('reason')}",
            )
    for sid, actas in sorted(by_submission.items()):
        if len(actas) > 1:
            result.duplicates += len(actas) - 1
            result.fail(DUPLICATES, f"submission {sid}: sealed {len(actas)} times (actas {', '.join(actas)})")
    seqs = Counter(a.get("chain_seq") for a in state.actas)
    for seq, n in sorted((s, n) for s, n in seqs.items() if n > 1 and s is not None):
        result.duplicates += n - 1
        result.fail(DUPLICATES, f"chain position {seq} held by {n} actas")
    for acta in state.actas:
        if acta.get("chain_seq") is None:
            result.fail(SEALED, f"acta {acta['_id']}: stored without a chain position")


def check_chain(result: Result, cs: ChaosStack) -> None:
    """``crm-social verify``, through the actas service and straight from the database."""
    for how, extra in (("through the service", []), ("from the database", ["--mongo-uri", cs.env["MONGO_URI"]])):
        argv = [str(VENV_BIN / "crm-social"), "verify", "--as", "chaos", *extra]
        try:
            done = subprocess.run(
                argv, env={**os.environ, **cs.env}, capture_output=True, text=True, timeout=180, check=False
            )
        except subprocess.TimeoutExpired:
            result.fail(CHAIN, f"crm-social verify ({how}) did not finish within 180 s")
            continue
        if done.returncode != 0:
            output = (done.stdout + done.stderr).strip().splitlines()
            result.fail(CHAIN, f"crm-social verify ({how}) exit {done.returncode}: " + " | ".join(output[:8]))


def check_documents(
    result: Result, cs: ChaosStack, state: Snapshot, announced: dict[str, dict[str, str]], trust_root: Path | None
) -> None:
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    s3 = cs.s3()
    names = [o.object_name for o in s3.list_objects(DOCUMENTS_BUCKET, recursive=True) if o.object_name]
    roots = [load_cert_from_pemder(str(trust_root))] if trust_root else []
    for acta in state.actas:
        acta_id = acta["_id"]
        objects = [n for n in names if acta_id in n]
        record = state.documents.get(acta_id)
        if record is None:
            result.fail(PDFS, f"acta {acta_id}: no document record")
            continue
        if record.get("status") != "stored":
            result.fail(PDFS, f"acta {acta_id}: document {record.get('status')} ({record.get('last_error', '')})")
            continue
        if len(objects) != 1:
            result.fail(PDFS, f"acta {acta_id}: {len(objects)} stored objects ({', '.join(objects)}), not one")
        key = record.get("object_key") or ""
        if key not in names:
            result.fail(PDFS, f"acta {acta_id}: the record's object {key!r} is not in the bucket")
            continue
        announcements = announced.get(acta_id, {})
        if len(announcements) != 1:
            events = "; ".join(announcements.values()) or "none"
            result.fail(PDFS, f"acta {acta_id}: PDF produced and announced {len(announcements)} times ({events})")
        if record.get("acta_content_hash") != acta.get("content_hash"):
            rendered, sealed_hash = record.get("acta_content_hash"), acta.get("content_hash")
            result.fail(PDFS, f"acta {acta_id}: PDF of content {rendered}, the acta's is {sealed_hash}")
        response = s3.get_object(DOCUMENTS_BUCKET, key)
        try:
            pdf = response.read()
            meta = {k.lower(): v for k, v in response.headers.items()}
        finally:
            response.close()
            response.release_conn()
        digest = hashlib.sha256(pdf).hexdigest()
        if digest != record.get("sha256"):
            result.fail(PDFS, f"acta {acta_id}: stored PDF sha256 {digest} != record {record.get('sha256')}")
        if meta.get("x-amz-meta-sha256", digest) != digest:
            claimed = meta["x-amz-meta-sha256"]
            result.fail(PDFS, f"acta {acta_id}: object metadata sha256 {claimed} != its bytes {digest}")
        if not record.get("pades_signed"):
            result.fail(PDFS, f"acta {acta_id}: record says the PDF is not signed")
        try:
            signatures = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
            if len(signatures) != 1:
                result.fail(PDFS, f"acta {acta_id}: the PDF has {len(signatures)} signatures, not one")
                continue
            status = validate_pdf_signature(signatures[0], ValidationContext(trust_roots=roots, allow_fetching=False))
            if not (status.intact and status.valid and (status.trusted or not roots)):
                flags = f"intact={status.intact} valid={status.valid} trusted={status.trusted}"
                result.fail(PDFS, f"acta {acta_id}: PDF signature {flags}")
        except Exception as exc:
            result.fail(PDFS, f"acta {acta_id}: the PDF could not be read as a signed PDF: {exc!r}")


def check_notifications(result: Result, cohort: Cohort, state: Snapshot, accepted: Sequence[Accepted]) -> None:
    who = cohort.person_by_phone
    ours = [m for m in accepted if m.to in who]
    sealed = {a["_id"] for a in state.actas}
    by_key: dict[str, list[Accepted]] = defaultdict(list)
    for message in ours:
        if not message.acta_id:
            result.fail(NOTIFICATIONS, f"{message.channel} {message.provider_id} to +{message.to}: no acta link")
            continue
        by_key[f"acta_sealed:{message.acta_id}:{who[message.to]}"].append(message)
    expected = state.expected_keys
    for key in sorted(expected):
        record = state.notifications.get(key)
        times = len(by_key.get(key, []))
        if times == 0:
            status = "no delivery-log record" if record is None else f"delivery log: {record.get('status')}"
            reason = f" ({record.get('reason')})" if record and record.get("reason") else ""
            result.fail(NOTIFICATIONS, f"{key}: never accepted by a provider stand-in ({status}{reason})")
            continue
        if times > 1:
            ids = ", ".join(f"{m.channel} {m.provider_id} at {m.at}" for m in by_key[key])
            result.fail(NOTIFICATIONS, f"{key}: accepted {times} times by the stand-ins ({ids})")
        if record is None or record.get("status") not in DONE:
            status = "no record" if record is None else f"{record.get('status')} ({record.get('reason') or ''})"
            result.fail(NOTIFICATIONS, f"{key}: accepted by a stand-in, but the delivery log says {status}")
    for key in sorted(set(by_key) - expected):
        acta_id = key.split(":")[1]
        why = "an acta that was never sealed" if acta_id not in sealed else "a person who is not among its participants"
        result.fail(NOTIFICATIONS, f"{key}: accepted {len(by_key[key])} times, about {why}")
    for key in sorted(set(state.notifications) - expected):
        if key.startswith("acta_sealed:"):
            result.fail(NOTIFICATIONS, f"{key}: a delivery-log record for an acta that was never sealed")


def recovery(
    result: Result, state: Snapshot, stage: str, faults_at: Sequence[float], last_sent_at: float | None
) -> None:
    """Seconds from each fault to the stage's first new progress, and to the last thing done,
    from the records' own timestamps (same machine, same clock)."""
    stamps: dict[str, list[float | None]] = {
        "seal": [_ts(a.get("sealed_at")) for a in state.actas],
        "pdf": [_ts(d.get("stored_at")) for d in state.documents.values()],
        "notification": [
            _ts(attempt.get("at"))
            for n in state.notifications.values()
            for attempt in n.get("attempts") or []
            if attempt.get("outcome") == "sent"
        ],
    }
    done = {k: sorted(t for t in v if t is not None) for k, v in stamps.items()}
    result.progress_s = [next((t - at for t in done[stage] if t > at), None) for at in faults_at]
    last = max((v[-1] for v in done.values() if v), default=None)
    if last is not None and faults_at:
        result.drained_s = max(0.0, last - faults_at[-1])
    if last is not None and last_sent_at is not None:
        result.tail_s = max(0.0, last - last_sent_at)


def _ts(value: Any) -> float | None:
    return value.timestamp() if isinstance(value, datetime) else None


# -- the faults ------------------------------------------------------------------------------------
def _kill_and_restart(cs: ChaosStack, name: str, cfg: Config) -> float:
    managed = cs.stack.process(name)
    at = time.time()
    managed.kill()
    time.sleep(cfg.down_seconds)
    cs.stack.respawn(name)
    cs.wait_ready(name, _bounded(READY_TIMEOUT, cfg))
    return at


def _kill_store_after_commit(cs: ChaosStack, cfg: Config) -> float:
    """SIGKILL SecantusDB within milliseconds of a seal's commit (the chain head moved)."""
    head = cs.mongo[ACTAS_DB].chain_head

    def seq() -> int | None:
        doc = head.find_one({}, {"seq": 1})
        return None if doc is None else int(doc["seq"])

    before = seq()
    until = time.monotonic() + _bounded(15, cfg)
    while seq() == before and time.monotonic() < until:
        pass  # each read is a round trip: the poll is as tight as the store answers
    at = time.time()
    cs.stack.process("secantusdb").kill()
    time.sleep(cfg.down_seconds)
    cs.stack.restart_mongo()
    return at


def _restart_broker(cs: ChaosStack, cfg: Config) -> float:
    """A clean stop of the node (as an operator's restart), then a start on the same
    data; the fault counts from the moment the node is gone."""
    cs.broker.stop()
    at = time.time()
    time.sleep(cfg.down_seconds)
    cs.broker.start()
    return at


@dataclass(frozen=True)
class Scenario:
    name: str
    stage: str  # whose progress shows recovery: seal, pdf or notification
    strike: Callable[[ChaosStack, Config], float]  # the fault; returns its wall-clock time
    what: str


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "ingest_kill",
            "seal",
            lambda cs, cfg: _kill_and_restart(cs, "actas-ingest", cfg),
            "SIGKILL crm-actas-ingest",
        ),
        Scenario(
            "documents_kill", "pdf", lambda cs, cfg: _kill_and_restart(cs, "documents", cfg), "SIGKILL crm-documents"
        ),
        Scenario(
            "notifications_kill",
            "notification",
            lambda cs, cfg: _kill_and_restart(cs, "notifications", cfg),
            "SIGKILL crm-notifications",
        ),
        Scenario("store_kill", "seal", _kill_store_after_commit, "SIGKILL SecantusDB right after a commit"),
        Scenario("broker_restart", "seal", _restart_broker, "RabbitMQ node stopped and started mid-drain"),
    )
}


def ingest_kill(cs: ChaosStack, cfg: Config = SHORT, echo: Echo = print) -> Result:
    return run_scenario(cs, SCENARIOS["ingest_kill"], cfg, echo)


def store_kill(cs: ChaosStack, cfg: Config = SHORT, echo: Echo = print) -> Result:
    return run_scenario(cs, SCENARIOS["store_kill"], cfg, echo)


def documents_kill(cs: ChaosStack, cfg: Config = SHORT, echo: Echo = print) -> Result:
    return run_scenario(cs, SCENARIOS["documents_kill"], cfg, echo)


def notifications_kill(cs: ChaosStack, cfg: Config = SHORT, echo: Echo = print) -> Result:
    return run_scenario(cs, SCENARIOS["notifications_kill"], cfg, echo)


def broker_restart(cs: ChaosStack, cfg: Config = SHORT, echo: Echo = print) -> Result:
    return run_scenario(cs, SCENARIOS["broker_restart"], cfg, echo)


# -- one scenario ------------------------------------------------------------------------------------
def _bounded(seconds: float, cfg: Config) -> float:
    return max(0.0, min(seconds, cfg.deadline - time.monotonic()))


def _wait(check: Callable[[], bool], seconds: float, interval: float = 0.1) -> bool:
    until = time.monotonic() + seconds
    while True:
        with contextlib.suppress(Exception):
            if check():
                return True
        if time.monotonic() >= until:
            return False
        time.sleep(interval)


def run_scenario(cs: ChaosStack, scenario: Scenario, cfg: Config, echo: Echo = print) -> Result:
    started = time.monotonic()
    result = Result(scenario.name, var_dir=cs.var_dir)
    publisher: Publisher | None = None
    announcements: DocumentAnnouncements | None = None
    try:
        healed = cs.heal(_bounded(READY_TIMEOUT, cfg))
        if healed:
            result.notes.append(f"restarted before the scenario: {', '.join(healed)}")
        cohort = seed(cs, scenario.name, cfg.count)
        announcements = DocumentAnnouncements(cs.env["AMQP_URI"], scenario.name)
        publisher = Publisher(cs.env["AMQP_URI"], cohort.envelopes, cfg.pace, cfg.deadline)
        echo(f"[{scenario.name}] {cfg.count} submissions at {cfg.pace:g}/s; {cfg.faults} x {scenario.what}")
        _drive(cs, scenario, cfg, echo, result, cohort, publisher, announcements)
    except Exception as exc:
        result.fail(RUN, f"the scenario could not finish: {exc!r}")
    finally:
        if publisher is not None:
            publisher.halt()
            publisher.join(15)
        if announcements is not None:
            announcements.close()
        result.elapsed_s = time.monotonic() - started
    echo(result.report())
    return result


def _drive(
    cs: ChaosStack,
    scenario: Scenario,
    cfg: Config,
    echo: Echo,
    result: Result,
    cohort: Cohort,
    publisher: Publisher,
    announcements: DocumentAnnouncements,
) -> None:
    """Publish, strike, wait for the drain, check."""

    def sent_at_least(n: int) -> Callable[[], bool]:
        return lambda: publisher.count >= n or not publisher.is_alive()

    def progressed_beyond(n: int) -> Callable[[], bool]:
        return lambda: progress(cs, cohort, publisher, scenario.stage) > n

    faults_at: list[float] = []
    publisher.start()
    done_before = 0
    for i in range(cfg.faults):
        # Mid-stream, and only once the stage under test is at work.
        _wait(sent_at_least(math.ceil(cfg.count * (i + 1) / (cfg.faults + 1))), _bounded(60, cfg))
        if not _wait(progressed_beyond(done_before), _bounded(30, cfg), 0.05):
            result.notes.append(f"fault {i + 1}: the {scenario.stage} stage showed no progress; struck anyway")
        try:
            faults_at.append(scenario.strike(cs, cfg))
        except ComponentFailed as exc:
            result.fail(PROCESSES, f"fault {i + 1}: did not come back: {exc}")
            break
        echo(f"[{scenario.name}] fault {i + 1} at {publisher.count}/{cfg.count} sent")
        done_before = max(0, progress(cs, cohort, publisher, scenario.stage))
    publisher.join(_bounded(cfg.count / cfg.pace + 120, cfg))
    result.notes += _publisher_notes(publisher)

    # Drained: everything sent is sealed, has its PDF and its messages.
    last_left: list[str] = ["not checked"]

    def drained() -> bool:
        nonlocal last_left
        last_left = outstanding(cs, cohort, publisher)
        return not last_left

    end_of_sending = time.monotonic()
    limit = cfg.drain_limit
    if not _wait(drained, _bounded(limit, cfg), 0.5):
        at_limit = "; ".join(last_left)
        if _wait(drained, _bounded(max(0.0, cfg.drain_wait - limit), cfg), 0.5):
            waited = time.monotonic() - end_of_sending
            result.fail(
                DRAIN,
                f"drained {waited:.0f} s after the last submission, over the {limit:.0f} s limit; "
                f"left at the limit: {at_limit}",
            )
        else:
            waited = max(limit, cfg.drain_wait)
            result.fail(DRAIN, f"not drained {waited:.0f} s after the last submission: {'; '.join(last_left)}")
    time.sleep(_bounded(cfg.settle, cfg))  # late duplicates show up here

    sent = publisher.sent_ids()
    if len(sent) < cfg.count:
        result.fail(DRAIN, f"only {len(sent)} of {cfg.count} submissions could be sent (the broker confirmed)")
    state = snapshot(cs, cohort, sent)
    check_seals(result, cohort, sent, state)
    check_chain(result, cs)
    trust_root = next(iter(sorted((cs.var_dir / "documents-identity").glob("*cert*.pem"))), None)
    check_documents(result, cs, state, announcements.read(), trust_root)
    accepted, unreadable = accepted_messages(cs.stack.process("providers").log)
    for line in unreadable[:5]:
        result.notes.append(f"unreadable stand-in line: {line}")
    check_notifications(result, cohort, state, accepted)
    for name, code in cs.dead().items():
        result.fail(PROCESSES, f"{name} exited with code {code} (log {cs.stack.process(name).log})")
    recovery(result, state, scenario.stage, faults_at, publisher.last_sent_at)


def _publisher_notes(publisher: Publisher) -> list[str]:
    if not publisher.errors:
        return []
    kinds = Counter(e.split(":", 1)[0] for e in publisher.errors)
    return ["publisher retried: " + ", ".join(f"{k} x{n}" for k, n in kinds.most_common())]


# -- several scenarios --------------------------------------------------------------------------------
@contextlib.contextmanager
def chaos_stack(var_dir: Path, *, keep: Callable[[], bool] = lambda: False) -> Iterator[ChaosStack]:
    """A started ChaosStack, stopped on the way out; its directory (logs, data) is
    removed unless ``keep()`` says otherwise (a scenario failed: the evidence)."""
    cs = ChaosStack(var_dir)
    cs.start()
    try:
        yield cs
    finally:
        cs.stop()
        if not keep():
            shutil.rmtree(var_dir, ignore_errors=True)


def table(results: Sequence[Result]) -> str:
    """The README's table: one row per scenario."""
    header = (
        "| scenario | sent | sealed | duplicates | chain intact | PDFs ok | notifications ok "
        "| recovery s (first progress / drained) | result |"
    )
    rows = [header, "|---|---:|---:|---:|---|---|---|---|---|"]
    for r in results:
        progress_s = [p for p in r.progress_s if p is not None]
        first = f"{max(progress_s):.1f}" if progress_s else "-"
        if len(r.progress_s) > len(progress_s):
            first += " (none after a fault)"
        drained = _seconds(r.drained_s)
        rows.append(
            f"| {r.scenario} | {r.sent} | {r.sealed} | {r.duplicates} | {_yes(r.holds(CHAIN))} "
            f"| {_yes(r.holds(PDFS))} | {_yes(r.holds(NOTIFICATIONS))} | {first} / {drained} "
            f"| {'pass' if r.ok else '**FAIL**'} |"
        )
    return "\n".join(rows)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"
