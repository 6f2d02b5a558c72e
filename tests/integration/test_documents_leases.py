"""One producer per acta (issue 10, section 2), on the real SecantusDB and SeaweedFS:
the consumer, a redelivery on another worker and the retry loop all try to produce
the same acta, and exactly one PDF is made, recorded and announced."""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pymongo
import pytest

from devstack.infra import Stack
from services.documents.adapters import repository
from services.documents.adapters.object_store import MinioObjectStore
from services.documents.service_layer.handlers import DocumentHandlers, object_key
from tests.integration.test_documents_service import StepClock, sealed_acta

# Two handler instances share the real repository
# and object store (a bucket the running service does not write to).

SCRATCH_BUCKET = "crm-attachments"


class Producers:
    """Handler instances as separate workers would have them, on a fresh database."""

    def __init__(self, stack: Stack, db_name: str, count: int) -> None:
        from services.documents.adapters.actas_source import GrpcActaSource

        self.stack, self.db_name = stack, db_name
        self.clock = StepClock()
        self.signed: list[str] = []
        self.flushed: list[str] = []
        self.sources = [GrpcActaSource(stack.env["ACTAS_GRPC"], "http://127.0.0.1/verificar") for _ in range(count)]
        self.gates = [GatedSource(source) for source in self.sources]
        self.stores = [StallingStore(object_store(stack)) for _ in range(count)]
        self.handlers = [
            DocumentHandlers(
                repo=repository.MongoDocumentRepository(),
                actas=gate,
                store=store,
                signer=TaggingSigner(f"worker-{n}", self.signed),
                relay=self,
                clock=self.clock,
                documents_bucket=SCRATCH_BUCKET,
            )
            for n, (gate, store) in enumerate(zip(self.gates, self.stores, strict=True))
        ]

    def flush(self, collection: str, aggregate_id: str) -> None:
        self.flushed.append(aggregate_id)

    def assert_one_document(self, acta_id: str) -> bytes:
        """Stored: the record's SHA-256 is the stored PDF's, one event, one publication."""
        client: pymongo.MongoClient = pymongo.MongoClient(self.stack.env["MONGO_URI"])
        with client:
            raw = client[self.db_name].documents.find_one({"_id": acta_id})
        assert raw is not None and raw["status"] == "stored"
        pdf = object_store(self.stack).get(SCRATCH_BUCKET, object_key(acta_id))
        assert raw["sha256"] == hashlib.sha256(pdf).hexdigest(), "the record's SHA-256 is not the stored PDF's"
        assert raw["size_bytes"] == len(pdf)
        assert [e["type"] for e in raw["outbox"]] == ["document_stored"]
        assert raw["outbox"][0]["payload"]["sha256"] == raw["sha256"]
        assert self.flushed == [acta_id]
        return pdf

    def close(self) -> None:
        for source in self.sources:
            source.close()


def object_store(stack: Stack) -> MinioObjectStore:
    return MinioObjectStore(stack.env["S3_ENDPOINT"], stack.env["S3_ACCESS_KEY"], stack.env["S3_SECRET_KEY"], False)


class TaggingSigner:
    """Signs each PDF differently, as PAdES does (it embeds the signing time), and
    notes which worker produced one."""

    def __init__(self, worker: str, signed: list[str]) -> None:
        self.worker, self.signed = worker, signed

    def sign(self, pdf: bytes, *, reason: str = "", location: str = "") -> bytes:
        self.signed.append(self.worker)
        return pdf + f"\n% firmado por {self.worker} {uuid.uuid4().hex}\n".encode()


