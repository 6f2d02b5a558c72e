"""The hash chain on the real SecantusDB: concurrent sealing stays gapless, and
altering, deleting or reordering a stored record is found and named, by the
service's check and by ``crm-social verify`` reading the database directly."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pymongo
import pytest
from pymongo.database import Database

from devstack.infra import Stack
from services.actas.adapters import repository
from services.actas.domain.model import Actor, Method, Role
from services.actas.service_layer.handlers import ActaHandlers, SignatureInput, SystemClock
from tests.actas_support import FakeDirectory, RecordingRelay, person, visit

GESTOR = Actor("gestor.test", "gestor")


@pytest.fixture
def db(stack: Stack) -> Iterator[tuple[str, ActaHandlers]]:
    name = f"actas_chain_{uuid.uuid4().hex[:8]}"
    repository.connect(stack.env["MONGO_URI"], name)
    handlers = ActaHandlers(
        repo=repository.MongoRepository(),
        directory=FakeDirectory([person(1), person(2)]),
        relay=RecordingRelay(),
        clock=SystemClock(),
    )
    yield name, handlers
    client: pymongo.MongoClient = pymongo.MongoClient(stack.env["MONGO_URI"])
    client.drop_database(name)
    client.close()
    repository.disconnect()


def seal_one(handlers: ActaHandlers) -> str:
    draft = handlers.create("visita_domiciliaria@1", visit(["p1"]), "", None, GESTOR)
    handlers.sign(draft.id, SignatureInput("p1", Role.PARTICIPANT, Method.REFUSED, refusal_reason="No firma"), GESTOR)
    handlers.sign(draft.id, SignatureInput(GESTOR.subject, Role.GESTOR, Method.ELECTRONIC), GESTOR)
    return handlers.seal(draft.id, GESTOR).id


def test_concurrent_sealing_gives_one_gapless_chain(db) -> None:
    _, handlers = db
    with ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(lambda _: seal_one(handlers), range(24)))
    entries = list(handlers.repo.chain_in_order())
    assert [e.seq for e in entries] == list(range(1, 25))
    assert sorted(e.acta_id for e in entries) == sorted(ids)
    report = handlers.verify_chain()
    assert report.entries == 24 and not report.problems


def test_tampering_with_stored_records_is_named(stack, db) -> None:
    name, handlers = db
    ids = [seal_one(handlers) for _ in range(6)]
    store: Database = pymongo.MongoClient(stack.env["MONGO_URI"])[name]
    try:
        store.actas.update_one({"_id": ids[1]}, {"$set": {"values.personas_presentes": 9}})
        store.chain.update_one({"_id": 4}, {"$set": {"acta_hash": "0" * 64}})
        store.chain.delete_one({"_id": 5})
        problems = {(p.kind, p.seq, p.acta_id) for p in handlers.verify_chain().problems}
        assert ("altered_acta", 2, ids[1]) in problems
        assert ("altered_entry", 4, ids[3]) in problems
        assert ("missing", 5, "") in problems
        assert ("unchained_acta", 0, ids[4]) in problems
        _, single = handlers.verify_acta(ids[1])
        assert [p.kind for p in single] == ["altered_acta", "altered_acta"]

        cli = subprocess.run(
            [
                sys.executable,
                "-m",
                "services.actas.entrypoints.cli",
                "verify",
                "--mongo-uri",
                stack.env["MONGO_URI"],
                "--db",
                name,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert cli.returncode == 1, cli.stderr
        assert f"[acta alterada] entrada 2 acta {ids[1]}" in cli.stdout
        assert "[registros faltantes] entrada 5" in cli.stdout
    finally:
        store.client.close()


def test_reordered_entries_are_found(stack, db) -> None:
    name, handlers = db
    for _ in range(4):
        seal_one(handlers)
    store: Database = pymongo.MongoClient(stack.env["MONGO_URI"])[name]
    try:
        second, third = store.chain.find_one({"_id": 2}), store.chain.find_one({"_id": 3})
        assert second and third
        store.chain.delete_many({"_id": {"$in": [2, 3]}})
        store.chain.insert_many([{**third, "_id": 2}, {**second, "_id": 3}])
        kinds = {p.kind for p in handlers.verify_chain().problems}
        assert kinds & {"altered_entry", "broken_link"}
    finally:
        store.client.close()


def test_an_intact_chain_passes_the_command_line_check(stack, db) -> None:
    name, handlers = db
    seal_one(handlers)
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.actas.entrypoints.cli",
            "verify",
            "--mongo-uri",
            stack.env["MONGO_URI"],
            "--db",
            name,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cli.returncode == 0 and "Cadena íntegra: 1 actas" in cli.stdout
