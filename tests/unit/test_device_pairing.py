"""Pairing a kiosk or desk reader (issue 12, item 3): a coordinator approves it with
a one-time code for one community; a gestor cannot register a key of their own;
every device belongs to exactly one community."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.actas.domain import pairing
from services.actas.domain.errors import AlreadyExists, FieldsInvalid, PairingRefused, PermissionDenied
from services.actas.domain.model import Actor
from services.actas.domain.submission import RejectReason, public_key_b64
from services.actas.service_layer.handlers import ActaHandlers
from tests.actas_support import FakeDirectory

from .actas_fakes import FakeActaRepository, OutboxRelay, SettableClock
from .test_actas_handlers import DEVICE, ingest, kiosk_body, registered, rejected, sent, world

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
COORDINATOR = Actor("c1", "coordinator")
GESTOR = Actor("g1", "gestor")
GATEWAY = Actor("gateway", "service")
KEY = public_key_b64(Ed25519PrivateKey.generate())


def handlers() -> tuple[ActaHandlers, FakeActaRepository, SettableClock]:
    repo, clock = FakeActaRepository(), SettableClock(NOW)
    return ActaHandlers(repo, FakeDirectory([]), OutboxRelay(repo), clock), repo, clock


def test_a_code_pairs_one_device_with_the_code_s_community_on_behalf_of_its_issuer() -> None:
    h, repo, _ = handlers()
    issued = h.issue_pairing_code("com-roche", "Salón comunal", COORDINATOR)
    assert len(issued.code) == 9 and issued.code[4] == "-"
    assert issued.issued.expires_at == NOW + timedelta(hours=24)
    assert issued.code.replace("-", "") not in str(repo.pairing_codes), "only the code's hash is stored"

    device = h.pair_device(issued.code.lower(), "kiosco-1", KEY, "", GATEWAY)
    assert (device.community_id, device.registered_by, device.description) == ("com-roche", "c1", "Salón comunal")
    assert repo.get_device("kiosco-1") == device


def test_a_code_is_single_use_but_a_retry_by_the_same_device_and_key_is_harmless() -> None:
    h, repo, _ = handlers()
    code = h.issue_pairing_code("com-roche", "", COORDINATOR).code
    first = h.pair_device(code, "kiosco-1", KEY, "", GATEWAY)
    assert h.pair_device(code, "kiosco-1", KEY, "", GATEWAY) == first, "a lost reply, retried"
    with pytest.raises(PairingRefused, match="Código de emparejamiento inválido, vencido o ya usado"):
        h.pair_device(code, "kiosco-2", public_key_b64(Ed25519PrivateKey.generate()), "", GATEWAY)
    with pytest.raises(PairingRefused):
        h.pair_device(code, "kiosco-1", public_key_b64(Ed25519PrivateKey.generate()), "", GATEWAY)
    assert sorted(repo.devices) == ["kiosco-1"]


@pytest.mark.parametrize("typed", ["", "ABCD", "ABCD-EFG0", "ZZZZ-ZZZZ"])
def test_a_wrong_code_pairs_nothing(typed: str) -> None:
    h, repo, _ = handlers()
    h.issue_pairing_code("com-roche", "", COORDINATOR)
    with pytest.raises(PairingRefused):
        h.pair_device(typed, "kiosco-1", KEY, "", GATEWAY)
    assert repo.devices == {}


def test_an_expired_code_pairs_nothing() -> None:
    h, repo, clock = handlers()
    code = h.issue_pairing_code("com-roche", "", COORDINATOR).code
    clock.current = NOW + pairing.CODE_LIFETIME
    with pytest.raises(PairingRefused):
        h.pair_device(code, "kiosco-1", KEY, "", GATEWAY)
    assert repo.devices == {}


def test_a_taken_device_id_leaves_the_code_usable() -> None:
    h, _, _ = handlers()
    h.register_device("kiosco-1", KEY, "com-otra", "", COORDINATOR)
    code = h.issue_pairing_code("com-roche", "", COORDINATOR).code
    with pytest.raises(AlreadyExists):
        h.pair_device(code, "kiosco-1", public_key_b64(Ed25519PrivateKey.generate()), "", GATEWAY)
    assert h.pair_device(code, "kiosco-2", KEY, "", GATEWAY).community_id == "com-roche"


def test_a_gestor_can_neither_issue_codes_nor_register_a_key_as_a_device() -> None:
    h, repo, _ = handlers()
    with pytest.raises(PermissionDenied):
        h.issue_pairing_code("com-roche", "", GESTOR)
    with pytest.raises(PermissionDenied):
        h.register_device("kiosco-propio", KEY, "com-roche", "", GESTOR)
    with pytest.raises(PermissionDenied):
        h.pair_device("ABCD-EFGH", "kiosco-propio", KEY, "", GESTOR)
    assert repo.devices == {} and repo.pairing_codes == {}


def test_every_device_has_a_community() -> None:
    h, repo, _ = handlers()
    with pytest.raises(FieldsInvalid) as err:
        h.register_device("kiosco-1", KEY, "  ", "", COORDINATOR)
    assert set(err.value.errors) == {"community_id"}
    with pytest.raises(FieldsInvalid) as err:
        h.issue_pairing_code("", "", COORDINATOR)
    assert set(err.value.errors) == {"community_id"}
    assert repo.devices == {} and repo.pairing_codes == {}


def test_codes_are_typeable_and_unambiguous() -> None:
    codes = {pairing.new_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(c) == 8 and not set(c) & set("01OIL") for c in codes)
    assert pairing.normalise(" abcd-efgh ") == "ABCDEFGH"


def test_a_kiosk_submits_only_for_its_own_community_and_its_evidence_is_recorded_as_device_verified() -> None:
    w = world()
    registered(w)  # paired for com1
    error = rejected(w, sent(kiosk_body(community_id="com-otra")))
    assert error.reason is RejectReason.INVALID_FIELDS and "com1" in error.field_errors["community_id"]

    acta = w.handlers.get(ingest(w, sent(kiosk_body(community_id="com1"))).acta_id)
    evidence = acta.signatures[0].fingerprint
    assert evidence is not None and (evidence.verification, evidence.device_id) == ("device", DEVICE)
