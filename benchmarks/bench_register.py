"""Registering beneficiaries over AMQP RPC (nameko) versus a raw insert.

The service side is the whole command as a caller sees it: a nameko
``ClusterRpcProxy`` call of ``beneficiaries.register_beneficiary`` (RabbitMQ both
ways), validation, the community check, the insert with its outbox entry, the
publish of ``beneficiary_registered`` with a publisher confirm and the removal of
the outbox entry. The baseline is a raw PyMongo ``insert_one`` of an equivalent
document (built with the repository's own mapping, outbox included, same write
concern) into a scratch collection with the same indexes on the same SecantusDB.
Both run sequentially and then with a few concurrent callers.

ClusterRpcProxy works without ``eventlet.monkey_patch()`` (its consumer polls
kombu), so this script does not patch anything.

    python -m benchmarks.bench_register [--count 500] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import os
import queue
import threading
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from typing import Any

import pymongo
from pymongo import IndexModel

from benchmarks._common import (
    ROLE,
    SUBJECT,
    Measurement,
    Row,
    drive,
    print_rows,
    quiet_eventlet_warning,
    running_stack,
)
from benchmarks._people import PeopleFactory, Person
from services.beneficiaries.adapters.repository import DEFAULT_DB, _beneficiary_doc, outbox_entries
from services.beneficiaries.domain.model import Event

NAME = "register (AMQP RPC)"
WARMUP = 20
SCRATCH_DB = "crm_bench_scratch"


def _payload(p: Person, community_id: str) -> dict[str, Any]:
    return {
        "national_id": {"type": "CC", "number": p.number},
        "first_names": p.first_names,
        "last_names": p.last_names,
        "birth_date": p.birth_date,
        "sex": p.sex,
        "community_id": community_id,
        "whatsapp_phone": p.whatsapp_phone,
    }


def _document(p: Person, community_id: str) -> dict[str, Any]:
    """What the repository stores for ``p`` (built outside the timed part)."""
    now = datetime.now(UTC)
    person = p.build(community_id, now)
    event = Event(
        "beneficiary_registered",
        {**person.summary(), "occurred_at": now.isoformat(), "by": SUBJECT},
    )
    doc = _beneficiary_doc(person)
    doc["outbox"] = outbox_entries([event], now)
    return doc


def _copy_indexes(source: Any, target: Any) -> None:
    models = []
    for name, info in source.index_information().items():
        if name == "_id_":
            continue
        options = {k: info[k] for k in ("unique", "sparse", "partialFilterExpression") if k in info}
        models.append(IndexModel(info["key"], name=name, **options))
    if models:
        target.create_indexes(models)


@contextmanager
def _proxies(config: dict[str, Any], context_data: dict[str, str], count: int) -> Iterator[list[Any]]:
    from nameko.standalone.rpc import ClusterRpcProxy

    with ExitStack() as stack:
        yield [stack.enter_context(ClusterRpcProxy(config, context_data=context_data)) for _ in range(count)]


def run(count: int = 500, concurrency: int = 4, seed: int = 20240611) -> list[Row]:
    quiet_eventlet_warning()
    from crm_platform.nameko_support import caller_context  # imports nameko, hence eventlet

    factory = PeopleFactory(seed)
    people = factory.people(WARMUP + 2 * count)
    warm, sequential, concurrent = people[:WARMUP], people[WARMUP : WARMUP + count], people[WARMUP + count :]
    db_name = os.environ.get("BENEFICIARIES_DB", DEFAULT_DB)
    rows: list[Row] = []
    with running_stack("register") as stack:
        context_data = caller_context(SUBJECT, ROLE)  # signed: crm_platform.identity
        config = {"AMQP_URI": stack.env["AMQP_URI"]}
        mongo: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
            stack.env["MONGO_URI"], tz_aware=True, w="majority", uuidRepresentation="standard"
        )
        try:
            with _proxies(config, context_data, max(1, concurrency)) as proxies:
                rpc = proxies[0].beneficiaries
                community = rpc.register_community("Comunidad Benchmark", "Riosucio", "Chocó")
                cid = community["id"]
                for p in warm:
                    rpc.register_beneficiary(_payload(p, cid))
                print(f"[{NAME}] {count} calls sequentially, then {count} with {concurrency} proxies", flush=True)
                seq = drive(
                    "register_beneficiary, 1 proxy",
                    lambda i: rpc.register_beneficiary(_payload(sequential[i], cid)),
                    max_calls=count,
                )
                print(seq.line(), flush=True)
                conc = _concurrent(
                    f"register_beneficiary, {concurrency} proxies",
                    [px.beneficiaries for px in proxies],
                    lambda service, i: service.register_beneficiary(_payload(concurrent[i], cid)),
                    count,
                )
                print(conc.line(), flush=True)

            service_coll = mongo[db_name]["beneficiaries"]
            stored = service_coll.count_documents({"community_id": cid})
            assert stored == WARMUP + 2 * count, f"expected {WARMUP + 2 * count} stored, found {stored}"
            scratch = mongo[SCRATCH_DB]["beneficiaries"]
            scratch.drop()
            _copy_indexes(service_coll, scratch)
            docs = [_document(p, cid) for p in people]
            for d in docs[:WARMUP]:
                scratch.insert_one(d)
            base_docs = docs[WARMUP:]
            raw_seq = drive("raw insert_one, 1 thread", lambda i: scratch.insert_one(base_docs[i]), max_calls=count)
            print(raw_seq.line(), flush=True)
            raw_conc = drive(
                f"raw insert_one, {concurrency} threads",
                lambda i: scratch.insert_one(base_docs[count + i]),
                threads=concurrency,
                max_calls=count,
            )
            print(raw_conc.line(), flush=True)
            mongo.drop_database(SCRATCH_DB)
        finally:
            mongo.close()
    rows += [
        Row(NAME, "register_beneficiary throughput, sequential", "req/s", seq.rps, raw_seq.rps, "raw insert_one"),
        Row(NAME, "register_beneficiary p50, sequential", "ms", seq.p50_ms, raw_seq.p50_ms, "raw insert_one"),
        Row(NAME, "register_beneficiary p99, sequential", "ms", seq.p99_ms, raw_seq.p99_ms, "raw insert_one"),
        Row(
            NAME,
            f"register_beneficiary throughput, {concurrency} callers",
            "req/s",
            conc.rps,
            raw_conc.rps,
            "raw insert_one",
        ),
        Row(
            NAME,
            f"register_beneficiary p99, {concurrency} callers",
            "ms",
            conc.p99_ms,
            raw_conc.p99_ms,
            "raw insert_one",
        ),
    ]
    return rows


def _concurrent(label: str, services: Sequence[Any], call: Any, count: int) -> Measurement:
    """``count`` calls from ``len(services)`` threads, each thread with a proxy of its own
    (a standalone proxy is not thread-safe)."""
    free: queue.Queue[Any] = queue.Queue()
    for s in services:
        free.put(s)
    local = threading.local()

    def one(i: int) -> Any:
        if not hasattr(local, "service"):
            local.service = free.get_nowait()
        return call(local.service, i)

    return drive(label, one, threads=len(services), max_calls=count)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_register", description=__doc__)
    parser.add_argument("--count", type=int, default=500, help="calls per phase (default 500)")
    parser.add_argument("--concurrency", type=int, default=4, help="concurrent proxies (default 4)")
    args = parser.parse_args(argv)
    print_rows(NAME, run(args.count, args.concurrency))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
