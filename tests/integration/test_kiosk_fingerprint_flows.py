"""The kiosk's fingerprint flows with the real, unmodified pyfingerprint 1.5 driving
the software sensor on a pty: enrolment, 1:1 verification, 1:N identification,
retries, a password-protected sensor, and a complete signed submission that the
actas service's own decoding, signature check and ingestion accept.

No RabbitMQ or databases: these tests never request the ``stack`` fixture.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from crm_platform.proto_gen.crm.actas.v1 import submission_pb2 as sub_pb
from edge_agent import acta_flow, flows
from edge_agent.keys import load_device_key, load_or_create_device_key, public_key_b64
from edge_agent.local_store import LocalStore, OwnerKind, Pairing, Template
from edge_agent.reader import CaptureFailed, FingerprintReader, Prompt, ReaderConfig, ReaderUnavailable
from edge_agent.sensor import PtySensor, SensorConfig
from services.actas.domain.model import Actor, Method, Status
from services.actas.domain.submission import Device, verify
from services.actas.entrypoints.proto_mapping import decode_kiosk_message, decode_submission
from services.actas.service_layer.handlers import ActaHandlers
from services.actas.service_layer.ports import Person
from tests.actas_support import FakeDirectory
from tests.kiosk_support import Hand, catalogue_json, png, visit_values
from tests.unit.actas_fakes import FakeActaRepository, OutboxRelay, SettableClock

ANA = "ana:indice_derecho"
LUIS = "luis:pulgar_izquierdo"
ROSA = "rosa:indice_izquierdo"
GESTORA = "gestora:indice_derecho"
PASSWORD = 0x5EC12E7
DEVICE_ID = "kiosco-roche-01"


def open_reader(sensor: PtySensor, password: int = 0, **overrides: Any) -> FingerprintReader:
    config = ReaderConfig(port=sensor.port, password=password, finger_timeout=5.0, poll_interval=0.01)
    return FingerprintReader.open(replace(config, **overrides))


@pytest.fixture
def sensor() -> Iterator[PtySensor]:
    with PtySensor() as running:
        yield running


@pytest.fixture
def reader(sensor: PtySensor) -> Iterator[FingerprintReader]:
    with open_reader(sensor) as opened:
        yield opened


def enrolled_template(finger: str, seed: int = 1) -> bytes:
    """A template enrolled on another kiosk (its own capture noise), as the platform stores it."""
    with PtySensor(SensorConfig(seed=seed)) as other, open_reader(other) as reader:
        return reader.enrol(Hand(other, finger, finger), store=False).template


def test_enrolment_takes_two_separate_captures_and_stores_a_512_byte_template_on_the_sensor(
    sensor: PtySensor, reader: FingerprintReader
) -> None:
    hand = Hand(sensor, ANA, ANA)
    enrolment = reader.enrol(hand)
    assert len(enrolment.template) == 512 and enrolment.position == 0
    assert reader.template_count() == 1
    assert hand.prompts == [
        Prompt.PLACE_FINGER,
        Prompt.REMOVE_FINGER,
        Prompt.PLACE_SAME_FINGER_AGAIN,
        Prompt.REMOVE_FINGER,
    ]


def test_the_enrolled_finger_verifies_1_1_with_a_score_and_another_finger_scores_zero(
    sensor: PtySensor, reader: FingerprintReader
) -> None:
    template = enrolled_template(ANA)
    assert reader.verify_1_1(template, Hand(sensor, ANA)) >= acta_flow.MIN_SCORE
    assert reader.verify_1_1(template, Hand(sensor, LUIS)) == 0


def test_poor_and_messy_captures_are_retried_with_a_spanish_prompt_until_a_good_one(
    sensor: PtySensor, reader: FingerprintReader
) -> None:
    template = enrolled_template(ANA)
    hand = Hand(sensor, (ANA, "poor"), (ANA, "messy"), ANA)
    assert reader.verify_1_1(template, hand) >= acta_flow.MIN_SCORE
    asked = [p for p in hand.prompts if p.wants_finger]
    assert asked == [Prompt.PLACE_FINGER, Prompt.POOR_CAPTURE, Prompt.MESSY_CAPTURE]
    assert "huella" in Prompt.POOR_CAPTURE.value


def test_captures_that_stay_poor_give_up_after_the_configured_attempts(sensor: PtySensor) -> None:
    template = enrolled_template(ANA)
    with open_reader(sensor, max_attempts=2) as reader, pytest.raises(CaptureFailed, match="2 intentos"):
        reader.verify_1_1(template, Hand(sensor, (ANA, "poor"), (ANA, "poor")))


def test_enrolment_scans_of_different_fingers_start_over_and_then_succeed(
    sensor: PtySensor, reader: FingerprintReader
) -> None:
    hand = Hand(sensor, ANA, LUIS, ANA, ANA)
    enrolment = reader.enrol(hand)
    assert Prompt.SCANS_DIFFER in hand.prompts
    assert reader.verify_1_1(enrolment.template, Hand(sensor, ANA)) >= acta_flow.MIN_SCORE


def test_identification_1_n_finds_the_person_in_the_sensor_library(
    sensor: PtySensor, reader: FingerprintReader
) -> None:
    positions = reader.replace_library([enrolled_template(LUIS), enrolled_template(ANA), enrolled_template(ROSA)])
    assert positions == [0, 1, 2] and reader.template_count() == 3
    position, score = reader.identify_1_n(Hand(sensor, ANA))
    assert position == 1 and score >= acta_flow.MIN_SCORE
    assert reader.identify_1_n(Hand(sensor, "desconocido:pulgar")) == (-1, 0)


def test_a_password_protected_sensor_works_with_the_right_password_and_refuses_a_wrong_one() -> None:
    with PtySensor(SensorConfig(password=PASSWORD)) as sensor:
        with pytest.raises(ReaderUnavailable, match="contraseña"):
            open_reader(sensor, password=0x1234)
        with open_reader(sensor, password=PASSWORD) as reader:
            enrolment = reader.enrol(Hand(sensor, ANA, ANA))
            assert reader.verify_1_1(enrolment.template, Hand(sensor, ANA)) >= acta_flow.MIN_SCORE


def test_a_reader_on_the_wrong_address_is_refused_with_a_hint(sensor: PtySensor) -> None:
    with pytest.raises(ReaderUnavailable, match="sensor-address"):
        open_reader(sensor, address=0x00000001)


# -- a whole acta, signed on the kiosk and accepted by the actas service -------------------------
@pytest.fixture
def kiosk(tmp_path: Path) -> Iterator[LocalStore]:
    """A paired, synced kiosk whose community is Ana, Luis and Rosa (Ana and Luis enrolled)."""
    with LocalStore(tmp_path / "kiosk") as store:
        load_or_create_device_key(store.data_dir)
        store.save_pairing(Pairing(DEVICE_ID, "com-1", "http://plataforma.invalid"))
        store.set_location((11.0041, -72.9251, 15.0))
        people, templates, problems = flows.parse_roster(
            [
                {"id": "ana", "first_names": "Ana", "last_names": "Epiayú", "family_id": "fam-1", "biometrics": []},
                {"id": "luis", "first_names": "Luis", "last_names": "Uriana", "family_id": "fam-1"},
                {"id": "rosa", "first_names": "Rosa", "last_names": "Pushaina", "family_id": "fam-1"},
            ]
        )
        assert not problems
        templates = [
            Template(OwnerKind.BENEFICIARY, owner, finger, hashlib.sha256(data).hexdigest(), data)
            for owner, finger, data in (
                ("ana", "right_index", enrolled_template(ANA)),
                ("luis", "left_thumb", enrolled_template(LUIS, seed=2)),
            )
        ]
        store.apply_sync(catalogue_json(), people, templates, datetime.now(UTC))
        yield store


def test_a_visit_signed_by_fingerprint_1_1_1_n_refusal_and_the_gestor_verifies_and_is_ingested(
    sensor: PtySensor, reader: FingerprintReader, kiosk: LocalStore
) -> None:
    hand = Hand(sensor)
    flows.enrol_gestor(
        kiosk, reader, username="gestora.maria", finger="right_index", prompt=hand.then(GESTORA, GESTORA)
    )
    draft = acta_flow.start_acta(kiosk, "visita_domiciliaria@1", visit_values(["ana", "luis", "rosa"]), "gestora.maria")
    sensor_id = f"{DEVICE_ID}/{reader.identity}"

    acta_flow.sign_with_fingerprint(kiosk, reader, draft, "ana", hand.then(ANA), sensor_id=sensor_id)
    with pytest.raises(acta_flow.NoMatch):  # Rosa is not Luis, and is not enrolled
        acta_flow.sign_with_fingerprint(kiosk, reader, draft, "luis", hand.then(ROSA), sensor_id=sensor_id)
    acta_flow.sign_by_identification(kiosk, reader, draft, hand.then(LUIS), sensor_id=sensor_id)
    acta_flow.record_refusal(draft, "rosa", "Prefiere no firmar hoy")
    acta_flow.gestor_signs_with_fingerprint(kiosk, reader, draft, hand.then(GESTORA), sensor_id=sensor_id)
    envelope = acta_flow.seal(
        draft, device_id=DEVICE_ID, key=load_device_key(kiosk.data_dir), community_id="com-1", location=kiosk.location()
    )

    # What the actas service does with the envelope it takes off the bus.
    message = sub_pb.KioskSubmission.FromString(envelope)
    key = load_device_key(kiosk.data_dir)
    verify(message.body, message.signature, Device(DEVICE_ID, public_key_b64(key)))
    content = decode_submission(message.body)
    assert content.submission_id == draft.submission_id and content.device_id == DEVICE_ID
    assert content.location is not None and content.location.lat == pytest.approx(11.0041)
    ana, luis, rosa, gestora = content.signatures
    ana_template = kiosk.template("ana", "right_index")
    assert ana_template is not None
    assert ana.fingerprint is not None and ana.fingerprint.score >= 50
    assert ana.fingerprint.template_sha256 == hashlib.sha256(ana_template.data).hexdigest()
    assert (ana.fingerprint.finger, ana.fingerprint.mode) == ("right_index", "verify_1_1")
    assert ana.fingerprint.sensor_id == sensor_id
    assert luis.fingerprint is not None and luis.fingerprint.mode == "identify_1_n"
    assert luis.fingerprint.finger == "left_thumb"
    assert (rosa.method, rosa.refusal_reason) == (Method.REFUSED, "Prefiere no firmar hoy")
    assert (gestora.signer_id, str(gestora.role), gestora.method) == ("gestora.maria", "gestor", Method.FINGERPRINT)

    enrolled = {t.owner: {t.finger: t.template_sha256} for t in kiosk.all_templates()}
    directory = FakeDirectory(
        [
            Person(pid, "fam-1", "com-1", pid.title(), f"CC {n}", enrolled.get(pid, {}))
            for n, pid in enumerate(("ana", "luis", "rosa"))
        ]
    )
    repo = FakeActaRepository()
    handlers = ActaHandlers(repo, directory, OutboxRelay(repo), SettableClock(datetime.now(UTC)), min_match_score=50)
    handlers.register_device(DEVICE_ID, public_key_b64(key), "com-1", "Quiosco de prueba", Actor("admin1", "admin"))
    result = handlers.ingest(decode_kiosk_message(message.SerializeToString()))
    acta = handlers.get(result.acta_id)
    assert result.duplicate is False and acta.status == Status.SEALED
    assert acta.submission_id == draft.submission_id and acta.community_id == "com-1"


def test_a_handwritten_participant_and_gestor_also_make_a_valid_submission(kiosk: LocalStore) -> None:
    draft = acta_flow.start_acta(kiosk, "visita_domiciliaria@1", visit_values(["rosa"]), "gestora.maria")
    acta_flow.sign_handwritten(kiosk, draft, "rosa", png())
    acta_flow.sign_handwritten(kiosk, draft, "gestora.maria", png((80, 30)), role=acta_flow.GESTOR)
    message = sub_pb.KioskSubmission.FromString(
        acta_flow.seal(draft, device_id=DEVICE_ID, key=load_device_key(kiosk.data_dir))
    )
    content = decode_submission(message.body)
    assert [s.method for s in content.signatures] == [Method.HANDWRITTEN, Method.HANDWRITTEN]
