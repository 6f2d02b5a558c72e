"""Sealing under faults, on a private SecantusDB started the way devstack starts it.

- A SIGKILL of the store right after commits loses no acknowledged seal: a seal is
  acknowledged only once its commit is on disk (``--sync-on-commit``).
- A sealer killed while its transaction holds the chain head stalls the other
  sealers only until the store reaps the abandoned transaction (seconds, not
  mongod's default minute).

Each test owns its store (its own folder and port), so killing it touches nothing
else in the session's stack.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pymongo
import pytest

from devstack.infra import ROOT, Stack, development_env
from services.actas.adapters import repository
from services.actas.service_layer.handlers import ActaHandlers, SystemClock
from tests.actas_support import FakeDirectory, RecordingRelay, person
from tests.integration.test_actas_chain import seal_one

DB = "actas_faults"


@pytest.fixture
def store() -> Iterator[Stack]:
    var_dir = ROOT / "var" / f"faults-{uuid.uuid4().hex[:8]}"
    private = Stack(var_dir=var_dir, env=development_env(var_dir))
    try:
        private.start_mongo()
        yield private
    finally:
        repository.disconnect()
        private.stop()
        shutil.rmtree(var_dir, ignore_errors=True)


def _handlers(uri: str) -> ActaHandlers:
    repository.connect(uri, DB)
    return ActaHandlers(
        repo=repository.MongoRepository(),
        directory=FakeDirectory([person(1), person(2)]),
        relay=RecordingRelay(),
        clock=SystemClock(),
    )


def _stored(uri: str) -> tuple[set[str], set[str], list[int]]:
    client: pymongo.MongoClient = pymongo.MongoClient(uri)
    try:
        db = client[DB]
        sealed = {raw["_id"] for raw in db.actas.find({"status": "sealed"}, {"_id": 1})}
        chained = [(raw["_id"], raw["acta_id"]) for raw in db.chain.find({}).sort("_id", 1)]
        return sealed, {a for _, a in chained}, [seq for seq, _ in chained]
    finally:
        client.close()


def test_a_store_killed_right_after_commits_keeps_every_acknowledged_seal(store: Stack) -> None:
    uri = store.env["MONGO_URI"]
    handlers = _handlers(uri)
    acknowledged: list[str] = []
    in_flight_failures: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    killed = threading.Event()

    def sealer() -> None:
        while not stop.is_set():
            try:
                acta_id = seal_one(handlers)
            except Exception as exc:  # in flight when the store died: not acknowledged
                in_flight_failures.append(type(exc).__name__)
                continue
            with lock:
                acknowledged.append(acta_id)
                kill_now = len(acknowledged) >= 60 and not killed.is_set()
                if kill_now:
                    killed.set()
            if kill_now:  # right after this commit was acknowledged
                store.process("secantusdb").kill()
                stop.set()

    threads = [threading.Thread(target=sealer) for _ in range(4)]
    for t in threads:
        t.start()
    assert killed.wait(120), "the sealers never reached 60 seals"
    store.restart_mongo()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)

    sealed, chained, seqs = _stored(uri)
    lost = set(acknowledged) - sealed
    assert not lost, f"{len(lost)} of {len(acknowledged)} acknowledged seals lost: {sorted(lost)[:5]}"
    assert set(acknowledged) <= chained
    assert seqs == list(range(1, len(seqs) + 1)), "the chain has gaps or reused sequence numbers"
    assert handlers.verify_chain().problems == []


# A sealer that dies holding the chain head: it takes the head the way ``_link``
# does, inside a transaction, and is killed before it commits.
_DYING_SEALER = """
import os, signal, sys, pymongo
client = pymongo.MongoClient(sys.argv[1])
db = client[sys.argv[2]]
session = client.start_session()
session.start_transaction()
head = db.chain_head.find_one({"_id": "head"}, session=session)
db.chain.insert_one({"_id": head["seq"] + 1, "acta_id": "x", "acta_hash": "", "prev_hash": "",
                     "entry_hash": ""}, session=session)
db.chain_head.update_one({"_id": "head"}, {"$set": {"seq": head["seq"] + 1}}, session=session)
print("holding", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_sealing_resumes_within_seconds_of_a_sealer_killed_holding_the_head(store: Stack) -> None:
    uri = store.env["MONGO_URI"]
    handlers = _handlers(uri)
    first = seal_one(handlers)
    dying = subprocess.run(
        [sys.executable, "-c", _DYING_SEALER, uri, DB], capture_output=True, text=True, timeout=60, cwd=Path(ROOT)
    )
    assert "holding" in dying.stdout, dying.stderr
    assert dying.returncode == -9

    started = time.monotonic()
    second = seal_one(handlers)
    stalled = time.monotonic() - started

    # The store reaps the abandoned transaction after 5 s idle; mongod's default
    # (and the store's own) is 60 s.
    assert stalled < 15, f"sealing stalled {stalled:.1f} s behind a killed sealer"
    sealed, chained, seqs = _stored(uri)
    assert {first, second} <= sealed and {first, second} == chained and seqs == [1, 2]
    assert handlers.verify_chain().problems == []
