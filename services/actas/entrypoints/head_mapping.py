"""Signed chain heads and the operator's public key as protobuf messages."""

from __future__ import annotations

import base64
import json

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from crm_platform.proto_gen.crm.actas.v1 import actas_pb2 as pb
from services.actas.adapters.chain_heads import public_key_pem
from services.actas.domain import heads
from services.actas.entrypoints.proto_mapping import ts


def chain_head(head: heads.SignedHead, created: bool) -> pb.ChainHead:
    return pb.ChainHead(
        chain_seq=head.chain_seq,
        head_hash=head.head_hash,
        signed_at=ts(head.signed_at),
        key_id=head.key_id,
        signature=base64.b64encode(head.signature).decode("ascii"),
        document=json.dumps(head.to_json(), sort_keys=True, ensure_ascii=False),
        created=created,
    )


def chain_public_key(key: Ed25519PublicKey) -> pb.ChainPublicKey:
    return pb.ChainPublicKey(algorithm="Ed25519", key_id=heads.key_id(key), public_key_pem=public_key_pem(key))
