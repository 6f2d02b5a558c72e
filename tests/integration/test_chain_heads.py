"""Signed chain heads on the real SecantusDB: an attacker with write access to the
database who rewrites an acta and recomputes the whole chain passes the plain
``crm-social verify``, but not ``verify --head`` against a head an auditor kept;
a forged head is refused; publication happens once per chain move, and two
publishers at once store one head."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pymongo
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pymongo.database import Database

from crm_platform.process import Periodic
from devstack.infra import Stack
from services.actas.adapters import repository
from services.actas.adapters.chain_heads import MongoHeadStore, public_key_pem
from services.actas.domain import chain
from services.actas.domain.heads import sign
from services.actas.service_layer.handlers import ActaHandlers, SystemClock
from services.actas.service_layer.heads import ChainRewritten, HeadPublisher
from tests.actas_support import FakeDirectory, RecordingRelay, person
from tests.integration.test_actas_chain import seal_one


@dataclass
class World:
    name: str
    handlers: ActaHandlers
    publisher: HeadPublisher
    store: Database
    key_file: Path


@pytest.fixture
def world(stack: Stack, tmp_path: Path) -> Iterator[World]:
    name = f"actas_heads_{uuid.uuid4().hex[:8]}"
    repository.connect(stack.env["MONGO_URI"], name)
    handlers = ActaHandlers(
        repo=repository.MongoRepository(),
        directory=FakeDirectory([person(1), person(2)]),
        relay=RecordingRelay(),
        clock=SystemClock(),
    )
    key = Ed25519PrivateKey.generate()
    key_file = tmp_path / "operator-public-key.pem"
    key_file.write_text(public_key_pem(key.public_key()))
    client: pymongo.MongoClient = pymongo.MongoClient(stack.env["MONGO_URI"])
    yield World(name, handlers, HeadPublisher(MongoHeadStore(), key, SystemClock()), client[name], key_file)
    client.drop_database(name)
    client.close()
    repository.disconnect()


def rewrite_acta_and_recompute_chain(world: World, acta_id: str) -> None:
    """What an attacker with write access to the database can do: change an acta,
    recompute its content hash, and recompute every chain entry from it on."""
    world.store.actas.update_one({"_id": acta_id}, {"$set": {"values.personas_presentes": 9}})
    altered = world.handlers.repo.get(acta_id)
    assert altered is not None
    new_hash = altered.compute_hash()
    world.store.actas.update_one({"_id": acta_id}, {"$set": {"content_hash": new_hash}})
    entries = list(world.handlers.repo.chain_in_order())
    rebuilt = chain.build((e.acta_id, new_hash if e.acta_id == acta_id else e.acta_hash) for e in entries)
    for entry in rebuilt:
        world.store.chain.update_one(
            {"_id": entry.seq},
            {"$set": {"acta_hash": entry.acta_hash, "prev_hash": entry.prev_hash, "entry_hash": entry.entry_hash}},
        )
    world.store.chain_head.update_one({"_id": "head"}, {"$set": {"entry_hash": rebuilt[-1].entry_hash}})


def verify(stack: Stack, world: World, *extra: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "services.actas.entrypoints.cli", "verify"]
    argv += ["--mongo-uri", stack.env["MONGO_URI"], "--db", world.name, *extra]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def test_a_chain_rewritten_behind_a_kept_head_is_detected_naming_the_entry(stack, world, tmp_path) -> None:
    ids = []
    for _ in range(3):
        ids.append(seal_one(world.handlers))
        world.publisher.publish()  # heads at 1, 2 and 3, as the periodic publisher would
    kept = tmp_path / "cabeza.json"
    kept.write_text(json.dumps(world.publisher.latest().to_json()))
    seal_one(world.handlers)  # the chain goes on after the auditor downloaded the head

    rewrite_acta_and_recompute_chain(world, ids[1])

    plain = verify(stack, world)
    assert plain.returncode == 0, plain.stdout + plain.stderr  # the recomputed chain is self-consistent
    with_head = verify(stack, world, "--head", str(kept), "--public-key", str(world.key_file))
    assert with_head.returncode == 1, with_head.stdout + with_head.stderr
    assert f"[cadena reescrita] entrada 2 acta {ids[1]}" in with_head.stdout
    assert "primera entrada que no coincide: 2" in with_head.stdout

    # The attacker also deletes the heads stored in the database: the kept one
    # still catches the rewrite, and bounds where it happened.
    world.store.chain_heads.delete_many({})
    alone = verify(stack, world, "--head", str(kept), "--public-key", str(world.key_file))
    assert alone.returncode == 1, alone.stdout + alone.stderr
    assert "la entrada 3 no coincide con la cabeza firmada" in alone.stdout
    assert "la primera entrada reescrita está entre la 1 y la 3" in alone.stdout

    # Nor does the service sign the rewritten chain: it no longer extends the last head.
    world.publisher.store.add(sign(world.publisher.key, 3, kept_hash(kept), SystemClock().now()))
    with pytest.raises(ChainRewritten):
        world.publisher.publish()


def kept_hash(path: Path) -> str:
    return str(json.loads(path.read_text())["head_hash"])


def test_an_intact_chain_matches_the_kept_head(stack, world, tmp_path) -> None:
    seal_one(world.handlers)
    head, created = world.publisher.publish()
    assert created
    kept = tmp_path / "cabeza.json"
    kept.write_text(json.dumps(head.to_json()))
    seal_one(world.handlers)
    done = verify(stack, world, "--head", str(kept), "--public-key", str(world.key_file))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Coincide con la cabeza firmada: entrada 1, hash {head.head_hash}" in done.stdout


def test_a_forged_head_is_refused(stack, world, tmp_path) -> None:
    seal_one(world.handlers)
    head, _ = world.publisher.publish()
    altered = tmp_path / "alterada.json"
    altered.write_text(json.dumps({**head.to_json(), "head_hash": "f" * 64}))
    done = verify(stack, world, "--head", str(altered), "--public-key", str(world.key_file))
    assert done.returncode == 1 and "no es válida para la clave pública del operador" in done.stderr

    impostor = sign(Ed25519PrivateKey.generate(), head.chain_seq, head.head_hash, head.signed_at)
    other = tmp_path / "impostora.json"
    other.write_text(json.dumps(impostor.to_json()))
    done = verify(stack, world, "--head", str(other), "--public-key", str(world.key_file))
    assert done.returncode == 1 and "no es válida para la clave pública del operador" in done.stderr

    # A head planted in the database with another key is named, not trusted.
    world.store.chain_heads.insert_one(
        {"_id": 7, "head_hash": "e" * 64, "signed_at": head.signed_at, "key_id": impostor.key_id, "signature": "AA=="}
    )
    kept = tmp_path / "cabeza.json"
    kept.write_text(json.dumps(head.to_json()))
    done = verify(stack, world, "--head", str(kept), "--public-key", str(world.key_file))
    assert done.returncode == 1 and "[cabeza falsificada] entrada 7" in done.stdout


def test_periodic_publication_publishes_once_per_chain_move(world) -> None:
    world.publisher.publish_if_moved()
    assert world.store.chain_heads.count_documents({}) == 0  # empty chain: nothing to sign
    seal_one(world.handlers)
    ticker = Periodic("chain-head-publisher", world.publisher.publish_if_moved, 0.05)
    ticker.start()
    try:
        wait_until(lambda: world.store.chain_heads.count_documents({}) == 1)
        time.sleep(0.5)  # ten more ticks, the chain did not move
        assert world.store.chain_heads.count_documents({}) == 1
        seal_one(world.handlers)
        seal_one(world.handlers)
        wait_until(lambda: world.publisher.latest().chain_seq == 3)
        time.sleep(0.5)
        seqs = [raw["_id"] for raw in world.store.chain_heads.find({}).sort("_id", 1)]
        assert seqs[0] == 1 and seqs[-1] == 3 and len(seqs) <= 3  # one head per move at most
    finally:
        ticker.stop()
        ticker.join(5)
    assert all(h.signed_by(world.publisher.public_key) for h in MongoHeadStore().all())


def test_two_publishers_at_once_store_one_head(world) -> None:
    seal_one(world.handlers)
    replicas = [HeadPublisher(MongoHeadStore(), world.publisher.key, SystemClock()) for _ in range(2)]
    start = threading.Barrier(8)

    def publish(n: int) -> tuple[int, bool]:
        start.wait()
        head, created = replicas[n % 2].publish()
        return head.chain_seq, created

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(publish, range(8)))
    assert world.store.chain_heads.count_documents({}) == 1
    assert {seq for seq, _ in results} == {1}
    assert sum(created for _, created in results) == 1


def wait_until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
