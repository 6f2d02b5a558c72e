"""Lookups over a populated store: by national id and by name prefix, through the
real beneficiaries gRPC server, each beside the raw PyMongo query it boils down to.

Seeds ``--count`` (default 100,000) beneficiaries straight into the service's own
database and collection, built by the domain (``RegisterBeneficiary.build``) and
mapped by the repository (``_beneficiary_doc``, with an empty outbox), after
``repository.connect`` has made sure the indexes exist. Then, one call at a time:

- ``GetBeneficiaryByNationalId`` versus ``find_one`` on ``national_id_key``;
- ``SearchBeneficiaries`` (3-4 letter prefixes of common surnames, with or without
  accents, limit 20) versus a raw ``find`` with a prefix range on the multikey
  ``search_tokens`` index (the one-query search; the service reads paged name
  postings instead, see ``services/beneficiaries/adapters/documents.py``).

Each measured phase stops after ``--lookups``/``--searches`` calls or
``--phase-seconds``, whichever comes first, so the script stays within about ten
minutes on a slow store; the figures name how many calls they rest on. A last,
diagnostic row times the outbox sweep that the nameko service and the gRPC server
each run every 5 seconds, over the seeded collection, beside the same query bounded
below: on SecantusDB the unbounded ``$lt`` walks every index entry.

    python -m benchmarks.bench_lookup [--count 100000] [--lookups 2000] [--searches 1000]
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import grpc
import pymongo

from benchmarks._common import ROLE, SUBJECT, Measurement, Row, drive, print_rows, running_stack
from benchmarks._people import SEARCH_PREFIXES, PeopleFactory
from crm_platform.grpc_support import caller_metadata
from crm_platform.messaging import EventPublisher
from crm_platform.outbox import OutboxRelay
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as pb
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2_grpc as pb_grpc
from services.beneficiaries.adapters import repository
from services.beneficiaries.domain import normalise
from services.beneficiaries.domain.name_index import ALL_SCOPE, NameIndexEntry

NAME = "lookups"
BATCH = 1000
SEARCH_LIMIT = 20
TARGET_LOOKUP_P99_MS = 5.0
TARGET_SEARCH_P99_MS = 20.0
WARMUP_SECONDS = 5.0


def seed(mongo_uri: str, db_name: str, community_id: str, count: int, rng_seed: int) -> tuple[list[str], Counter[str]]:
    """Insert ``count`` beneficiaries; returns their cédula numbers and, for every
    search prefix, how many of them it matches."""
    factory = PeopleFactory(rng_seed)
    repository.connect(mongo_uri, db_name)  # creates the indexes (the server did already)
    try:
        repo = repository.MongoRepository()
        collection = repo.beneficiaries
        numbers = factory.numbers(count)
        now = datetime.now(UTC).replace(microsecond=0)
        folded = {normalise.fold(p) for p in SEARCH_PREFIXES}
        matches: Counter[str] = Counter()
        started = time.perf_counter()
        building = 0.0
        for start in range(0, count, BATCH):
            t0 = time.perf_counter()
            docs = []
            people = []
            for number in numbers[start : start + BATCH]:
                person = factory.person(number).build(community_id, now)
                people.append(person)
                doc = repository._beneficiary_doc(person)
                doc["outbox"] = []
                docs.append(doc)
                for prefix in folded:
                    if any(t.startswith(prefix) for t in doc["search_tokens"]):
                        matches[prefix] += 1
            building += time.perf_counter() - t0
            # The name postings the search reads, as the beneficiary_registered projection writes them.
            repo.index_names([NameIndexEntry(p.id, p.search_tokens, [ALL_SCOPE, p.community_id]) for p in people])
            collection.insert_many(docs, ordered=False)
            done = start + len(docs)
            if done % 20_000 == 0 or done == count:
                elapsed = time.perf_counter() - started
                print(f"  seeded {done:>7,} in {elapsed:6.1f}s ({done / elapsed:,.0f}/s)", flush=True)
        total = time.perf_counter() - started
        stored = collection.count_documents({"community_id": community_id})
        assert stored == count, f"expected {count} seeded, found {stored}"
        print(
            f"  seeding {count:,} took {total:.1f}s: {building:.1f}s building documents in Python, "
            f"{total - building:.1f}s in insert_many ({count / (total - building):,.0f} docs/s)",
            flush=True,
        )
        return numbers, matches
    finally:
        repository.disconnect()


def run(
    count: int = 100_000,
    lookups: int = 2000,
    searches: int = 1000,
    phase_seconds: float = 25.0,
    rng_seed: int = 20240611,
) -> list[Row]:
    db_name = os.environ.get("BENEFICIARIES_DB", repository.DEFAULT_DB)
    rng = random.Random(rng_seed + 1)
    with running_stack("lookup") as stack:
        channel = grpc.insecure_channel(stack.env["BENEFICIARIES_GRPC"])
        stub = pb_grpc.BeneficiariesServiceStub(channel)
        community = stub.RegisterCommunity(
            pb.RegisterCommunityRequest(name="Comunidad Benchmark", municipality="Bojayá", department="Chocó"),
            metadata=caller_metadata(SUBJECT, "coordinator"),  # communities: admins and coordinators
            timeout=10,
        )
        print(f"[{NAME}] seeding {count:,} beneficiaries into {db_name}.beneficiaries", flush=True)
        seeded = time.perf_counter()
        numbers, matches = seed(stack.env["MONGO_URI"], db_name, community.id, count, rng_seed)
        seed_seconds = time.perf_counter() - seeded
        metadata = caller_metadata(SUBJECT, ROLE)  # assertions are short-lived: sign after seeding

        mongo: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(stack.env["MONGO_URI"], tz_aware=True)
        try:
            raw = mongo[db_name]["beneficiaries"]
            keys = [rng.choice(numbers) for _ in range(lookups)]
            queries = [rng.choice(SEARCH_PREFIXES) for _ in range(searches)]
            sizes = sorted(matches[normalise.fold(q)] for q in queries)
            print(
                f"  search prefixes match {sizes[0]:,}..{sizes[-1]:,} beneficiaries each "
                f"(median {sizes[len(sizes) // 2]:,}); every query asks for {SEARCH_LIMIT}",
                flush=True,
            )

            def grpc_lookup(i: int) -> Any:
                reply = stub.GetBeneficiaryByNationalId(
                    pb.GetBeneficiaryByNationalIdRequest(national_id=pb.NationalId(type="CC", number=keys[i])),
                    metadata=metadata,
                    timeout=30,
                )
                assert reply.national_id.number == keys[i]
                return reply

            def raw_lookup(i: int) -> Any:
                found = raw.find_one({"national_id_key": f"CC:{keys[i]}"}, {"outbox": 0})
                assert found is not None
                return found

            def grpc_search(i: int) -> Any:
                reply = stub.SearchBeneficiaries(
                    pb.SearchBeneficiariesRequest(query=queries[i], limit=SEARCH_LIMIT),
                    metadata=metadata,
                    timeout=30,
                )
                assert reply.beneficiaries, f"no match for {queries[i]!r}"
                return reply

            def raw_search(i: int) -> Any:
                # The one-query prefix search over the multikey index.
                token = normalise.search_tokens(queries[i])[0]
                query = {"search_tokens": {"$gte": token, "$lt": token + "\uffff"}}
                found = list(raw.find(query, {"outbox": 0}).limit(SEARCH_LIMIT))
                assert found
                return found

            results: dict[str, Measurement] = {}
            for label, call, n in (
                ("raw find_one national_id_key", raw_lookup, lookups),
                ("GetBeneficiaryByNationalId (gRPC)", grpc_lookup, lookups),
                ("raw find search_tokens range", raw_search, searches),
                ("SearchBeneficiaries (gRPC)", grpc_search, searches),
            ):
                drive(label, call, duration=WARMUP_SECONDS, max_calls=min(20, n))
                results[label] = drive(label, call, duration=phase_seconds, max_calls=n)
                print(results[label].line(), flush=True)
            sweep, bounded = _sweep_diagnostic(raw)
        finally:
            mongo.close()
            channel.close()

    lookup, raw_lookup_m = results["GetBeneficiaryByNationalId (gRPC)"], results["raw find_one national_id_key"]
    search, raw_search_m = results["SearchBeneficiaries (gRPC)"], results["raw find search_tokens range"]
    return [
        Row(NAME, f"seeding {count:,} beneficiaries (insert_many of {BATCH})", "s", seed_seconds, None, "-"),
        Row(NAME, "GetBeneficiaryByNationalId p50", "ms", lookup.p50_ms, raw_lookup_m.p50_ms, "raw find_one"),
        Row(
            NAME,
            f"GetBeneficiaryByNationalId p99 ({lookup.count} / {raw_lookup_m.count} calls)",
            "ms",
            lookup.p99_ms,
            raw_lookup_m.p99_ms,
            "raw find_one",
            f"p99 < {TARGET_LOOKUP_P99_MS:g} ms",
            lookup.p99_ms < TARGET_LOOKUP_P99_MS,
        ),
        Row(
            NAME,
            f"SearchBeneficiaries p50 (limit {SEARCH_LIMIT})",
            "ms",
            search.p50_ms,
            raw_search_m.p50_ms,
            "raw find",
        ),
        Row(
            NAME,
            f"SearchBeneficiaries p99 (limit {SEARCH_LIMIT}; {search.count} / {raw_search_m.count} calls)",
            "ms",
            search.p99_ms,
            raw_search_m.p99_ms,
            "raw find",
            f"p99 < {TARGET_SEARCH_P99_MS:g} ms",
            search.p99_ms < TARGET_SEARCH_P99_MS,
        ),
        Row(
            NAME,
            "outbox sweep query over beneficiaries (OutboxRelay.sweep, diagnostic)",
            "ms",
            sweep.p50_ms,
            bounded.p50_ms,
            "same query with a $gte lower bound",
        ),
    ]


def _sweep_diagnostic(raw: Any) -> tuple[Measurement, Measurement]:
    """What the outbox sweep (every 5 s in the nameko service and in the gRPC server)
    costs the store over the seeded collection, beside the same query bounded below."""
    relay = OutboxRelay(cast(EventPublisher, None), {"beneficiaries": raw})  # finds nothing to publish
    cutoff = datetime.now(UTC) - timedelta(seconds=5)
    bounded = {"outbox.created_at": {"$gte": datetime(1970, 1, 1, tzinfo=UTC), "$lt": cutoff}}
    sweep = drive("OutboxRelay.sweep() on beneficiaries", lambda i: relay.sweep(), max_calls=2)
    print(sweep.line(), flush=True)
    floor = drive(
        "sweep query with a $gte lower bound",
        lambda i: list(raw.find(bounded, {"outbox": 1}).limit(200)),
        max_calls=2,
    )
    print(floor.line(), flush=True)
    return sweep, floor


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_lookup", description=__doc__)
    parser.add_argument("--count", type=int, default=100_000, help="beneficiaries to seed (default 100000)")
    parser.add_argument("--lookups", type=int, default=2000, help="national-id lookups (default 2000)")
    parser.add_argument("--searches", type=int, default=1000, help="name searches (default 1000)")
    parser.add_argument(
        "--phase-seconds", type=float, default=25.0, help="time bound of each measured phase (default 25)"
    )
    args = parser.parse_args(argv)
    print_rows(NAME, run(args.count, args.lookups, args.searches, args.phase_seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
