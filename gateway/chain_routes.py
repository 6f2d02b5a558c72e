"""HTTP routes of signed chain heads, and the part of the public verification page
that shows the latest one.

- ``POST /api/v1/chain/heads`` (admin, coordinator, auditor): sign and publish the
  current head now; 201 with the new head, or 200 with the last one when the chain
  has not moved since.
- ``GET /api/v1/chain/heads/latest`` and ``GET /api/v1/chain/public-key``: public,
  no login. A head is a count and a hash (no personal data), and it protects only
  if people outside the operator keep copies: anyone in the community must be able
  to download it, and the operator's key to check it, as the public page
  ``/verificar/{id}`` already shows validity without a login.
"""

from __future__ import annotations

import html
import json
from typing import Any

import grpc
from fastapi import FastAPI, Response
from pydantic import BaseModel, Field

from crm_platform.access import PUBLIC
from crm_platform.grpc_support import caller_metadata
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2 as apb
from gateway import auth
from gateway import responses as R
from gateway.deps import Backend, User
from services.actas.access import ACCESS as ACTAS

API = "/api/v1"
PUBLIC_CALLER = "verificacion-publica"


class ChainHeadOut(BaseModel):
    """A signed chain head exactly as ``crm-social verify --head`` reads it."""

    format: str = Field(description="crm-social/chain-head/v1")
    chain_seq: int = Field(description="Entradas de la cadena que cubre")
    head_hash: str = Field(description="Hash de la entrada chain_seq (SHA-256, hex)")
    signed_at: str = Field(description="Momento de la firma (ISO 8601, UTC)")
    key_id: str = Field(description="Identificador de la clave del operador")
    signature: str = Field(description="Firma Ed25519 (base64) de los campos anteriores en JSON canónico")


class PublishedHeadOut(ChainHeadOut):
    created: bool = Field(description="false si la cadena no había avanzado desde la última cabeza")


class ChainPublicKeyOut(BaseModel):
    algorithm: str
    key_id: str
    public_key_pem: str


def _document(head: apb.ChainHead) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(head.document)
    return document


def _public(backend: Backend, method: Any, request: Any) -> Any:
    return method(request, metadata=caller_metadata(PUBLIC_CALLER, PUBLIC), timeout=backend.timeout)


def register(app: FastAPI, backend: Backend) -> None:
    A = backend.actas

    @app.post(
        f"{API}/chain/heads",
        tags=["verification"],
        status_code=201,
        response_model=PublishedHeadOut,
        responses={
            200: {"model": PublishedHeadOut, "description": "La cadena no avanzó: la última cabeza publicada"},
            **R.failures(401, 403, 409),
        },
    )
    def publish_chain_head(user: User, response: Response) -> dict[str, Any]:
        auth.require(user, ACTAS, "PublishChainHead")
        head = backend.call(A.PublishChainHead, apb.PublishChainHeadRequest(), user)
        if not head.created:
            response.status_code = 200
        return {**_document(head), "created": head.created}

    @app.get(
        f"{API}/chain/heads/latest",
        tags=["verification"],
        response_model=ChainHeadOut,
        responses=R.failures(404),
    )
    def latest_chain_head() -> dict[str, Any]:
        return _document(_public(backend, A.GetLatestChainHead, apb.GetLatestChainHeadRequest()))

    @app.get(
        f"{API}/chain/public-key",
        tags=["verification"],
        response_model=ChainPublicKeyOut,
        responses=R.failures(),
    )
    def chain_public_key() -> dict[str, Any]:
        key = _public(backend, A.GetChainPublicKey, apb.GetChainPublicKeyRequest())
        return {"algorithm": key.algorithm, "key_id": key.key_id, "public_key_pem": key.public_key_pem}


def head_section(backend: Backend, chain_seq: int) -> str:
    """The latest signed head on ``/verificar/{id}`` and whether it covers the acta
    at ``chain_seq``. Empty when the service cannot say (the page still answers)."""
    try:
        head = _public(backend, backend.actas.GetLatestChainHead, apb.GetLatestChainHeadRequest())
    except grpc.RpcError as exc:  # no head yet, or the service did not answer: the page shows the rest
        if exc.code() != grpc.StatusCode.NOT_FOUND:
            return ""
        return '<p id="cabeza-firmada">Aún no se ha publicado ninguna cabeza de cadena firmada por el operador.</p>'
    signed_at = head.signed_at.ToDatetime().strftime("%Y-%m-%d %H:%M UTC")
    covered = (
        "Esta acta está cubierta por ella: si alguien reescribiera la base de datos, quien guardó esa cabeza "
        "lo detectaría."
        if 0 < chain_seq <= head.chain_seq
        else "Esta acta es posterior: quedará cubierta en la próxima publicación."
    )
    return (
        '<p id="cabeza-firmada">Última cabeza de cadena firmada por el operador: entrada '
        f"{head.chain_seq}, hash <code>{html.escape(head.head_hash[:16])}…</code>, firmada el {signed_at}. "
        f'{covered} Descárguela en <a href="{API}/chain/heads/latest">{API}/chain/heads/latest</a> '
        f'(clave pública en <a href="{API}/chain/public-key">{API}/chain/public-key</a>).</p>'
    )
