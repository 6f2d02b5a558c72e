"""The action plans' PDFs on the actas' machinery: a durable pending record first,
one upload, one event, retries with backoff, a redelivered approval changes
nothing, and links only once stored (fakes of the ports)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from crm_platform import contracts
from crm_platform import errors as vocabulary
from services.documents.domain.plan_view import PlanView
from services.documents.service_layer.plan_documents import PLAN_DOCUMENTS, PlanDocumentNotFound, PlanDocuments
from tests.unit.documents_fakes import (
    DOCS,
    NOW,
    DictObjectStore,
    FakeDocumentRepository,
    MarkingSigner,
    SettableClock,
    StatusAtFlush,
)
from tests.unit.test_documents_plan_pdf import plan_view


class FlakyPlans:
    """The income service: fails ``failures`` times, then answers; notes the record
    as it was when each view was asked for (it must be durable by then)."""

    def __init__(self, repo: FakeDocumentRepository, failures: int = 0) -> None:
        self.repo, self.failures = repo, failures
        self.asked: list[tuple[str, int]] = []
        self.records_seen: list[object] = []

    def view(self, unit_id: str, version: int) -> PlanView:
        self.asked.append((unit_id, version))
        self.records_seen.append(self.repo.get(f"{unit_id}:v{version}"))
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("income service unavailable")
        return plan_view(unit_id=unit_id, version=version)


@dataclass
class PlanWorld:
    plans: PlanDocuments
    repo: FakeDocumentRepository
    source: FlakyPlans
    store: DictObjectStore
    relay: StatusAtFlush
    clock: SettableClock


def plan_world(failures: int = 0) -> PlanWorld:
    repo = FakeDocumentRepository()
    source = FlakyPlans(repo, failures)
    store, relay, clock = DictObjectStore(), StatusAtFlush(repo), SettableClock(NOW)
    plans = PlanDocuments(repo, source, store, MarkingSigner(), relay, clock, DOCS)
    return PlanWorld(plans, repo, source, store, relay, clock)


def test_an_approved_version_gets_one_signed_pdf_under_its_key_and_one_event() -> None:
    w = plan_world()
    done = w.plans.on_plan_approved("up-1", 2)
    assert done.status == "stored" and done.pades_signed and done.attempts == 1
    assert w.source.records_seen[0] is not None  # the pending record existed before the plan was read
    data, content_type, metadata = w.store.objects[(DOCS, "planes/up-1/v2.pdf")]
    assert content_type == "application/pdf" and data.endswith(b"% signed\n")
    assert metadata["unit-id"] == "up-1" and metadata["plan-version"] == "2" and metadata["sha256"] == done.sha256
    assert w.relay.flushed == [(PLAN_DOCUMENTS, "up-1:v2", "stored")]
    (event,) = w.repo.outbox["up-1:v2"]
    assert event["type"] == "plan_document_stored"
    payload = event["payload"]
    assert isinstance(payload, dict)
    typed = contracts.parse(contracts.PlanDocumentStored, payload)
    assert (typed.unit_id, typed.plan_version, typed.object_key) == ("up-1", 2, "planes/up-1/v2.pdf")


def test_a_redelivered_approval_changes_nothing() -> None:
    w = plan_world()
    first = w.plans.on_plan_approved("up-1", 1)
    again = w.plans.on_plan_approved("up-1", 1)
    assert again == first and w.store.creates == 1 and len(w.source.asked) == 1
    assert len(w.repo.outbox["up-1:v1"]) == 1


def test_a_failure_is_kept_pending_and_retried_with_backoff_until_stored() -> None:
    w = plan_world(failures=2)
    first = w.plans.on_plan_approved("up-1", 1)
    assert first.status == "pending" and first.attempts == 1 and "income service unavailable" in first.last_error
    assert w.plans.retry_due() == 0  # not due before its backoff
    w.clock.current += timedelta(seconds=3)
    assert w.plans.retry_due() == 1
    w.clock.current += timedelta(seconds=10)
    w.plans.retry_due()
    record = w.repo.get("up-1:v1")
    assert record is not None and record.status == "stored" and record.attempts == 3
    assert w.store.creates == 1


def test_the_document_and_its_link_once_stored() -> None:
    w = plan_world(failures=1)
    w.plans.on_plan_approved("up-1", 1)
    pending, link = w.plans.document("up-1", 1)
    assert pending.status == "pending" and link is None
    w.clock.current += timedelta(seconds=5)
    w.plans.retry_due()
    stored, link = w.plans.document("up-1", 1, timedelta(hours=48))
    assert stored.status == "stored" and link is not None
    assert link.url.endswith("planes/up-1/v1.pdf?expires=86400")  # at most 24 hours
    assert link.expires_at == w.clock.now() + timedelta(hours=24)


def test_no_document_before_approval_and_bad_requests_name_the_field() -> None:
    w = plan_world()
    with pytest.raises(PlanDocumentNotFound, match="se genera cuando esa versión es aprobada"):
        w.plans.document("up-1", 1)
    with pytest.raises(vocabulary.InvalidArgument) as invalid:
        w.plans.document("", 0)
    assert set(invalid.value.fields) == {"unit_id", "plan_version"}
    with pytest.raises(ValueError):
        w.plans.on_plan_approved("up-1", 0)
    assert w.repo.records == {}
