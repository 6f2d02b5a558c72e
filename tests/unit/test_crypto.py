"""AES-GCM sealing of biometric templates: key configuration, rotation, tampering."""

from __future__ import annotations

import base64

import pytest

from crm_platform.config import ConfigError
from services.beneficiaries.adapters.crypto import (
    NONCE_BYTES,
    AesGcmTemplateCipher,
    TemplateDecryptionError,
    parse_keys,
)

OLD_KEY = bytes(range(32))
NEW_KEY = bytes(range(32, 64))
AAD = b"b1:right_thumb"
TEMPLATE = bytes(range(256)) * 2


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


# -- configuration --------------------------------------------------------------
def test_keys_are_parsed_in_the_listed_order() -> None:
    keys = parse_keys(f" k2:{b64(NEW_KEY)} , k1:{b64(OLD_KEY)},")

    assert list(keys) == ["k2", "k1"]
    assert keys == {"k2": NEW_KEY, "k1": OLD_KEY}


@pytest.mark.parametrize("raw", ["k1", f":{b64(OLD_KEY)}", f"k1:{b64(OLD_KEY)},k2"])
def test_a_key_without_id_or_separator_is_a_config_error(raw: str) -> None:
    with pytest.raises(ConfigError, match="id:base64key"):
        parse_keys(raw)


def test_a_key_that_is_not_base64_is_a_config_error_naming_it() -> None:
    with pytest.raises(ConfigError, match=r"'k1'.*base64"):
        parse_keys("k1:not base64!")


def test_no_keys_at_all_is_a_config_error() -> None:
    assert parse_keys(" , ") == {}
    with pytest.raises(ConfigError, match="no key"):
        AesGcmTemplateCipher(parse_keys(""))


@pytest.mark.parametrize("size", [0, 16, 31, 33])
def test_keys_other_than_256_bits_are_refused(size: int) -> None:
    with pytest.raises(ConfigError, match=r"'k1'.*32 bytes"):
        AesGcmTemplateCipher({"k1": b"\x00" * size})


def test_keys_are_required_outside_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_ENV", "production")
    monkeypatch.delenv("BIOMETRIC_KEYS", raising=False)

    with pytest.raises(ConfigError, match="BIOMETRIC_KEYS"):
        AesGcmTemplateCipher.from_env()


def test_keys_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_ENV", "production")
    monkeypatch.setenv("BIOMETRIC_KEYS", f"k9:{b64(NEW_KEY)}")

    key_id, sealed = AesGcmTemplateCipher.from_env().seal(TEMPLATE, AAD)

    assert key_id == "k9"
    assert AesGcmTemplateCipher({"k9": NEW_KEY}).open("k9", sealed, AAD) == TEMPLATE


# -- sealing --------------------------------------------------------------------
def test_a_sealed_template_opens_to_the_original() -> None:
    cipher = AesGcmTemplateCipher({"k1": OLD_KEY})

    key_id, sealed = cipher.seal(TEMPLATE, AAD)

    assert key_id == "k1"
    assert TEMPLATE not in sealed
    assert len(sealed) == NONCE_BYTES + len(TEMPLATE) + 16
    assert cipher.open(key_id, sealed, AAD) == TEMPLATE


def test_sealing_twice_uses_a_fresh_nonce() -> None:
    cipher = AesGcmTemplateCipher({"k1": OLD_KEY})

    _, first = cipher.seal(TEMPLATE, AAD)
    _, second = cipher.seal(TEMPLATE, AAD)

    assert first[:NONCE_BYTES] != second[:NONCE_BYTES]
    assert first != second


# -- rotation -------------------------------------------------------------------
def test_after_rotation_new_templates_use_the_first_key() -> None:
    rotated = AesGcmTemplateCipher({"new": NEW_KEY, "old": OLD_KEY})

    assert rotated.seal(TEMPLATE, AAD)[0] == "new"


def test_a_template_sealed_with_an_old_key_still_opens_after_rotation() -> None:
    key_id, sealed = AesGcmTemplateCipher({"old": OLD_KEY}).seal(TEMPLATE, AAD)
    rotated = AesGcmTemplateCipher({"new": NEW_KEY, "old": OLD_KEY})

    assert rotated.open(key_id, sealed, AAD) == TEMPLATE


def test_a_template_whose_key_was_retired_cannot_be_opened() -> None:
    key_id, sealed = AesGcmTemplateCipher({"old": OLD_KEY}).seal(TEMPLATE, AAD)
    retired = AesGcmTemplateCipher({"new": NEW_KEY})

    with pytest.raises(TemplateDecryptionError, match="'old'"):
        retired.open(key_id, sealed, AAD)


def test_a_template_labelled_with_the_wrong_key_id_fails() -> None:
    _, sealed = AesGcmTemplateCipher({"old": OLD_KEY}).seal(TEMPLATE, AAD)
    rotated = AesGcmTemplateCipher({"new": NEW_KEY, "old": OLD_KEY})

    with pytest.raises(TemplateDecryptionError):
        rotated.open("new", sealed, AAD)


# -- tampering ------------------------------------------------------------------
@pytest.mark.parametrize("position", [0, NONCE_BYTES, NONCE_BYTES + 100, -1])
def test_any_flipped_bit_is_detected(position: int) -> None:
    cipher = AesGcmTemplateCipher({"k1": OLD_KEY})
    key_id, sealed = cipher.seal(TEMPLATE, AAD)
    tampered = bytearray(sealed)
    tampered[position] ^= 0x01

    with pytest.raises(TemplateDecryptionError):
        cipher.open(key_id, bytes(tampered), AAD)


def test_a_template_bound_to_another_record_fails() -> None:
    cipher = AesGcmTemplateCipher({"k1": OLD_KEY})
    key_id, sealed = cipher.seal(TEMPLATE, b"b1:right_thumb")

    with pytest.raises(TemplateDecryptionError):
        cipher.open(key_id, sealed, b"b2:right_thumb")


@pytest.mark.parametrize("length", [0, 5, NONCE_BYTES, NONCE_BYTES + 15])
def test_a_truncated_record_is_reported_as_a_decryption_error(length: int) -> None:
    # A damaged record must surface as TemplateDecryptionError, the error the gRPC
    # boundary maps to "plantilla dañada", whatever its length.
    cipher = AesGcmTemplateCipher({"k1": OLD_KEY})
    key_id, sealed = cipher.seal(TEMPLATE, AAD)

    with pytest.raises(TemplateDecryptionError):
        cipher.open(key_id, sealed[:length], AAD)
