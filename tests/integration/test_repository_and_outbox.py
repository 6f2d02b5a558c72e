"""The MongoDB repository and the outbox relay against the real SecantusDB and
RabbitMQ: constraints enforced by the store, and events that survive a broker
outage."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from kombu import Connection, Exchange, Queue

from crm_platform.messaging import EventPublisher, PublishError
from crm_platform.outbox import BackgroundRelay, OutboxRelay
from devstack.infra import Stack, free_port
from services.beneficiaries.adapters import repository
from services.beneficiaries.domain.errors import AlreadyExists, Conflict
from services.beneficiaries.domain.model import Community, Event, RegisterBeneficiary
from services.beneficiaries.domain.name_index import ALL_SCOPE, NameIndexEntry
from services.beneficiaries.domain.timeline import TimelineEntry
from tests.helpers import unique_cc

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def repo(stack: Stack) -> Iterator[repository.MongoRepository]:
    db_name = f"test_repo_{uuid.uuid4().hex[:8]}"
    repository.connect(stack.env["MONGO_URI"], db_name)
    try:
        yield repository.MongoRepository()
    finally:
        repository.MongoRepository().beneficiaries.database.client.drop_database(db_name)
        repository.disconnect()


def a_person(**overrides: Any) -> Any:
    cmd = RegisterBeneficiary(
        id_type="CC",
        id_number=unique_cc(),
        first_names="Óscar",
        last_names="Ramírez",
        birth_date="1990-01-01",
        sex="male",
        community_id="c1",
    )
    return replace(cmd.build(NOW, date(2026, 11, 1)), **overrides)


def test_unique_national_id_is_enforced_by_the_store(repo: repository.MongoRepository) -> None:
    first = a_person()
    repo.add_beneficiary(first, [])
    with pytest.raises(AlreadyExists) as err:
        repo.add_beneficiary(a_person(id_number=first.id_number), [])
    assert err.value.field == "national_id"


def test_one_head_per_family_is_enforced_by_the_store_even_past_the_handler(
    repo: repository.MongoRepository,
) -> None:
    repo.add_beneficiary(a_person(family_id="f1", relationship="head"), [])
    repo.add_beneficiary(a_person(family_id="f1", relationship="child"), [])
    with pytest.raises(Conflict):
        repo.add_beneficiary(a_person(family_id="f1", relationship="head"), [])


def test_a_stale_update_is_refused(repo: repository.MongoRepository) -> None:
    person = a_person()
    repo.add_beneficiary(person, [])
    fresh = repo.get_beneficiary(person.id)
    stale = repo.get_beneficiary(person.id)
    assert fresh and stale
    fresh.email, fresh.version = "a@b.co", 2
    repo.update_beneficiary(fresh, [])
    stale.email, stale.version = "c@d.co", 2
    with pytest.raises(Conflict):
        repo.update_beneficiary(stale, [])
    stored = repo.get_beneficiary(person.id)
    assert stored and stored.email == "a@b.co"


def test_events_are_stored_with_the_aggregate(repo: repository.MongoRepository) -> None:
    person = a_person()
    event = Event("beneficiary_registered", {"beneficiary_id": person.id})
    repo.add_beneficiary(person, [event])
    raw = repo.beneficiaries.find_one({"_id": person.id})
    assert raw and [e["id"] for e in raw["outbox"]] == [event.id]


def test_timeline_appends_are_idempotent(repo: repository.MongoRepository) -> None:
    entry = TimelineEntry("beneficiary", "p1", NOW, "acta_sealed", "Acta firmada: Taller", "actas", "a1", "ev1")
    assert repo.append_timeline([entry]) == 1
    assert repo.append_timeline([entry, replace(entry, source_event_id="ev2")]) == 1
    assert [e.source_event_id for e in repo.timeline("beneficiary", "p1", 10)] in (
        ["ev1", "ev2"],
        ["ev2", "ev1"],
    )


def _drain(conn: Connection, queue: Queue, want: int) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []

    def on_message(body: dict[str, Any], message: Any) -> None:
        got.append(body)
        message.ack()

    with conn.Consumer(queue, callbacks=[on_message]):
        for _ in range(50):
            if len(got) >= want:
                break
            with contextlib.suppress(TimeoutError):
                conn.drain_events(timeout=0.2)
    return got


def test_events_survive_a_broker_outage_and_are_published_by_the_sweep(
    repo: repository.MongoRepository, stack: Stack
) -> None:
    community = Community(uuid.uuid4().hex, "Tabaco", "Hatonuevo", "La Guajira", NOW)
    event = Event("community_registered", registered(community))
    repo.add_community(community, [event])

    unreachable = EventPublisher(f"amqp://guest:guest@127.0.0.1:{free_port()}/", "beneficiaries", max_retries=0)
    OutboxRelay(unreachable, {"communities": repo.communities}).flush("communities", community.id)
    raw = repo.communities.find_one({"_id": community.id})
    assert raw and [e["id"] for e in raw["outbox"]] == [event.id], "the event must stay in the outbox"

    exchange = Exchange("beneficiaries.events", type="topic", durable=True)
    queue = Queue(f"test-sweep-{uuid.uuid4().hex[:6]}", exchange, routing_key="community_registered", auto_delete=True)
    publisher = EventPublisher(stack.env["AMQP_URI"], "beneficiaries")
    with Connection(stack.env["AMQP_URI"]) as conn:
        queue(conn.default_channel).declare()
        try:
            published = OutboxRelay(publisher, {"communities": repo.communities}).sweep(timedelta(0))
        finally:
            publisher.close()
        received = _drain(conn, queue, 1)
    assert published == 1
    assert [b["event_id"] for b in received if b.get("community_id") == community.id] == [event.id]
    raw = repo.communities.find_one({"_id": community.id})
    assert raw and raw["outbox"] == []


def test_name_search_pages_through_many_namesakes_and_respects_the_community(
    repo: repository.MongoRepository,
) -> None:
    garcias = [a_person(first_names=f"Ana {chr(97 + i)}", last_names="García", community_id="c1") for i in range(25)]
    others = [a_person(first_names="Luis", last_names="Garzón", community_id="c2") for _ in range(3)]
    for person in [*garcias, *others]:
        repo.add_beneficiary(person, [])
    repo.index_names([NameIndexEntry(p.id, p.search_tokens, [ALL_SCOPE, p.community_id]) for p in [*garcias, *others]])

    first_page = repo.search(["gar"], None, 20)
    assert len(first_page) == 20
    assert len(repo.search(["gar"], None, 100)) == 28
    assert {p.id for p in repo.search(["gar"], "c2", 20)} == {p.id for p in others}
    assert {p.id for p in repo.search(["garc", "ana"], "c1", 50)} == {p.id for p in garcias}
    assert repo.search(["garc", "luis"], None, 20) == []


def test_name_search_skips_duplicate_and_stale_postings(repo: repository.MongoRepository) -> None:
    person = a_person(first_names="Érika", last_names="Ibarra", community_id="c1")
    repo.add_beneficiary(person, [])
    entry = NameIndexEntry(person.id, person.search_tokens, [ALL_SCOPE, "c1"])
    repo.index_names([entry, entry])  # a redelivered event indexes twice
    repo.index_names([NameIndexEntry("nobody", ["erasmo"], ["c1"])])  # points at no record
    assert [p.id for p in repo.search(["er"], "c1", 20)] == [person.id]

    moved = repo.get_beneficiary(person.id)
    assert moved is not None
    moved.community_id, moved.version = "c9", 2
    repo.update_beneficiary(moved, [])
    repo.index_names([NameIndexEntry(person.id, person.search_tokens, ["c9"])])
    assert [p.id for p in repo.search(["ibar"], "c9", 20)] == [person.id]
    assert repo.search(["ibar"], "c1", 20) == []


def _communities(repo: repository.MongoRepository, events_each: list[int]) -> list[tuple[Community, list[Event]]]:
    made = []
    for count in events_each:
        community = Community(uuid.uuid4().hex, "Roche", "Barrancas", "La Guajira", NOW)
        events = [Event("community_registered", {**registered(community), "n": n}) for n in range(count)]
        repo.add_community(community, events)
        made.append((community, events))
    return made


def _outbox_ids(repo: repository.MongoRepository, community_id: str) -> list[str]:
    raw = repo.communities.find_one({"_id": community_id})
    assert raw is not None
    return [e["id"] for e in raw["outbox"]]


def test_flush_many_publishes_every_aggregate_in_order_and_empties_their_outboxes(
    repo: repository.MongoRepository, stack: Stack
) -> None:
    made = _communities(repo, [1, 2, 1])
    exchange = Exchange("beneficiaries.events", type="topic", durable=True)
    queue = Queue(f"test-many-{uuid.uuid4().hex[:6]}", exchange, routing_key="community_registered", auto_delete=True)
    publisher = EventPublisher(stack.env["AMQP_URI"], "beneficiaries")
    ids = [c.id for c, _ in made]
    with Connection(stack.env["AMQP_URI"]) as conn:
        queue(conn.default_channel).declare()
        try:
            relay = OutboxRelay(publisher, {"communities": repo.communities})
            published = relay.flush_many("communities", [*ids, "no-such-community"])
        finally:
            publisher.close()
        received = [b["event_id"] for b in _drain(conn, queue, 4) if b.get("community_id") in ids]
    assert published == 4
    assert sorted(received) == sorted(e.id for _, events in made for e in events)
    two = [e.id for e in made[1][1]]
    assert [i for i in received if i in two] == two, "events of one aggregate keep their order"
    assert all(_outbox_ids(repo, i) == [] for i in ids)


class RefusesAfter:
    """A publisher that the broker stops confirming after ``accepted`` events."""

    def __init__(self, accepted: int) -> None:
        self.accepted = accepted
        self.published: list[str] = []

    def publish(self, event_type: str, payload: Any, *, event_id: str) -> None:
        if len(self.published) >= self.accepted:
            raise PublishError("not confirmed")
        self.published.append(event_id)


def test_flush_many_removes_only_what_was_published_when_the_broker_stops_confirming(
    repo: repository.MongoRepository,
) -> None:
    made = _communities(repo, [1, 2, 1])
    publisher = RefusesAfter(2)
    relay = OutboxRelay(publisher, {"communities": repo.communities})  # type: ignore[arg-type]
    assert relay.flush_many("communities", [c.id for c, _ in made]) == 2
    left = [event_id for c, _ in made for event_id in _outbox_ids(repo, c.id)]
    assert len(left) == 2, "the two unconfirmed events stay for the sweep"
    assert not set(left) & set(publisher.published)


def test_the_background_relay_publishes_everything_handed_to_it_before_it_closes(
    repo: repository.MongoRepository, stack: Stack
) -> None:
    made = _communities(repo, [1] * 30)
    publisher = EventPublisher(stack.env["AMQP_URI"], "beneficiaries")
    background = BackgroundRelay(OutboxRelay(publisher, {"communities": repo.communities}), batch=7)
    try:
        for community, _ in made:
            background.flush("communities", community.id)
    finally:
        background.close()
        publisher.close()
    assert all(_outbox_ids(repo, c.id) == [] for c, _ in made)


def registered(community: Community) -> dict[str, object]:
    """A community_registered payload that satisfies its contract."""
    return {"community_id": community.id, "name": community.name, "occurred_at": NOW.isoformat(), "by": "test"}
