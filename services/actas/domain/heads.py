"""Signed chain heads: the operator's statement that, at ``signed_at``, the chain
had ``chain_seq`` entries and its last entry hashed to ``head_hash``.

The chain alone lives in the database, so whoever can write there can rewrite an
acta and recompute every later entry. A head signed with the operator's Ed25519
key (which is not in the database) and kept by someone else (an auditor, the
community) pins the chain up to its ``chain_seq``: if the entry at that position
no longer hashes to ``head_hash``, something at or before it was rewritten.

The signature covers the canonical bytes (``canonical.canonical_bytes``) of the
statement: every field of the head but the signature itself.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from services.actas.domain.canonical import canonical_bytes
from services.actas.domain.chain import ChainEntry, ChainProblem

FORMAT = "crm-social/chain-head/v1"
HASH_LENGTH = 64


class InvalidHead(ValueError):
    """A head document that is not a head (the message is in Spanish: people read it)."""


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """Names the key in a head: the first 16 hex digits of SHA-256 of its raw bytes."""
    return hashlib.sha256(raw_public_key(key)).hexdigest()[:16]


def _time(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class SignedHead:
    chain_seq: int
    head_hash: str
    signed_at: datetime
    key_id: str
    signature: bytes

    def statement(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "chain_seq": self.chain_seq,
            "head_hash": self.head_hash,
            "signed_at": _time(self.signed_at),
            "key_id": self.key_id,
        }

    def to_json(self) -> dict[str, Any]:
        """The head as it is published and downloaded."""
        return {**self.statement(), "signature": base64.b64encode(self.signature).decode("ascii")}

    def signed_by(self, key: Ed25519PublicKey) -> bool:
        if self.key_id != key_id(key):
            return False
        try:
            key.verify(self.signature, canonical_bytes(self.statement()))
        except InvalidSignature:
            return False
        return True


def sign(key: Ed25519PrivateKey, chain_seq: int, head_hash: str, signed_at: datetime) -> SignedHead:
    signed_at = signed_at.astimezone(UTC).replace(microsecond=signed_at.microsecond // 1000 * 1000)
    unsigned = SignedHead(chain_seq, head_hash, signed_at, key_id(key.public_key()), b"")
    return SignedHead(chain_seq, head_hash, signed_at, unsigned.key_id, key.sign(canonical_bytes(unsigned.statement())))


def from_json(data: Any) -> SignedHead:
    """A downloaded head; ``InvalidHead`` naming the field that is wrong."""
    if not isinstance(data, dict):
        raise InvalidHead("el archivo no contiene un objeto JSON de cabeza de cadena")
    if data.get("format") != FORMAT:
        raise InvalidHead(f"campo 'format': se esperaba {FORMAT!r}")
    seq = data.get("chain_seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise InvalidHead("campo 'chain_seq': debe ser un entero positivo")
    head_hash = data.get("head_hash")
    if not isinstance(head_hash, str) or len(head_hash) != HASH_LENGTH:
        raise InvalidHead("campo 'head_hash': debe ser un hash SHA-256 en hexadecimal (64 caracteres)")
    try:
        signed_at = datetime.fromisoformat(str(data.get("signed_at")))
    except ValueError:
        raise InvalidHead("campo 'signed_at': debe ser una fecha ISO 8601") from None
    if signed_at.tzinfo is None:
        raise InvalidHead("campo 'signed_at': debe incluir la zona horaria")
    key = data.get("key_id")
    if not isinstance(key, str) or not key:
        raise InvalidHead("campo 'key_id': falta el identificador de la clave")
    try:
        signature = base64.b64decode(str(data.get("signature", "")), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidHead("campo 'signature': no es base64 válido") from None
    if not signature:
        raise InvalidHead("campo 'signature': falta la firma")
    return SignedHead(seq, head_hash, signed_at, key, signature)


def check_against(entries: Sequence[ChainEntry], heads: Sequence[SignedHead]) -> list[ChainProblem]:
    """Compare the stored chain with heads whose signatures were verified already.

    Entries before a rewritten acta keep their hashes; every later one changes. So
    the first signed head that no longer matches bounds the rewrite: it is after the
    last head that still matches and at or before that one. One problem, naming it."""
    by_seq = {e.seq: e for e in entries}
    last_good = 0
    for head in sorted(heads, key=lambda h: h.chain_seq):
        entry = by_seq.get(head.chain_seq)
        when = _time(head.signed_at)
        if entry is None:
            return [
                ChainProblem(
                    "missing",
                    head.chain_seq,
                    "",
                    f"la cabeza firmada el {when} cubre hasta la entrada {head.chain_seq} y esa entrada ya no está "
                    f"en la base de datos (la cadena tiene {len(entries)} entradas): se borraron registros",
                )
            ]
        if entry.entry_hash != head.head_hash:
            first = last_good + 1
            where = (
                f"primera entrada que no coincide: {first}"
                if first == head.chain_seq
                else f"la primera entrada reescrita está entre la {first} y la {head.chain_seq}"
            )
            return [
                ChainProblem(
                    "rewritten",
                    first,
                    entry.acta_id if first == head.chain_seq else "",
                    f"la entrada {head.chain_seq} no coincide con la cabeza firmada el {when} "
                    f"(firmado {head.head_hash[:16]}…, en la base de datos {entry.entry_hash[:16]}…): "
                    f"la cadena fue reescrita; {where}",
                )
            ]
        last_good = head.chain_seq
    return []
