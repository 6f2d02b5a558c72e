"""A kiosk's last sync on the real SecantusDB: each sealed submission moves its
device's ``last_submission_at`` forward (never back) and counts once, in the seal's
own transaction, so a redelivered submission changes neither."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pymongo
import pytest

from devstack.infra import Stack
from services.actas.adapters import repository
from services.actas.domain.model import Acta, Method, Participant, Role, Signature, Source
from services.actas.domain.sealing import Sealing
from services.actas.domain.submission import Device
from services.actas.service_layer.ports import DuplicateSubmission, RegisteredDevice

DEVICE = "quiosco-roche-1"
T0 = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def repo(stack: Stack) -> Iterator[repository.MongoRepository]:
    name = f"actas_devices_{uuid.uuid4().hex[:8]}"
    repository.connect(stack.env["MONGO_URI"], name)
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(stack.env["MONGO_URI"], tz_aware=True)
    try:
        store = repository.MongoRepository()
        store.add_device(RegisteredDevice(Device(DEVICE, "a2V5"), "c1", "Quiosco de Roche", "coordinadora", T0))
        yield store
    finally:
        client.drop_database(name)
        client.close()
        repository.disconnect()


def _kiosk_acta(submission_id: str, at: datetime) -> Acta:
    acta = Acta(
        id=uuid.uuid4().hex,
        template_key="visita_domiciliaria@1",
        title="Acta",
        values={},
        participants=[Participant("p1", "f1", "Persona Uno", "CC 1")],
        gestor_id="ana",
        community_id="c1",
        captured_at=at,
        created_at=at,
        source=Source.KIOSK,
        device_id=DEVICE,
        submission_id=submission_id,
    )
    acta.add_signature(Signature("p1", Role.PARTICIPANT, Method.REFUSED, at, refusal_reason="No firma"))
    acta.add_signature(Signature("ana", Role.GESTOR, Method.ELECTRONIC, at))
    return acta


def _ingest(repo: repository.MongoRepository, submission_id: str, sealed_at: datetime) -> None:
    acta = _kiosk_acta(submission_id, sealed_at - timedelta(minutes=5))
    repo.ingest(acta, Sealing(acta, sealed_at), {}, f"sha-{submission_id}")


def test_a_device_starts_without_a_last_sync(repo: repository.MongoRepository) -> None:
    device = repo.get_device(DEVICE)
    assert device is not None and device.last_submission_at is None and device.submissions == 0


def test_each_sealed_submission_moves_the_last_sync_forward_and_a_redelivery_counts_nothing(
    repo: repository.MongoRepository,
) -> None:
    _ingest(repo, "s1", T0 + timedelta(hours=1))
    with pytest.raises(DuplicateSubmission):
        _ingest(repo, "s1", T0 + timedelta(hours=3))
    device = repo.get_device(DEVICE)
    assert device is not None and device.submissions == 1
    assert device.last_submission_at == T0 + timedelta(hours=1)

    _ingest(repo, "s2", T0 + timedelta(hours=2))
    _ingest(repo, "s3", T0 + timedelta(minutes=30))  # sealed by a slower worker: not "later"
    device = repo.get_device(DEVICE)
    assert device is not None and device.submissions == 3
    assert device.last_submission_at == T0 + timedelta(hours=2)
