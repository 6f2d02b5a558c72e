"""AES-256-GCM encryption of biometric templates at rest.

Keys come from configuration as ``BIOMETRIC_KEYS=k1:<base64 32 bytes>,k2:...``;
the first key seals new templates, every listed key can open old ones (rotation).
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crm_platform.config import ConfigError, secret

NONCE_BYTES = 12
TAG_BYTES = 16
# Development-only key; outside CRM_ENV=development BIOMETRIC_KEYS is required.
_DEV_KEYS = "dev1:" + base64.b64encode(b"crm-social-development-only-key!").decode()


class TemplateDecryptionError(RuntimeError):
    """A sealed template could not be opened (wrong key, altered data or record)."""


class AesGcmTemplateCipher:
    def __init__(self, keys: dict[str, bytes]) -> None:
        if not keys:
            raise ConfigError("BIOMETRIC_KEYS holds no key")
        for key_id, key in keys.items():
            if len(key) != 32:
                raise ConfigError(f"BIOMETRIC_KEYS: key {key_id!r} must be 32 bytes")
        self._keys = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._current = next(iter(keys))

    @classmethod
    def from_env(cls) -> AesGcmTemplateCipher:
        return cls(parse_keys(secret("BIOMETRIC_KEYS", _DEV_KEYS)))

    def seal(self, plaintext: bytes, associated_data: bytes) -> tuple[str, bytes]:
        nonce = os.urandom(NONCE_BYTES)
        return self._current, nonce + self._keys[self._current].encrypt(nonce, plaintext, associated_data)

    def open(self, key_id: str, sealed: bytes, associated_data: bytes) -> bytes:
        aead = self._keys.get(key_id)
        if aead is None:
            raise TemplateDecryptionError(f"unknown biometric key id {key_id!r}")
        if len(sealed) < NONCE_BYTES + TAG_BYTES:
            raise TemplateDecryptionError("biometric template record is truncated")
        try:
            return aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], associated_data)
        except InvalidTag:
            raise TemplateDecryptionError("biometric template failed authentication") from None


def parse_keys(raw: str) -> dict[str, bytes]:
    keys: dict[str, bytes] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        key_id, sep, encoded = item.partition(":")
        if not sep or not key_id:
            raise ConfigError("BIOMETRIC_KEYS must look like 'id:base64key[,id:base64key]'")
        if key_id in keys:
            raise ConfigError(f"BIOMETRIC_KEYS lists key id {key_id!r} twice")
        try:
            keys[key_id] = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise ConfigError(f"BIOMETRIC_KEYS: key {key_id!r} is not valid base64") from None
    return keys
