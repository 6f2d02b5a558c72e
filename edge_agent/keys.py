"""Secret files of a kiosk: the Ed25519 device key and the key that encrypts stored
fingerprint templates. Both live in the kiosk's data directory (mode 0700), each
file mode 0600, created atomically so a power cut never leaves half a key."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

DEVICE_KEY_FILE = "device_key.pem"
TEMPLATE_KEY_FILE = "templates.key"
TEMPLATE_KEY_BYTES = 32  # AES-256


class KeyFileError(Exception):
    """A key file is missing, unreadable or too widely readable."""


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) and restrict it to its owner."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def load_or_create_device_key(data_dir: Path) -> tuple[Ed25519PrivateKey, bool]:
    """The kiosk's device key, and whether it was created now."""
    path = data_dir / DEVICE_KEY_FILE
    if path.exists():
        return load_device_key(data_dir), False
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    _write_secret(path, pem)
    return key, True


def load_device_key(data_dir: Path) -> Ed25519PrivateKey:
    path = data_dir / DEVICE_KEY_FILE
    raw = _read_secret(path, "No hay clave de dispositivo: empareje el quiosco con `crm-kiosk pair`.")
    key = serialization.load_pem_private_key(raw, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path} no contiene una clave Ed25519")
    return key


def public_key_b64(key: Ed25519PrivateKey) -> str:
    """The raw 32-byte public key in base64, as the platform registers it."""
    return base64.b64encode(key.public_key().public_bytes_raw()).decode()


def load_or_create_template_key(data_dir: Path) -> bytes:
    """The AES-256 key for templates at rest; created on first use."""
    path = data_dir / TEMPLATE_KEY_FILE
    if not path.exists():
        _write_secret(path, secrets.token_bytes(TEMPLATE_KEY_BYTES))
    key = _read_secret(path, "Falta la clave de cifrado de plantillas.")
    if len(key) != TEMPLATE_KEY_BYTES:
        raise KeyFileError(f"{path} debe tener {TEMPLATE_KEY_BYTES} bytes")
    return key


def _write_secret(path: Path, data: bytes) -> None:
    ensure_private_dir(path.parent)
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(staging, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _read_secret(path: Path, missing: str) -> bytes:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise KeyFileError(missing) from None
    if mode & 0o077:
        # Like ssh: a secret others can read may already be copied, so refuse it.
        raise KeyFileError(f"{path} es legible por otros usuarios (permisos {oct(mode & 0o777)}); use chmod 600")
    return path.read_bytes()
