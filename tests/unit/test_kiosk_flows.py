"""The kiosk's use cases (pair, sync, enrol, fill and sign an acta) over a fake
gateway (httpx.MockTransport speaking the platform's HTTP contract), a fake reader,
and the real local SQLite store in a temporary directory."""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import sqlite3
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from crm_platform.proto_gen.crm.actas.v1 import submission_pb2 as sub_pb
from edge_agent import acta_flow, flows, kiosk_cli
from edge_agent.http_client import PlatformClient, Unauthorized, session_message
from edge_agent.keys import KeyFileError, load_device_key, load_or_create_device_key
from edge_agent.local_store import LocalStore, OwnerKind, Pairing, StoreError
from edge_agent.reader import Enrolment, Prompter
from services.actas.domain.model import Method
from services.actas.domain.submission import Device, verify
from services.actas.entrypoints.proto_mapping import decode_submission
from tests.kiosk_support import catalogue_json, png, roster_entry, visit_values

ANA_T = b"SIMF" + bytes(range(254)) * 2 + b"an"
LUIS_T = b"SIMF" + bytes(reversed(range(254))) * 2 + b"lu"
GESTOR_T = b"SIMF" + b"\x07" * 508
NEW_T = b"SIMF" + b"\x42" * 508
URL = "http://plataforma.test"


# -- the fake gateway ------------------------------------------------------------------------------
@dataclass
class FakeGateway:
    """The gateway's kiosk contract, in memory; ``calls`` records (method, path)."""

    users: dict[str, str] = field(default_factory=lambda: {"gestora.maria": "clave-segura"})
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)
    # One-time pairing codes a coordinator issued: code -> community; used codes -> (device, key).
    codes: dict[str, str] = field(default_factory=lambda: {"ABCD-EFGH": "com-1", "HJKM-NPQR": "com-1"})
    used: dict[str, tuple[str, str]] = field(default_factory=dict)
    roster: list[dict[str, Any]] = field(default_factory=list)
    templates: list[dict[str, Any]] = field(default_factory=catalogue_json)
    consents: set[str] = field(default_factory=set)
    biometrics: dict[tuple[str, str], bytes] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    offline: bool = False

    def client(self) -> PlatformClient:
        return PlatformClient(URL, transport=httpx.MockTransport(self.handle))

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.offline:
            raise httpx.ConnectError("Network is unreachable", request=request)
        path = request.url.path.removeprefix("/api/v1")
        self.calls.append((request.method, path))
        body = json.loads(request.content) if request.content else {}
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if path == "/auth/login":
            if self.users.get(body["username"]) != body["password"]:
                return _error(401, "Usuario o contraseña incorrectos")
            return httpx.Response(200, json={"access_token": f"staff:{body['username']}", "role": "gestor"})
        if path == "/kiosk/session":
            return self._session(body)
        if path == "/kiosk/pairing":
            return self._pair(body)
        if token.startswith("staff:"):
            return self._staff(request.method, path, body)
        if token.startswith("kiosk:") and self.devices.get(token[6:], {}).get("revoked") is False:
            if path == "/acta-templates":
                return httpx.Response(200, json={"templates": self.templates})
            if path == "/kiosk/roster":
                return httpx.Response(200, json={"beneficiaries": self.roster})
        return _error(401, "No autenticado")

    def _staff(self, method: str, path: str, body: dict[str, Any]) -> httpx.Response:
        if path == "/devices":
            if body["id"] in self.devices:
                return _error(409, "Ya existe un dispositivo con ese identificador")
            self.devices[body["id"]] = {**body, "revoked": False}
            return httpx.Response(201, json={"id": body["id"]})
        person = path.split("/")[2]
        if path.endswith("/consents"):
            self.consents.add(person)
            return httpx.Response(200, json={"id": person})
        if path.endswith("/biometrics"):
            if person not in self.consents:
                return _error(409, "No ha dado consentimiento para datos biométricos")
            template = base64.b64decode(body["template_base64"])
            self.biometrics[(person, body["finger"])] = template
            return httpx.Response(201, json={"template_sha256": hashlib.sha256(template).hexdigest()})
        return _error(404, "No encontrado")

    def _pair(self, body: dict[str, Any]) -> httpx.Response:
        code, device_id, key = body["code"], body["device_id"], body["public_key"]
        if code not in self.codes or self.used.get(code, (device_id, key)) != (device_id, key):
            return _error(401, "Código de emparejamiento inválido, vencido o ya usado")
        if code in self.used:
            return httpx.Response(201, json=self.devices[device_id])
        if device_id in self.devices:
            return _error(409, "El quiosco ya está registrado")
        self.used[code] = (device_id, key)
        self.devices[device_id] = {
            "id": device_id,
            "public_key": key,
            "community_id": self.codes[code],
            "revoked": False,
        }
        return httpx.Response(201, json=self.devices[device_id])

    def _session(self, body: dict[str, Any]) -> httpx.Response:
        device = self.devices.get(body["device_id"])
        issued = datetime.fromisoformat(body["issued_at"])
        if device is None or device["revoked"] or abs(datetime.now(UTC) - issued) > timedelta(minutes=5):
            return _error(401, "Quiosco no autorizado")
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(device["public_key"]))
        try:
            key.verify(
                base64.b64decode(body["signature_base64"]), session_message(body["device_id"], body["issued_at"])
            )
        except InvalidSignature:
            return _error(401, "Quiosco no autorizado")
        return httpx.Response(200, json={"access_token": f"kiosk:{body['device_id']}", "role": "kiosk"})


