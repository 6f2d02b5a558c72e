"""Several subscriptions in one process (``run_service``): each event type its own
queue, consumed by one thread on one connection (``ConsumerGroup``), each with its
own contract check and dead letters. On kombu's in-memory transport."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from kombu import Connection

from crm_platform.consumer import ConsumerGroup
from crm_platform.messaging import events_exchange
from crm_platform.service import Subscription, _events_consumer, subscriptions_of
from tests.unit.test_contracts import sealed

APPROVED = {
    "unit_id": "up-1",
    "unit_name": "Panadería",
    "family_id": "f1",
    "owner_ids": ["p1"],
    "plan_version": 2,
    "viable": True,
    "occurred_at": "2026-12-06T10:00:00+00:00",
    "by": "coord",
}


def publish(connection: Connection, source: str, event_type: str, payload: dict[str, Any]) -> None:
    connection.Producer().publish(
        payload, exchange=events_exchange(source), routing_key=event_type, serializer="json", declare=[]
    )


def test_one_subscription_or_several_and_never_the_same_event_twice() -> None:
    one = Subscription("actas", "acta_sealed", "acta_id", lambda e: None)
    other = Subscription("income", "action_plan_approved", "unit_id", lambda e: None)
    assert subscriptions_of(one) == [one]
    assert subscriptions_of([one, other]) == [one, other]
    with pytest.raises(ValueError, match="no subscription"):
        subscriptions_of([])
    with pytest.raises(ValueError, match="subscribed twice"):
        subscriptions_of([one, Subscription("actas", "acta_sealed", "acta_id", lambda e: None)])


def test_a_group_consumes_each_subscription_from_its_own_queue_in_one_thread() -> None:
    handled: list[tuple[str, str]] = []
    done = threading.Event()

    def note(kind: str, key: str) -> Any:
        def handle(event: dict[str, Any]) -> None:
            handled.append((kind, event[key]))
            if len(handled) == 3:
                done.set()

        return handle

    subs = [
        Subscription("actas", "acta_sealed", "acta_id", note("acta", "acta_id")),
        Subscription("income", "action_plan_approved", "unit_id", note("plan", "unit_id")),
    ]
    with Connection("memory://") as connection:
        group = _events_consumer("documents", subs, connection)
        assert isinstance(group, ConsumerGroup)
        assert group.queue_names == ["documents.acta_sealed", "documents.action_plan_approved"]
        for member in group.members:  # bound before anything is published, as at start-up
            member.queue(connection.default_channel).declare()
        publish(connection, "actas", "acta_sealed", sealed(acta_id="a-1"))
        publish(connection, "income", "action_plan_approved", {**APPROVED, "plan_version": "two"})  # breaks it
        publish(connection, "income", "action_plan_approved", APPROVED)
        publish(connection, "actas", "acta_sealed", sealed(acta_id="a-2"))
        worker = threading.Thread(target=group.run, daemon=True)
        worker.start()
        assert done.wait(10)
        group.should_stop = True
        worker.join(10)
        dead = connection.SimpleQueue("documents.action_plan_approved.dead")
        refused = dead.get(timeout=5)
        refused.ack()
        dead.close()
    assert sorted(handled) == [("acta", "a-1"), ("acta", "a-2"), ("plan", "up-1")]
    assert "plan_version" in refused.headers["x-crm-dead-reason"]


def test_a_single_subscription_is_consumed_as_before() -> None:
    sub = Subscription("actas", "acta_sealed", "acta_id", lambda e: None)
    with Connection("memory://") as connection:
        consumer = _events_consumer("documents", [sub], connection)
        assert not isinstance(consumer, ConsumerGroup)
        assert consumer.queue.name == "documents.acta_sealed"  # type: ignore[attr-defined]
