"""One producer at a time: a document record is leased before its PDF is made, so
the consumer, a redelivery and the retry loop never produce one acta twice; a
producer that lost its lease changes nothing; a killed producer's record is
produced once its lease ends. Whatever the interleaving, the record's SHA-256 is
the stored PDF's and ``document_stored`` is queued once."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from services.documents.domain.retry import LEASE
from services.documents.service_layer.handlers import DOCUMENTS
from services.documents.service_layer.ports import DocumentRecord, Lease
from tests.unit.documents_fakes import DOCS, NOW, World, stored_pdf, world


class NumberingSigner:
    """Signs each PDF differently, as PAdES does (it embeds the signing time)."""

    def __init__(self) -> None:
        self.signed = 0

    def sign(self, pdf: bytes, *, reason: str = "", location: str = "") -> bytes:
        self.signed += 1
        return pdf + f"\n% firma {self.signed}\n".encode()


def assert_one_document(w: World, acta_id: str = "acta-1") -> DocumentRecord:
    """Stored once: the record's SHA-256 is the stored bytes', one event, one publication."""
    record = w.repo.records[acta_id]
    pdf = stored_pdf(w, acta_id)[0]
    assert record.status == "stored" and record.sha256 == hashlib.sha256(pdf).hexdigest()
    assert record.size_bytes == len(pdf)
    [event] = w.repo.outbox[acta_id]
    assert event["payload"]["sha256"] == record.sha256  # type: ignore[index]
    assert w.relay.flushed == [(DOCUMENTS, acta_id, "stored")]
    return record


def test_a_new_record_is_held_by_its_consumer_so_the_retry_loop_leaves_it_alone() -> None:
    w = world()
    retried: list[int] = []
    w.actas.during_view = lambda: retried.append(w.handlers.retry_due())

    w.handlers.on_acta_sealed("acta-1")

    assert retried == [0]  # not due while its consumer renders it
    [seen] = w.actas.records_seen
    assert seen is not None and seen.lease_owner and seen.leased_until == NOW + LEASE
    assert seen.next_attempt_at == NOW + LEASE  # due only if the consumer dies
    record = assert_one_document(w)
    assert (record.lease_owner, record.leased_until, record.next_attempt_at) == ("", None, None)
    assert w.store.puts == 1


def test_while_one_producer_holds_the_record_a_redelivery_and_a_retry_produce_nothing() -> None:
    w = world(signer=NumberingSigner())
    meanwhile: list[DocumentRecord] = []
    w.actas.during_view = lambda: meanwhile.extend([w.handlers.on_acta_sealed("acta-1"), w.handlers.produce("acta-1")])

    w.handlers.on_acta_sealed("acta-1")

    assert [r.status for r in meanwhile] == ["pending", "pending"]
    assert len(w.actas.records_seen) == 1 and w.store.puts == 1
    assert stored_pdf(w)[0].endswith(b"% firma 1\n")
    assert_one_document(w)


def test_a_record_held_by_a_killed_producer_is_produced_by_the_retry_loop_once_its_lease_ends() -> None:
    w = world()
    w.repo.ensure_pending("acta-1", NOW, Lease("killed-worker", NOW + LEASE))  # then the process died

    w.clock.current = NOW + LEASE - timedelta(seconds=1)
    assert w.handlers.retry_due() == 0
    assert w.handlers.on_acta_sealed("acta-1").status == "pending"  # a redelivery leaves it to its holder
    assert w.actas.records_seen == []

    w.clock.current = NOW + LEASE
    assert w.handlers.retry_due() == 1
    assert assert_one_document(w).attempts == 1


def test_a_producer_that_lost_its_lease_before_the_upload_uploads_nothing() -> None:
    signer = NumberingSigner()
    w = world(signer=signer)

    def stall() -> None:  # the first render outlives its lease; the retry loop takes over
        w.clock.current = NOW + LEASE + timedelta(seconds=1)
        assert w.handlers.retry_due() == 1

    w.actas.during_view = stall

    first = w.handlers.on_acta_sealed("acta-1")

    record = assert_one_document(w)
    assert first == record and w.store.creates == 1 and len(w.actas.records_seen) == 2
    # Both signed (the retry first, inside the stalled call); only the retry's PDF was uploaded.
    assert signer.signed == 2 and stored_pdf(w)[0].endswith(b"% firma 1\n")


def test_a_producer_that_lost_its_lease_after_its_upload_cannot_change_the_record() -> None:
    w = world(signer=NumberingSigner())

    def stall() -> None:  # uploaded, then stalled past its lease before marking the record
        w.clock.current = NOW + LEASE + timedelta(seconds=1)
        assert w.handlers.retry_due() == 1

    w.store.after_create = stall

    first = w.handlers.on_acta_sealed("acta-1")

    record = assert_one_document(w)
    assert first == record and w.store.puts == 1 and w.store.creates == 2
    assert stored_pdf(w)[0].endswith(b"% firma 1\n")  # the retry found the key taken and recorded that PDF


def test_a_failure_reported_by_a_producer_that_lost_its_lease_changes_nothing() -> None:
    w = world()

    def stall() -> None:
        w.clock.current = NOW + LEASE + timedelta(seconds=1)
        w.handlers.retry_due()
        w.actas.failures = 1  # and then the first producer's own call fails

    w.actas.during_view = stall

    w.handlers.on_acta_sealed("acta-1")

    record = assert_one_document(w)
    assert (record.attempts, record.last_error) == (1, "")


def test_an_upload_left_by_a_producer_killed_before_it_marked_the_record_becomes_the_document() -> None:
    w = world()
    earlier = b"%PDF-1.4 uploaded by the killed producer"
    w.store.objects[(DOCS, "actas/acta-1.pdf")] = (earlier, "application/pdf", {"sha256": "whatever it said"})
    w.repo.ensure_pending("acta-1", NOW)

    assert w.handlers.retry_due() == 1

    record = assert_one_document(w)
    assert stored_pdf(w)[0] == earlier and record.sha256 == hashlib.sha256(earlier).hexdigest()
    assert w.store.puts == 0
