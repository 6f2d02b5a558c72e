"""The nameko service over the real RabbitMQ: RPC commands, events and the
timeline they build, idempotent consumers."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from kombu import Connection, Exchange, Queue
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcProxy

from crm_platform.messaging import EventPublisher
from crm_platform.nameko_support import caller_context
from devstack.infra import Stack
from tests.helpers import eventually, unique_cc
from tests.unit.test_contracts import sealed


@pytest.fixture(scope="module")
def rpc(stack: Stack) -> Iterator[Any]:
    # Signed here, when the module's tests start: an assertion lives 15 minutes, less
    # than a whole session (a constant signed at collection expired before these ran).
    caller = caller_context("gestor.rpc", "gestor")
    with ClusterRpcProxy({"AMQP_URI": stack.env["AMQP_URI"]}, context_data=caller, timeout=20) as proxy:
        yield proxy.beneficiaries


@pytest.fixture(scope="module")
def community_id(rpc: Any) -> str:
    return str(rpc.register_community(f"Vereda {uuid.uuid4().hex[:6]}", "Albania", "La Guajira")["id"])


def person(community_id: str, **overrides: Any) -> dict[str, Any]:
    data = {
        "national_id": {"type": "CC", "number": unique_cc()},
        "first_names": "Yolanda",
        "last_names": "Ipuana",
        "birth_date": "1979-02-28",
        "sex": "female",
        "community_id": community_id,
    }
    data.update(overrides)
    return data


def test_register_and_query_over_rpc(rpc: Any, community_id: str) -> None:
    created = rpc.register_beneficiary(person(community_id))
    assert created["version"] == 1
    assert rpc.get_beneficiary(created["id"])["last_names"] == "Ipuana"
    national = created["national_id"]
    assert rpc.get_by_national_id(national["type"], national["number"])["id"] == created["id"]


def test_bad_input_is_a_remote_validation_error_and_the_service_keeps_serving(rpc: Any, community_id: str) -> None:
    with pytest.raises(RemoteError) as err:
        rpc.register_beneficiary(person(community_id, birth_date="mañana", sex="x"))
    assert err.value.exc_type == "ValidationFailed"
    assert "birth_date" in err.value.value and "sex" in err.value.value
    with pytest.raises(RemoteError) as err:
        rpc.store_biometric_template("nobody", "right_index", "not-hex")
    assert err.value.exc_type == "ValidationFailed"
    assert rpc.register_beneficiary(person(community_id))["id"]


def test_rpc_without_a_valid_caller_assertion_is_refused(stack: Stack, community_id: str) -> None:
    unsigned = {"crm-subject": "intruder", "crm-role": "gestor"}
    for context in ({}, unsigned, {"crm-caller": "garbage"}):
        with (
            ClusterRpcProxy({"AMQP_URI": stack.env["AMQP_URI"]}, context_data=context, timeout=20) as anonymous,
            pytest.raises(RemoteError) as err,
        ):
            anonymous.beneficiaries.register_beneficiary(person(community_id))
        assert err.value.exc_type == "PermissionDenied", context


def test_events_build_the_person_and_family_timeline(rpc: Any, community_id: str) -> None:
    family = rpc.register_family(community_id, "Hogar Ipuana", "Lote 4")
    head = rpc.register_beneficiary(person(community_id, family_id=family["id"], relationship="head"))
    rpc.record_consent(head["id"], "notifications")
    rpc.withdraw_consent(head["id"], "notifications")

    eventually(lambda: len(rpc.timeline("beneficiary", head["id"])) >= 3)
    kinds = sorted(e["kind"] for e in rpc.timeline("beneficiary", head["id"]))
    assert kinds == ["beneficiary_registered", "consent_changed", "consent_changed"]
    eventually(lambda: len(rpc.timeline("family", family["id"])) >= 2)
    family_kinds = {e["kind"] for e in rpc.timeline("family", family["id"])}
    assert family_kinds == {"family_registered", "member_joined"}


def test_acta_sealed_events_reach_every_participant_once_even_when_redelivered(
    rpc: Any, stack: Stack, community_id: str
) -> None:
    family = rpc.register_family(community_id, "Hogar Acta", "")
    a = rpc.register_beneficiary(person(community_id, family_id=family["id"], relationship="head"))
    b = rpc.register_beneficiary(person(community_id, family_id=family["id"], relationship="child"))
    payload = sealed(
        acta_id=f"acta-{uuid.uuid4().hex[:8]}",
        title="Visita domiciliaria",
        sealed_at=datetime.now(UTC).isoformat(),
        participants=[
            {"beneficiary_id": a["id"], "family_id": family["id"]},
            {"beneficiary_id": b["id"], "family_id": family["id"]},
        ],
        family_ids=[family["id"]],
    )
    publisher = EventPublisher(stack.env["AMQP_URI"], "actas")
    event_id = uuid.uuid4().hex
    try:
        publisher.publish("acta_sealed", payload, event_id=event_id)
        publisher.publish("acta_sealed", payload, event_id=event_id)  # at-least-once: a redelivery
    finally:
        publisher.close()

    def acta_entries(kind: str, subject: str) -> list[dict[str, Any]]:
        return [e for e in rpc.timeline(kind, subject) if e["kind"] == "acta_sealed"]

    for kind, subject in (("beneficiary", a["id"]), ("beneficiary", b["id"]), ("family", family["id"])):
        entries = eventually(functools.partial(acta_entries, kind, subject))
        assert len(entries) == 1
        assert entries[0]["summary"] == "Acta firmada: Visita domiciliaria"
        assert entries[0]["source_id"] == payload["acta_id"]


def test_events_are_published_in_nameko_format_after_the_write(rpc: Any, stack: Stack, community_id: str) -> None:
    exchange = Exchange("beneficiaries.events", type="topic", durable=True)
    queue = Queue(
        f"test-observer-{uuid.uuid4().hex[:6]}",
        exchange,
        routing_key="beneficiary_registered",
        auto_delete=True,
    )
    received: list[Any] = []

    def on_message(body: Any, message: Any) -> None:
        received.append((body, message.headers))
        message.ack()

    with Connection(stack.env["AMQP_URI"]) as conn, conn.Consumer(queue, callbacks=[on_message]):
        created = rpc.register_beneficiary(person(community_id))
        deadline = 50
        while deadline and not any(b.get("beneficiary_id") == created["id"] for b, _ in received):
            try:
                conn.drain_events(timeout=0.2)
            except TimeoutError:
                deadline -= 1
    body, headers = next((b, h) for b, h in received if b.get("beneficiary_id") == created["id"])
    assert body["event_id"] and headers["nameko.event_id"] == body["event_id"]
    assert body["national_id"] == created["national_id"]
    assert "biometrics" not in body and "consents" not in body
