"""``make demo``, kiosk part: a field kiosk with the simulated fingerprint reader
(driven by the real pyfingerprint) pairs, syncs its community, enrols a finger,
captures an acta with no connection, then forwards it from its outbox through
RabbitMQ; the platform verifies and seals it."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from devstack.demo_actas import Check, Expect, signature_png
from edge_agent import acta_flow, flows
from edge_agent.forwarder import Forwarder
from edge_agent.http_client import PlatformClient
from edge_agent.local_store import LocalStore
from edge_agent.outbox import Outbox
from edge_agent.publisher import KombuPublisher
from edge_agent.reader import FingerprintReader, Prompt, ReaderConfig
from edge_agent.sensor import PtySensor

FINGER = "maria-fernanda:indice_derecho"


class _Person:
    """The beneficiary at the reader: puts the finger on when asked, lifts it when told."""

    def __init__(self, sensor: PtySensor, finger: str) -> None:
        self.sensor, self.finger = sensor, finger

    def __call__(self, prompt: Prompt) -> None:
        if prompt is Prompt.REMOVE_FINGER:
            self.sensor.lift()
        elif prompt.wants_finger:
            self.sensor.press(self.finger)


def steps(
    http: httpx.Client, state: dict[str, Any], check: Check, expect: Expect, gateway: str, amqp_uri: str, password: str
) -> list[tuple[str, Callable[[], None]]]:
    def offline_acta() -> None:
        with tempfile.TemporaryDirectory(prefix="crm-demo-kiosk-") as tmp:
            kiosk_session(Path(tmp))

    def kiosk_session(workdir: Path) -> None:
        child, community = state["child"], state["community"]
        # A coordinator approves the kiosk: a one-time code for the community, typed on the kiosk.
        issued = expect(
            http.post("/api/v1/pairing-codes", headers=state["coordinator"], json={"community_id": community["id"]}),
            201,
        )
        with (
            LocalStore(workdir / "kiosk") as store,
            PlatformClient(gateway) as platform,
            PtySensor() as sensor,
            FingerprintReader.open(ReaderConfig(port=sensor.port, finger_timeout=5.0, poll_interval=0.01)) as reader,
            Outbox(workdir / "outbox.db") as outbox,
        ):
            flows.pair(
                platform,
                store,
                platform_url=gateway,
                code=issued["code"],
                device_id="kiosco-roche-01",
            )
            flows.sync_down(platform, store)
            flows.enrol_beneficiary(
                platform,
                store,
                reader,
                gestor=platform.login("gestor1", password),
                beneficiary_id=child["id"],
                finger="right_index",
                consent_given=True,
                prompt=_Person(sensor, FINGER),
            )
            flows.sync_down(platform, store)
            # From here on the kiosk needs no connection.
            draft = acta_flow.start_acta(
                store,
                "capacitacion@1",
                {
                    "fecha": "2026-11-22",
                    "lugar": "Salón comunal de Nuevo Roche",
                    "tema": "Educación financiera: ahorro del hogar",
                    "eje": "educacion_financiera",
                    "duracion_horas": 2,
                    "asistentes": 14,
                    "firmantes": [child["id"]],
                },
                "gestor1",
            )
            acta_flow.sign_with_fingerprint(
                store,
                reader,
                draft,
                child["id"],
                _Person(sensor, FINGER),
                sensor_id=f"kiosco-roche-01/{reader.identity}",
            )
            acta_flow.sign_handwritten(store, draft, "gestor1", signature_png(), role=acta_flow.GESTOR)
            state["kiosk_submission"] = acta_flow.finish_acta(store, outbox, draft)
            check(outbox.status().queued == 1, "el acta no quedó en la bandeja de salida")
            # Back online.
            drained = Forwarder(outbox, KombuPublisher(amqp_uri)).run(until_empty=True, deadline=time.monotonic() + 60)
            check(drained.sent == 1, "el reenviador no entregó el acta al bus")

    def sealed_on_platform() -> None:
        deadline = time.monotonic() + 30
        found: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not found:
            reply = expect(
                http.get("/api/v1/actas", headers=state["gestor"], params={"beneficiary_id": state["child"]["id"]}), 200
            )
            found = [a for a in reply["actas"] if a.get("submission_id") == state["kiosk_submission"]]
            time.sleep(0.3)
        check(bool(found) and found[0]["status"] == "sealed", "la plataforma no selló el acta del quiosco")
        evidence = found[0]["signatures"][0]["fingerprint"]
        check(int(evidence["score"]) >= 50, "la evidencia de la huella no trae el puntaje")

    return [
        (
            "Quiosco: emparejado con código, huella enrolada; acta firmada sin conexión y reenviada al bus",
            offline_acta,
        ),
        ("La plataforma verificó la firma del quiosco y la huella, y selló el acta", sealed_on_platform),
    ]