def _error(status: int, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": message})


@dataclass
class FakeReader:
    """The reader, as the flows see it: scripted enrolment templates, and a finger on the
    glass that matches (score 200) only the template it was enrolled as."""

    enrolments: list[bytes] = field(default_factory=list)
    placed: list[bytes] = field(default_factory=list)
    library: list[bytes] = field(default_factory=list)
    loads: int = 0
    identity: str = "zfm-ffffffff-1000"

    def enrol(self, prompt: Prompter, *, store: bool = True) -> Enrolment:
        template = self.enrolments.pop(0)
        if store:
            self.library.append(template)
        return Enrolment(template, len(self.library) - 1 if store else -1)

    def verify_1_1(self, template: bytes, prompt: Prompter) -> int:
        return 200 if self.placed.pop(0) == template else 0

    def identify_1_n(self, prompt: Prompter) -> tuple[int, int]:
        finger = self.placed.pop(0)
        return (self.library.index(finger), 210) if finger in self.library else (-1, 0)

    def replace_library(self, templates: Sequence[bytes]) -> list[int]:
        self.loads += 1
        self.library = list(templates)
        return list(range(len(templates)))

    def template_count(self) -> int:
        return len(self.library)


class FakeOutbox:
    def __init__(self) -> None:
        self.queued: dict[str, bytes] = {}

    def enqueue(self, submission_id: str, envelope: bytes) -> bool:
        assert self.queued.setdefault(submission_id, envelope) == envelope, "same id, different content"
        return True


def ignore(_: object) -> None:
    return None


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway(
        roster=[
            roster_entry("ana", "Ana", "Epiayú", templates={"right_index": ANA_T}),
            roster_entry("luis", "Luis", "Uriana", templates={"left_thumb": LUIS_T}),
            roster_entry("rosa", "Rosa", "Pushaina", can_sign=False),
            roster_entry("pedro", "Pedro", "Ipuana", family_id="fam-2"),
        ]
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LocalStore]:
    with LocalStore(tmp_path / "kiosk") as opened:
        yield opened


def paired(
    gateway: FakeGateway, store: LocalStore, device_id: str = "kiosco-01", code: str = "ABCD-EFGH"
) -> flows.PairingResult:
    with gateway.client() as client:
        return flows.pair(client, store, platform_url=URL, code=code, device_id=device_id)


def synced(gateway: FakeGateway, store: LocalStore) -> flows.SyncReport:
    paired(gateway, store)
    with gateway.client() as client:
        return flows.sync_down(client, store)


# -- pairing --------------------------------------------------------------------------------------
def test_pairing_keeps_the_device_key_owner_only_and_registers_its_raw_public_key(
    gateway: FakeGateway, store: LocalStore
) -> None:
    result = paired(gateway, store)

    key_file = store.data_dir / "device_key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    registered = gateway.devices["kiosco-01"]
    assert registered["public_key"] == result.public_key_b64 and registered["community_id"] == "com-1"
    assert len(base64.b64decode(registered["public_key"])) == 32
    assert store.pairing() == Pairing("kiosco-01", "com-1", URL) and result.already_registered is False


def test_pairing_again_with_the_same_code_after_a_lost_reply_carries_on(
    gateway: FakeGateway, store: LocalStore
) -> None:
    first = paired(gateway, store)
    again = paired(gateway, store)
    assert again.already_registered is True and again.public_key_b64 == first.public_key_b64


def test_pairing_with_an_id_another_kiosk_holds_is_refused_in_spanish(
    gateway: FakeGateway, store: LocalStore, tmp_path: Path
) -> None:
    with LocalStore(tmp_path / "otro") as other:
        paired(gateway, other)
    with pytest.raises(flows.FlowError, match="Ya existe otro quiosco"):
        paired(gateway, store, code="HJKM-NPQR")
    assert store.pairing() is None


def test_pairing_with_a_wrong_or_used_code_or_offline_stores_no_pairing(
    gateway: FakeGateway, store: LocalStore, tmp_path: Path
) -> None:
    with pytest.raises(flows.FlowError, match="Código de emparejamiento inválido"):
        paired(gateway, store, code="ZZZZ-ZZZZ")
    with LocalStore(tmp_path / "otro") as other:
        paired(gateway, other, device_id="kiosco-02")
    with pytest.raises(flows.FlowError, match="ya usado"):
        paired(gateway, store)
    assert store.pairing() is None
    gateway.offline = True
    with pytest.raises(flows.NeedsConnection, match="se necesita conexión"):
        paired(gateway, store)
    assert store.pairing() is None


def test_the_session_statement_keeps_the_bytes_deployed_kiosks_sign() -> None:
    # One function builds it for both ends; its bytes must not change under kiosks in the field.
    assert session_message("k-1", "2026-11-22T23:59:00+00:00") == b"crm-kiosk-session\nk-1\n2026-11-22T23:59:00+00:00"


# -- sync ------------------------------------------------------------------------------------------
def test_sync_caches_templates_and_roster_with_fingerprints_encrypted_at_rest(
    gateway: FakeGateway, store: LocalStore
) -> None:
    report = synced(gateway, store)

    # Every template of the catalogue, each version of one (seguimiento_unidad_productiva has two).
    assert (report.templates, report.people, report.fingerprints, report.problems) == (len(catalogue_json()), 4, 2, [])
    synced_at = store.last_sync()
    assert synced_at is not None and abs(datetime.now(UTC) - synced_at) < timedelta(minutes=1)
    assert store.acta_template("visita_domiciliaria@1") is not None
    assert [p.full_name for p in store.roster()][:2] == ["Ana Epiayú", "Pedro Ipuana"]
    ana = store.template("ana", "right_index")
    assert ana is not None and ana.data == ANA_T and ana.template_sha256 == hashlib.sha256(ANA_T).hexdigest()
    with sqlite3.connect(store.path) as raw:
        stored = b"".join(bytes(row[0]) for row in raw.execute("SELECT ciphertext FROM biometrics"))
    assert ANA_T[4:40] not in stored and LUIS_T[4:40] not in stored


def test_a_ciphertext_moved_to_another_person_does_not_decrypt(gateway: FakeGateway, store: LocalStore) -> None:
    synced(gateway, store)
    with sqlite3.connect(store.path) as raw:
        (nonce, ciphertext) = raw.execute("SELECT nonce, ciphertext FROM biometrics WHERE owner = 'luis'").fetchone()
        raw.execute("UPDATE biometrics SET nonce = ?, ciphertext = ? WHERE owner = 'ana'", (nonce, ciphertext))
    with pytest.raises(StoreError, match="alterada"):
        store.template("ana", "right_index")


def test_a_roster_template_that_does_not_match_its_hash_is_left_out_and_named(
    gateway: FakeGateway, store: LocalStore
) -> None:
    gateway.roster[0]["biometrics"][0]["template_sha256"] = "0" * 64
    report = synced(gateway, store)
    assert report.fingerprints == 1 and "Ana Epiayú" in report.problems[0]
    assert store.template("ana", "right_index") is None


def test_a_second_sync_replaces_the_roster_and_keeps_the_gestors_own_finger(
    gateway: FakeGateway, store: LocalStore
) -> None:
    synced(gateway, store)
    flows.enrol_gestor(
        store, FakeReader(enrolments=[GESTOR_T]), username="gestora.maria", finger="right_index", prompt=ignore
    )
    gateway.roster = gateway.roster[1:]
    with gateway.client() as client:
        flows.sync_down(client, store)
    assert store.person("ana") is None and store.template("ana", "right_index") is None
    assert store.template("gestora.maria", "right_index", OwnerKind.STAFF) is not None


def test_a_revoked_or_unpaired_kiosk_cannot_sync(gateway: FakeGateway, store: LocalStore) -> None:
    with gateway.client() as client, pytest.raises(flows.NotPaired, match="crm-kiosk pair"):
        flows.sync_down(client, store)
    paired(gateway, store)
    gateway.devices["kiosco-01"]["revoked"] = True
    with gateway.client() as client, pytest.raises(Unauthorized, match="Quiosco no autorizado"):
        flows.sync_down(client, store)
    assert store.last_sync() is None


def test_a_kiosk_clock_more_than_five_minutes_off_is_refused_a_session(gateway: FakeGateway, store: LocalStore) -> None:
    paired(gateway, store)
    late = datetime.now(UTC) - timedelta(minutes=10)
    with gateway.client() as client, pytest.raises(Unauthorized):
        flows.sync_down(client, store, now=lambda: late)


def test_a_device_key_readable_by_others_is_refused(store: LocalStore) -> None:
    load_or_create_device_key(store.data_dir)
    os.chmod(store.data_dir / "device_key.pem", 0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_device_key(store.data_dir)


# -- enrolment -------------------------------------------------------------------------------------
def enrol(gateway: FakeGateway, store: LocalStore, reader: FakeReader, consent: bool = True) -> flows.EnrolmentResult:
    with gateway.client() as client:
        gestor = client.login("gestora.maria", "clave-segura")
        return flows.enrol_beneficiary(
            client,
            store,
            reader,
            gestor=gestor,
            beneficiary_id="pedro",
            finger="right_thumb",
            consent_given=consent,
            prompt=ignore,
        )


def test_enrolment_records_consent_first_then_sends_the_template_and_keeps_it_for_offline_use(
    gateway: FakeGateway, store: LocalStore
) -> None:
    synced(gateway, store)
    reader = FakeReader(enrolments=[NEW_T])
    result = enrol(gateway, store, reader)

    paths = [p for _, p in gateway.calls]
    assert paths.index("/beneficiaries/pedro/consents") < paths.index("/beneficiaries/pedro/biometrics")
    assert gateway.biometrics[("pedro", "right_thumb")] == NEW_T
    assert result.template_sha256 == hashlib.sha256(NEW_T).hexdigest() and result.sensor_position == 0
    stored = store.template("pedro", "right_thumb")
    assert stored is not None and stored.data == NEW_T
    assert store.sensor_slots()[0].owner == "pedro"


def test_without_consent_or_connection_no_fingerprint_is_taken(gateway: FakeGateway, store: LocalStore) -> None:
    synced(gateway, store)
    reader = FakeReader(enrolments=[NEW_T])
    with pytest.raises(flows.FlowError, match="consentimiento"):
        enrol(gateway, store, reader, consent=False)
    with gateway.client() as client:
        gestor = client.login("gestora.maria", "clave-segura")
    gateway.offline = True
    with gateway.client() as client, pytest.raises(flows.NeedsConnection, match="conexión"):
        flows.enrol_beneficiary(
            client,
            store,
            reader,
            gestor=gestor,
            beneficiary_id="pedro",
            finger="right_thumb",
            consent_given=True,
            prompt=ignore,
        )
    assert reader.enrolments == [NEW_T], "the reader was never asked for a capture"
    assert store.template("pedro", "right_thumb") is None


def test_an_unknown_finger_code_is_refused_with_the_spanish_names(gateway: FakeGateway, store: LocalStore) -> None:
    with pytest.raises(flows.FlowError, match="índice derecho"):
        flows.enrol_gestor(store, FakeReader(), username="g", finger="indice", prompt=ignore)


# -- filling an acta -------------------------------------------------------------------------------
def test_values_are_validated_offline_with_the_platforms_rules(gateway: FakeGateway, store: LocalStore) -> None:
    synced(gateway, store)
    bad = visit_values(["ana"], fecha="2026-02-30", personas_presentes=40, motivo="paseo", extra="x")
    with pytest.raises(acta_flow.InvalidValues) as err:
        acta_flow.start_acta(store, "visita_domiciliaria@1", bad, "gestora.maria")
    assert set(err.value.errors) == {"fecha", "personas_presentes", "motivo", "extra"}
    assert "como máximo 30" in err.value.errors["personas_presentes"]


def test_signers_and_household_must_be_in_the_synced_roster(gateway: FakeGateway, store: LocalStore) -> None:
    synced(gateway, store)
    with pytest.raises(acta_flow.InvalidValues) as err:
        acta_flow.start_acta(store, "visita_domiciliaria@1", visit_values(["ana", "zoe"], "fam-9"), "gestora.maria")
    assert "zoe" in err.value.errors["firmantes"] and "fam-9" in err.value.errors["hogar"]


def test_an_uncached_template_asks_for_a_sync(store: LocalStore) -> None:
    with pytest.raises(flows.FlowError, match="sincronice"):
        acta_flow.start_acta(store, "visita_domiciliaria@1", visit_values(["ana"]), "gestora.maria")


def test_template_json_with_missing_optional_fields_and_float_numbers_is_understood() -> None:
    template = flows.template_from_json(
        {
            "code": "capacitacion",
            "version": 1.0,
            "key": "capacitacion@1",
            "fields": [{"code": "horas", "label": "Horas", "type": "number", "required": True, "minimum": 0.5}],
        }
    )
    assert template.key == "capacitacion@1" and template.fields[0].maximum is None
    assert template.validate({"horas": 2.0}) == {"horas": 2.0}


@pytest.mark.parametrize(
    ("kind", "options", "typed", "value"),
    [
        ("number", (), "3,5", 3.5),
        ("number", (), " 4 ", 4),
        ("single_choice", ("si", "no"), "2", "no"),
        ("multiple_choice", ("a", "b", "c"), "1, c", ["a", "c"]),
        ("signature_list", (), "ana, luis", ["ana", "luis"]),
        ("gps_point", (), "11.0041, -72.9251, 12", {"lat": 11.0041, "lon": -72.9251, "accuracy_m": 12.0}),
        ("text", (), "   ", None),
    ],
)
def test_typed_answers_become_template_values(kind: str, options: tuple[str, ...], typed: str, value: Any) -> None:
    from services.actas.domain.templates import FieldSpec, FieldType

    assert acta_flow.parse_answer(FieldSpec("campo", "Campo", FieldType(kind), options=options), typed) == value


# -- signing -----------------------------------------------------------------------------------------
@pytest.fixture
def draft(gateway: FakeGateway, store: LocalStore) -> acta_flow.ActaDraft:
    synced(gateway, store)
    return acta_flow.start_acta(store, "visita_domiciliaria@1", visit_values(["ana", "luis", "rosa"]), "gestora.maria")


def test_each_participant_signs_once_and_the_gestor_only_last(store: LocalStore, draft: acta_flow.ActaDraft) -> None:
    with pytest.raises(flows.FlowError, match="El gestor firma al final; faltan: ana, luis, rosa"):
        acta_flow.sign_handwritten(store, draft, "gestora.maria", png(), role=acta_flow.GESTOR)
    acta_flow.sign_handwritten(store, draft, "ana", png())
    with pytest.raises(flows.FlowError, match="ya firmó"):
        acta_flow.record_refusal(draft, "ana", "Cambió de opinión")
    with pytest.raises(flows.FlowError, match="no firma esta acta"):
        acta_flow.sign_handwritten(store, draft, "pedro", png())
    with pytest.raises(flows.FlowError, match="motivo"):
        acta_flow.record_refusal(draft, "luis", "  ")
    acta_flow.record_refusal(draft, "luis", "No está de acuerdo")
    with pytest.raises(flows.FlowError, match="no firma a mano"):  # Rosa cannot sign by hand
        acta_flow.sign_handwritten(store, draft, "rosa", png())
    acta_flow.record_refusal(draft, "rosa", "No sabe firmar y no tiene huella enrolada")
    with pytest.raises(flows.FlowError, match=r"Solo gestora\.maria"):
        acta_flow.sign_handwritten(store, draft, "otro.gestor", png(), role=acta_flow.GESTOR)
    acta_flow.sign_handwritten(store, draft, "gestora.maria", png(), role=acta_flow.GESTOR)
    assert draft.complete and draft.pending() == []
    with pytest.raises(flows.FlowError, match="cerrada"):
        acta_flow.sign_handwritten(store, draft, "gestora.maria", png(), role=acta_flow.GESTOR)


def test_a_handwritten_signature_must_be_a_png_of_at_most_256_kb(store: LocalStore, draft: acta_flow.ActaDraft) -> None:
    with pytest.raises(flows.FlowError, match="PNG"):
        acta_flow.sign_handwritten(store, draft, "ana", b"GIF89a...")
    with pytest.raises(flows.FlowError, match="256 KB"):
        acta_flow.sign_handwritten(store, draft, "ana", png() + b"\0" * 256 * 1024)
    assert draft.signatures == []


def test_a_finger_that_does_not_match_is_refused_and_signs_nothing(
    store: LocalStore, draft: acta_flow.ActaDraft
) -> None:
    reader = FakeReader(placed=[LUIS_T, ANA_T])
    with pytest.raises(acta_flow.NoMatch, match="Ana Epiayú") as err:
        acta_flow.sign_with_fingerprint(store, reader, draft, "ana", ignore, sensor_id="k/zfm")
    assert err.value.score == 0 and draft.signatures == []
    signature = acta_flow.sign_with_fingerprint(store, reader, draft, "ana", ignore, sensor_id="k/zfm")
    evidence = signature.fingerprint
    assert (evidence.score, evidence.finger, evidence.mode, evidence.sensor_id) == (
        200,
        "right_index",
        "verify_1_1",
        "k/zfm",
    )
    assert evidence.template_sha256 == hashlib.sha256(ANA_T).hexdigest()


def test_someone_without_an_enrolled_finger_is_told_to_use_another_method(
    store: LocalStore, draft: acta_flow.ActaDraft
) -> None:
    with pytest.raises(flows.FlowError, match="Rosa Pushaina no tiene enrolado ninguna huella"):
        acta_flow.sign_with_fingerprint(store, FakeReader(), draft, "rosa", ignore, sensor_id="k/zfm")


def test_identification_signs_for_whoever_is_found_only_if_they_still_have_to_sign(
    store: LocalStore, draft: acta_flow.ActaDraft
) -> None:
    reader = FakeReader(placed=[LUIS_T, LUIS_T, NEW_T])
    signature = acta_flow.sign_by_identification(store, reader, draft, ignore, sensor_id="k/zfm")
    assert (signature.signer_id, signature.fingerprint.mode, signature.fingerprint.finger) == (
        "luis",
        "identify_1_n",
        "left_thumb",
    )
    with pytest.raises(flows.FlowError, match="Luis Uriana, que ya firmó"):
        acta_flow.sign_by_identification(store, reader, draft, ignore, sensor_id="k/zfm")
    with pytest.raises(acta_flow.NoMatch, match="no corresponde a nadie"):
        acta_flow.sign_by_identification(store, reader, draft, ignore, sensor_id="k/zfm")
    assert reader.loads == 1, "the sensor library is loaded once, not before every identification"


def test_the_sensor_library_is_reloaded_after_the_roster_changes(
    gateway: FakeGateway, store: LocalStore, draft: acta_flow.ActaDraft
) -> None:
    reader = FakeReader()
    acta_flow.ensure_sensor_library(store, reader)
    acta_flow.ensure_sensor_library(store, reader)
    assert reader.loads == 1
    gateway.roster[0]["biometrics"] = []
    with gateway.client() as client:
        flows.sync_down(client, store)
    slots = acta_flow.ensure_sensor_library(store, reader)
    assert reader.loads == 2 and [s.owner for s in slots.values()] == ["luis"]


def test_the_gestor_signs_with_the_finger_enrolled_on_this_kiosk(store: LocalStore, draft: acta_flow.ActaDraft) -> None:
    reader = FakeReader(enrolments=[GESTOR_T], placed=[GESTOR_T])
    flows.enrol_gestor(store, reader, username="gestora.maria", finger="left_index", prompt=ignore)
    for signer in ("ana", "luis", "rosa"):
        acta_flow.record_refusal(draft, signer, "No asistió a la firma")
    signature = acta_flow.gestor_signs_with_fingerprint(store, reader, draft, ignore, sensor_id="k/zfm")
    assert (signature.role, signature.signer_id, signature.fingerprint.finger) == (
        "gestor",
        "gestora.maria",
        "left_index",
    )
    assert draft.complete


# -- sealing and queuing -----------------------------------------------------------------------------
def signed(store: LocalStore, draft: acta_flow.ActaDraft) -> acta_flow.ActaDraft:
    acta_flow.sign_with_fingerprint(store, FakeReader(placed=[ANA_T]), draft, "ana", ignore, sensor_id="k/zfm")
    acta_flow.sign_handwritten(store, draft, "luis", png())
    acta_flow.record_refusal(draft, "rosa", "Prefiere no firmar")
    acta_flow.sign_handwritten(store, draft, "gestora.maria", png((80, 30)), role=acta_flow.GESTOR)
    return draft


def test_an_incomplete_acta_cannot_be_sealed(store: LocalStore, draft: acta_flow.ActaDraft) -> None:
    with pytest.raises(flows.FlowError, match="Faltan firmas: ana, luis, rosa"):
        acta_flow.seal(draft, device_id="kiosco-01", key=load_device_key(store.data_dir))


def test_the_sealed_envelope_is_signed_by_the_device_and_queued_once_under_its_idempotency_key(
    store: LocalStore, draft: acta_flow.ActaDraft
) -> None:
    signed(store, draft)
    outbox = FakeOutbox()
    assert acta_flow.finish_acta(store, outbox, draft) == draft.submission_id
    assert acta_flow.finish_acta(store, outbox, draft) == draft.submission_id  # a retry: same bytes

    (envelope,) = outbox.queued.values()
    message = sub_pb.KioskSubmission.FromString(envelope)
    key = load_device_key(store.data_dir)
    verify(message.body, message.signature, Device("kiosco-01", flows.public_key_b64(key)))
    content = decode_submission(message.body)
    assert content.submission_id == draft.submission_id and content.community_id == "com-1"
    assert [(s.signer_id, s.method) for s in content.signatures] == [
        ("ana", Method.FINGERPRINT),
        ("luis", Method.HANDWRITTEN),
        ("rosa", Method.REFUSED),
        ("gestora.maria", Method.HANDWRITTEN),
    ]
    assert content.values["firmantes"] == ["ana", "luis", "rosa"] and content.values["personas_presentes"] == 3


def test_the_kiosk_location_goes_with_the_submission_when_configured(
    store: LocalStore, draft: acta_flow.ActaDraft
) -> None:
    store.set_location((11.0041, -72.9251, 15.0))
    outbox = FakeOutbox()
    acta_flow.finish_acta(store, outbox, signed(store, draft))
    body = sub_pb.SubmissionBody.FromString(sub_pb.KioskSubmission.FromString(outbox.queued[draft.submission_id]).body)
    assert (body.location.lat, body.location.lon, body.location.accuracy_m) == pytest.approx((11.0041, -72.9251, 15.0))


# -- the command line ---------------------------------------------------------------------------------
def parser(common: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="crm-kiosk")
    sub = root.add_subparsers(dest="command", required=True)
    kiosk_cli.register(sub, common)
    return root


def test_register_adds_the_commands_beside_crm_kiosks_own_options(tmp_path: Path) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", type=Path, default=tmp_path / "outbox.sqlite3")
    args = parser(common).parse_args(["acta", "--home", str(tmp_path), "--sign", "ana=huella:right_index"])
    assert args.handler is not None and args.db == tmp_path / "outbox.sqlite3" and args.port
    assert parser().parse_args(["sync", "--db", "x.sqlite3"]).db == Path("x.sqlite3")
    for command in ("pair --device-id k --code ABCD-EFGH", "enrol --beneficiary ana --finger right_index"):
        assert parser().parse_args(command.split()).handler is not None


def test_the_acta_command_fills_from_a_file_signs_and_queues_in_the_outbox(
    gateway: FakeGateway, store: LocalStore, tmp_path: Path
) -> None:
    from edge_agent.outbox import Outbox

    synced(gateway, store)
    values = tmp_path / "visita.json"
    values.write_text(json.dumps(visit_values(["luis", "rosa"])), encoding="utf-8")
    signature = tmp_path / "firma.png"
    signature.write_bytes(png())
    db = tmp_path / "outbox.sqlite3"
    argv = [
        "acta",
        "--home",
        str(store.data_dir),
        "--db",
        str(db),
        "--template",
        "visita_domiciliaria@1",
        "--values",
        str(values),
        "--gestor",
        "gestora.maria",
        "--sign",
        f"luis=manuscrita:{signature}",
        "--sign",
        "rosa=negativa:No desea firmar",
        "--gestor-sign",
        f"manuscrita:{signature}",
    ]
    args = parser().parse_args(argv)
    assert args.handler(args) == 0

    with Outbox(db) as outbox:
        (entry,) = outbox.entries()
    content = decode_submission(sub_pb.KioskSubmission.FromString(entry.envelope).body)
    assert content.submission_id == entry.submission_id
    assert [s.refusal_reason for s in content.signatures] == ["", "No desea firmar", ""]


def test_the_acta_command_reports_invalid_values_in_spanish_and_queues_nothing(
    gateway: FakeGateway, store: LocalStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    synced(gateway, store)
    values = tmp_path / "visita.json"
    values.write_text(json.dumps(visit_values(["luis"], fecha="ayer")), encoding="utf-8")
    db = tmp_path / "outbox.sqlite3"
    argv = ["acta", "--home", str(store.data_dir), "--db", str(db), "--template", "visita_domiciliaria@1"]
    args = parser().parse_args([*argv, "--values", str(values), "--gestor", "gestora.maria"])
    assert args.handler(args) == 1
    assert "use AAAA-MM-DD" in capsys.readouterr().out
    assert not db.exists()
