"""Where signed chain heads are kept and the key that signs them.

- ``MongoHeadStore``: the collection ``chain_heads``, append-only, one document per
  ``chain_seq`` (its ``_id``), so two replicas publishing the same head store it
  once: the second insert fails on the key and reads back the first.
- ``signing_key_from_env``: the operator's Ed25519 key, a PEM file named by
  ``ACTAS_HEAD_SIGNING_KEY`` (``ACTAS_HEAD_SIGNING_PASSPHRASE`` if encrypted);
  development mode makes one under ``ACTAS_DEV_HEAD_KEY_DIR`` when none is set.
"""

from __future__ import annotations

import base64
import contextlib
import os
import tempfile
from datetime import UTC
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pymongo import DESCENDING
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from crm_platform.config import ConfigError, is_development, setting
from services.actas.adapters.documents import ActaDoc
from services.actas.domain.heads import SignedHead

COLLECTION = "chain_heads"
DEV_KEY_FILE = "head-signing-key.pem"


class MongoHeadStore:
    def __init__(self, collection: Collection | None = None) -> None:
        self.heads: Collection = (
            collection if collection is not None else ActaDoc._get_collection().database[COLLECTION]
        )
        self._chain = self.heads.database["chain"]
        self._head = self.heads.database["chain_head"]

    def current(self) -> tuple[int, str] | None:
        """The chain's last entry as the seal path keeps it: (seq, entry hash)."""
        raw = self._head.find_one({"_id": "head"})
        return (int(raw["seq"]), str(raw["entry_hash"])) if raw else None

    def entry_hash(self, seq: int) -> str | None:
        raw = self._chain.find_one({"_id": seq}, {"entry_hash": 1})
        return str(raw["entry_hash"]) if raw else None

    def latest(self) -> SignedHead | None:
        raw = self.heads.find_one({}, sort=[("_id", DESCENDING)])
        return _from_doc(raw) if raw else None

    def at(self, seq: int) -> SignedHead | None:
        raw = self.heads.find_one({"_id": seq})
        return _from_doc(raw) if raw else None

    def all(self) -> list[SignedHead]:
        return [_from_doc(raw) for raw in self.heads.find({}).sort("_id", 1)]

    def add(self, head: SignedHead) -> tuple[SignedHead, bool]:
        """Store ``head`` unless one at its ``chain_seq`` is stored: (stored head, created)."""
        try:
            self.heads.insert_one(
                {
                    "_id": head.chain_seq,
                    "head_hash": head.head_hash,
                    "signed_at": head.signed_at,
                    "key_id": head.key_id,
                    "signature": base64.b64encode(head.signature).decode("ascii"),
                }
            )
        except DuplicateKeyError:
            stored = self.at(head.chain_seq)
            if stored is None:
                raise
            return stored, False
        return head, True


def _from_doc(raw: dict[str, Any]) -> SignedHead:
    signed_at = raw["signed_at"]
    if signed_at.tzinfo is None:
        signed_at = signed_at.replace(tzinfo=UTC)
    return SignedHead(int(raw["_id"]), raw["head_hash"], signed_at, raw["key_id"], base64.b64decode(raw["signature"]))


def development_key(directory: Path) -> Path:
    """A key made once under ``directory`` (development and tests only). Created
    beside and linked into place, so processes starting together share one key."""
    path = directory / DEV_KEY_FILE
    if path.is_file():
        return path
    directory.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".key-")
    try:
        os.write(fd, pem)
        os.close(fd)
        with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
            os.link(tmp, path)
    finally:
        os.unlink(tmp)
    return path


def load_private_key(pem: bytes, passphrase: bytes | None = None) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem, password=passphrase)
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError("ACTAS_HEAD_SIGNING_KEY must be an Ed25519 private key (PEM)")
    return key


def signing_key_from_env() -> Ed25519PrivateKey:
    path = setting("ACTAS_HEAD_SIGNING_KEY", "")
    if not path:
        if not is_development():
            raise ConfigError(
                "ACTAS_HEAD_SIGNING_KEY is required outside development (PEM file of the operator's Ed25519 key "
                "that signs chain heads)"
            )
        path = str(development_key(Path(setting("ACTAS_DEV_HEAD_KEY_DIR", "var/actas-head-key"))))
    passphrase = setting("ACTAS_HEAD_SIGNING_PASSPHRASE", "").encode() or None
    try:
        return load_private_key(Path(path).read_bytes(), passphrase)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"ACTAS_HEAD_SIGNING_KEY ({path}): cannot load the key: {exc}") from exc


def public_key_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_public_key(data: bytes) -> Ed25519PublicKey:
    """A PEM public key (``GET /chain/public-key`` gives it as ``public_key_pem``)."""
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("no es una clave pública Ed25519")
    return key