class GatedSource:
    """The actas service; ``meanwhile`` runs once inside the first call (a slow render)."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.meanwhile: Callable[[], None] | None = None

    def view(self, acta_id: str) -> Any:
        hook, self.meanwhile = self.meanwhile, None
        if hook is not None:
            hook()
        return self.real.view(acta_id)

    def template_key(self, acta_id: str) -> str:
        return str(self.real.template_key(acta_id))


class StallingStore:
    """The object store; ``after_upload`` runs once after an upload (a stalled worker)."""

    def __init__(self, real: MinioObjectStore) -> None:
        self.real = real
        self.after_upload: Callable[[], None] | None = None

    def put(self, bucket: str, key: str, data: bytes, content_type: str, metadata: Mapping[str, str]) -> Any:
        return self._then_stall(self.real.put(bucket, key, data, content_type, metadata))

    def create(self, bucket: str, key: str, data: bytes, content_type: str, metadata: Mapping[str, str]) -> Any:
        return self._then_stall(self.real.create(bucket, key, data, content_type, metadata))

    def _then_stall(self, stored: Any) -> Any:
        hook, self.after_upload = self.after_upload, None
        if hook is not None and stored is not None:
            hook()
        return stored

    def __getattr__(self, name: str) -> Any:  # get, stat, link
        return getattr(self.real, name)


@pytest.fixture
def documents_db(stack: Stack) -> Iterator[str]:
    name = f"documents_race_{uuid.uuid4().hex[:8]}"
    repository.connect(stack.env["MONGO_URI"], name)
    try:
        yield name
    finally:
        client: pymongo.MongoClient = pymongo.MongoClient(stack.env["MONGO_URI"])
        with client:
            client.drop_database(name)
        repository.disconnect()


@pytest.fixture
def producers(stack: Stack, documents_db: str) -> Iterator[Callable[[int], Producers]]:
    made: list[Producers] = []

    def make(count: int) -> Producers:
        made.append(Producers(stack, documents_db, count))
        return made[-1]

    yield make
    for each in made:
        each.close()


def test_the_retry_loop_and_a_redelivery_leave_an_acta_alone_while_its_consumer_renders_it(
    stack, actas, family, signer, producers
) -> None:
    acta = sealed_acta(actas, family, signer)
    p = producers(2)
    consumer, other = p.handlers
    outcomes: list[str] = []

    def meanwhile() -> None:  # while the consumer renders: the other worker's retry loop and a redelivery
        outcomes.append(str(other.retry_due()))
        outcomes.append(other.on_acta_sealed(acta.id).status)

    p.gates[0].meanwhile = meanwhile

    assert consumer.on_acta_sealed(acta.id).status == "stored"

    assert outcomes == ["0", "pending"]
    assert p.signed == ["worker-0"]
    p.assert_one_document(acta.id)


def test_a_worker_stalled_past_its_lease_after_uploading_cannot_make_the_record_disagree_with_the_pdf(
    stack, actas, family, signer, producers
) -> None:
    acta = sealed_acta(actas, family, signer)
    p = producers(2)
    stalled, other = p.handlers
    retried: list[int] = []

    def stall() -> None:  # uploaded, then stalled long past any lease; the other worker's retry loop runs
        p.clock.moment += timedelta(minutes=2)
        retried.append(other.retry_due())

    p.stores[0].after_upload = stall

    first = stalled.on_acta_sealed(acta.id)

    assert retried == [1] and first.status == "stored"
    assert p.signed == ["worker-0", "worker-1"]  # both rendered; the second found the key taken
    pdf = p.assert_one_document(acta.id)
    assert b"firmado por worker-0" in pdf  # the first upload was never replaced


def test_workers_racing_on_one_acta_make_one_pdf_whose_hash_is_the_record_s(
    stack, actas, family, signer, producers
) -> None:
    acta = sealed_acta(actas, family, signer)
    p = producers(4)
    p.clock.moment = datetime.now(UTC)
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        handlers = p.handlers[n]
        try:
            start.wait(10)
            # Two consumers (a redelivered event on another worker) and two retry loops.
            if n % 2 == 0:
                handlers.on_acta_sealed(acta.id)
            else:
                handlers.produce(acta.id)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == [] and not any(thread.is_alive() for thread in threads)
    assert len(p.signed) == 1, f"the acta was produced {len(p.signed)} times: {p.signed}"
    p.assert_one_document(acta.id)


def test_the_document_records_lease_one_producer_at_a_time(stack, documents_db) -> None:
    from services.documents.service_layer.ports import Lease  # the lease is what this test is about

    repo = repository.MongoDocumentRepository()
    now = datetime.now(UTC).replace(microsecond=0)
    first, second = Lease("first", now + timedelta(seconds=30)), Lease("second", now + timedelta(seconds=30))

    created = repo.ensure_pending("acta-lease", now, first)
    assert (created.lease_owner, created.leased_until, created.next_attempt_at) == ("first", first.until, first.until)
    assert repo.due(now + timedelta(seconds=29), 10) == []  # not due while held
    assert repo.claim("acta-lease", second, now) is None
    assert not repo.renew("acta-lease", second)
    assert not repo.mark_stored(replace_record(created, "second-pdf"), "second", {"id": "x", "type": "document_stored"})

    later = now + timedelta(seconds=31)  # the first holder died: its lease ends, the record is due
    assert repo.due(later, 10) == ["acta-lease"]
    taken = repo.claim("acta-lease", Lease("second", later + timedelta(seconds=30)), later)
    assert taken is not None and taken.lease_owner == "second"
    assert repo.claim("acta-lease", Lease("third", later + timedelta(seconds=30)), later) is None
    repo.mark_failed("acta-lease", "first", "late failure", 5, later)  # the old holder: no effect
    assert not repo.mark_stored(replace_record(created, "first-pdf"), "first", {"id": "y", "type": "document_stored"})
    assert repo.mark_stored(replace_record(taken, "second-pdf"), "second", {"id": "z", "type": "document_stored"})
    assert not repo.mark_stored(replace_record(taken, "again"), "second", {"id": "w", "type": "document_stored"})

    done = repo.get("acta-lease")
    assert done is not None and (done.status, done.sha256, done.attempts, done.last_error) == (
        "stored",
        "second-pdf",
        0,
        "",
    )
    assert (done.lease_owner, done.leased_until) == ("", None)
    assert repo.claim("acta-lease", Lease("fourth", later), later + timedelta(hours=1)) is None


def replace_record(record: Any, sha256: str) -> Any:
    return replace(record, status="stored", sha256=sha256)


def test_the_object_store_creates_a_key_once(stack) -> None:
    store = object_store(stack)
    key = f"actas/create-once-{uuid.uuid4().hex}.pdf"
    assert store.create(SCRATCH_BUCKET, key, b"%PDF-first", "application/pdf", {"sha256": "first"}) is not None
    assert store.create(SCRATCH_BUCKET, key, b"%PDF-second", "application/pdf", {"sha256": "second"}) is None
    assert store.get(SCRATCH_BUCKET, key) == b"%PDF-first"
    found = store.stat(SCRATCH_BUCKET, key)
    assert found is not None and found.sha256 == "first"
