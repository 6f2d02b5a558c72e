"""End to end through the gateway with the kiosk's own code: a coordinator issues a
one-time pairing code, the kiosk pairs with it, syncs its community, enrols a
fingerprint on the simulated sensor (driven by the real pyfingerprint), signs an
acta offline with it, forwards it through its outbox and RabbitMQ to be sealed on
the platform, and is locked out once revoked."""

from __future__ import annotations

import hashlib
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from crm_platform.proto_gen.crm.actas.v1 import submission_pb2 as sub_pb
from devstack.infra import Stack
from edge_agent import acta_flow, flows
from edge_agent.forwarder import Forwarder
from edge_agent.http_client import PlatformClient, Unauthorized
from edge_agent.local_store import LocalStore
from edge_agent.outbox import Outbox
from edge_agent.publisher import KombuPublisher
from edge_agent.reader import FingerprintReader, ReaderConfig
from edge_agent.sensor import PtySensor
from services.actas.entrypoints.proto_mapping import decode_submission
from tests.e2e.conftest import PASSWORD, new_person
from tests.helpers import eventually
from tests.kiosk_support import Hand, png

API = "/api/v1"
FINGER = "wilmer:indice_derecho"


@pytest.fixture(scope="module")
def gestor(http: httpx.Client, as_role: dict[str, dict[str, str]]) -> str:
    name = f"gestor-kiosco-{uuid.uuid4().hex[:6]}"
    r = http.post(
        f"{API}/users", headers=as_role["admin"], json={"username": name, "password": PASSWORD, "role": "gestor"}
    )
    assert r.status_code == 201, r.text
    return name


def test_a_kiosk_pairs_syncs_enrols_signs_offline_and_is_locked_out_when_revoked(
    stack: Stack,
    http: httpx.Client,
    as_role: dict[str, dict[str, str]],
    community: dict[str, Any],
    gestor: str,
    tmp_path: Path,
) -> None:
    person = http.post(f"{API}/beneficiaries", headers=as_role["gestor"], json=new_person(community["id"])).json()
    device_id = f"kiosco-{uuid.uuid4().hex[:6]}"
    url = stack.urls["gateway"]
    issued = http.post(f"{API}/pairing-codes", headers=as_role["coordinator"], json={"community_id": community["id"]})
    assert issued.status_code == 201, issued.text
    code = issued.json()["code"]
    with LocalStore(tmp_path / "kiosk") as store, PlatformClient(url) as client:
        paired = flows.pair(client, store, platform_url=url, code=code, device_id=device_id)
        assert paired.already_registered is False and paired.community_id == community["id"]
        assert flows.pair(client, store, platform_url=url, code=code, device_id=device_id).already_registered, (
            "pairing again with the same code and key is harmless"
        )

        report = flows.sync_down(client, store)
        assert report.templates >= 6 and report.problems == []
        assert store.person(person["id"]) is not None and store.acta_template("asamblea_comunitaria@1") is not None

        with PtySensor() as sensor:
            config = ReaderConfig(port=sensor.port, finger_timeout=5.0, poll_interval=0.01)
            with FingerprintReader.open(config) as reader:
                enrolled = flows.enrol_beneficiary(
                    client,
                    store,
                    reader,
                    gestor=client.login(gestor, PASSWORD),
                    beneficiary_id=person["id"],
                    finger="right_index",
                    consent_given=True,
                    prompt=Hand(sensor, FINGER, FINGER),
                )
                # The platform now serves the very template the kiosk captured.
                assert flows.sync_down(client, store).fingerprints >= 1
                stored = store.template(person["id"], "right_index")
                assert stored is not None and stored.template_sha256 == enrolled.template_sha256

                values = {
                    "fecha": "2026-11-20",
                    "lugar": "Salón comunal",
                    "orden_del_dia": "Entrega de kits",
                    "decisiones": "Se entregan el sábado",
                    "quorum": "si",
                    "asistentes": 12,
                    "firmantes": [person["id"]],
                }
                draft = acta_flow.start_acta(store, "asamblea_comunitaria@1", values, gestor)
                sensor_id = f"{device_id}/{reader.identity}"
                acta_flow.sign_with_fingerprint(
                    store, reader, draft, person["id"], Hand(sensor, FINGER), sensor_id=sensor_id
                )
        acta_flow.sign_handwritten(store, draft, gestor, png(), role=acta_flow.GESTOR)
        with Outbox(tmp_path / "outbox.db") as outbox:
            submission_id = acta_flow.finish_acta(store, outbox, draft)
            (entry,) = outbox.entries()
            content = decode_submission(sub_pb.KioskSubmission.FromString(entry.envelope).body)
            evidence = content.signatures[0].fingerprint
            assert evidence is not None and evidence.template_sha256 == enrolled.template_sha256
            assert evidence.template_sha256 == hashlib.sha256(stored.data).hexdigest()

            # Back online: the forwarder drains the outbox to the bus and the platform seals the acta.
            forwarder = Forwarder(outbox, KombuPublisher(stack.env["AMQP_URI"]))
            drained = forwarder.run(until_empty=True, deadline=time.monotonic() + 60)
            assert drained.sent == 1 and outbox.status().sent == 1

        def sealed() -> list[dict[str, Any]]:
            reply = http.get(f"{API}/actas", headers=as_role["admin"], params={"beneficiary_id": person["id"]})
            return [a for a in reply.json()["actas"] if a.get("submission_id") == submission_id]

        (acta,) = eventually(sealed, timeout=30)
        assert acta["status"] == "sealed" and acta["source"] == "kiosk" and acta["device_id"] == device_id
        fingerprint = acta["signatures"][0]["fingerprint"]
        assert fingerprint["template_sha256"] == enrolled.template_sha256  # an admin sees template hashes
        assert (fingerprint["verification"], fingerprint["device_id"]) == ("device", device_id)

        # The fleet page's last sync: the seal of the newest submission, counted once.
        (listed,) = [d for d in http.get(f"{API}/devices", headers=as_role["coordinator"]).json()["devices"]
                     if d["id"] == device_id]  # fmt: skip
        assert listed["submissions"] == 1 and listed["last_submission_at"] == acta["sealed_at"]

        revoked = http.delete(f"{API}/devices/{device_id}", headers=as_role["coordinator"])
        assert revoked.status_code == 200, revoked.text
        with pytest.raises(Unauthorized):
            flows.sync_down(client, store)
