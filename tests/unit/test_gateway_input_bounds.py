"""The gateway's own input rules (issue 12, items 5 and 8): strict base64, no NaN
or infinities, integers within their domain, and the photo limit answered in
Spanish before a body is read."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from crm_platform.grpc_client import channel_options
from crm_platform.grpc_support import MAX_MESSAGE_BYTES
from crm_platform.limits import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENT_MB, base64_length
from gateway import errors, schemas
from gateway.middleware import BodySizeLimit


@pytest.mark.parametrize("text", ["ñandú==", "AAAA€", "AA AA", "AAA", "AA==AA==", "AA-_"])
def test_base64_that_is_not_strict_ascii_base64_is_a_400_naming_the_field(text: str) -> None:
    with pytest.raises(errors.ApiError) as caught:
        schemas.decode_base64(text, "content_base64")
    assert caught.value.status == 400
    assert caught.value.fields == {"content_base64": "No es base64 válido"}


def test_strict_base64_decodes() -> None:
    assert schemas.decode_base64("aG9sYQ==", "x") == b"hola"


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"peso": float("nan")}, "values.peso"),
        ({"peso": float("inf")}, "values.peso"),
        ({"ubicacion": {"lat": 1.0, "lon": float("-inf")}}, "values.ubicacion.lon"),
        ({"medidas": [1, 2.5, float("nan")]}, "values.medidas.2"),
    ],
)
def test_a_non_finite_number_anywhere_is_a_400_naming_its_path(values: dict[str, Any], field: str) -> None:
    with pytest.raises(errors.ApiError) as caught:
        schemas.refuse_non_finite(values, "values")
    assert caught.value.status == 400 and list(caught.value.fields) == [field]


def test_finite_numbers_and_other_values_pass() -> None:
    schemas.refuse_non_finite({"a": 1, "b": 2.5, "c": [True, None, "NaN"], "d": {"e": -1e300}}, "values")


def bounded_app() -> FastAPI:
    app = FastAPI()
    errors.install(app)

    @app.get("/items")
    def items(limit: schemas.PageLimit = 50, ttl_seconds: schemas.LinkTtl = 900) -> dict[str, int]:
        return {"limit": limit, "ttl_seconds": ttl_seconds}

    return app


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("limit=1000000000000", "limit", "Debe ser como máximo 500"),
        ("limit=0", "limit", "Debe ser al menos 1"),
        ("limit=-5", "limit", "Debe ser al menos 1"),
        ("ttl_seconds=1000000000000", "ttl_seconds", "Debe ser como máximo 86400"),
        ("ttl_seconds=0", "ttl_seconds", "Debe ser al menos 1"),
    ],
)
def test_integers_out_of_their_range_are_a_400_in_spanish_naming_the_field(
    query: str, field: str, message: str
) -> None:
    r = TestClient(bounded_app()).get(f"/items?{query}")
    assert r.status_code == 400
    assert r.json() == {"error": "Solicitud inválida", "fields": {field: message}}


def test_integers_in_range_pass() -> None:
    assert TestClient(bounded_app()).get("/items?limit=500&ttl_seconds=86400").json() == {
        "limit": 500,
        "ttl_seconds": 86400,
    }


def test_the_one_attachment_limit_fits_the_grpc_messages_both_ways() -> None:
    assert base64_length(MAX_ATTACHMENT_BYTES) == schemas.MAX_ATTACHMENT_BASE64
    assert MAX_MESSAGE_BYTES > MAX_ATTACHMENT_BYTES
    options = dict(channel_options())
    assert options["grpc.max_send_message_length"] == options["grpc.max_receive_message_length"] == MAX_MESSAGE_BYTES
    assert f"La foto supera el tamaño máximo de {MAX_ATTACHMENT_MB} MB" == schemas.PHOTO_TOO_LARGE


def run(middleware: BodySizeLimit, path: str, chunks: list[bytes], declared: int | None) -> tuple[list[Any], int]:
    sent: list[Any] = []
    pending = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
    read = 0

    async def receive() -> Any:
        nonlocal read
        read += 1
        return pending.pop(0)

    async def send(message: Any) -> None:
        sent.append(message)

    headers = [] if declared is None else [(b"content-length", str(declared).encode())]
    asyncio.run(middleware({"type": "http", "path": path, "headers": headers}, receive, send))
    return sent, read


async def app_reading_everything(scope: Any, receive: Any, send: Any) -> None:
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 201, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def limiter() -> BodySizeLimit:
    return BodySizeLimit(
        app_reading_everything,
        max_bytes=100,
        larger={"/api/v1/attachments": 1000},
        messages={"/api/v1/attachments": schemas.PHOTO_TOO_LARGE},
    )


def test_a_photo_declared_over_the_limit_is_refused_in_spanish_before_its_body_is_read() -> None:
    sent, read = run(limiter(), "/api/v1/attachments", [b"x" * 600, b"x" * 600], declared=1200)
    assert read == 0
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"]) == {"error": schemas.PHOTO_TOO_LARGE}


def test_a_streamed_photo_over_the_limit_is_refused_in_spanish_too() -> None:
    sent, _ = run(limiter(), "/api/v1/attachments", [b"x" * 600, b"x" * 600], declared=None)
    assert sent[0]["status"] == 413 and json.loads(sent[1]["body"]) == {"error": schemas.PHOTO_TOO_LARGE}


def test_other_bodies_keep_the_general_message() -> None:
    sent, _ = run(limiter(), "/api/v1/communities", [b"x" * 101], declared=101)
    assert sent[0]["status"] == 413 and json.loads(sent[1]["body"]) == {"error": "El cuerpo supera 100 bytes"}
