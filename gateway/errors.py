"""Errors translated to HTTP once: gRPC status codes and request validation."""

from __future__ import annotations

import logging
from typing import Any

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from crm_platform.grpc_support import field_errors

log = logging.getLogger(__name__)

GRPC_TO_HTTP: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 413,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}


class ApiError(Exception):
    """An error raised by the gateway itself, already in HTTP terms."""

    def __init__(self, status: int, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields or {}


def body(message: str, fields: dict[str, str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"error": message}
    if fields:
        out["fields"] = fields
    return out


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


_PYDANTIC_ES = {
    "missing": "Campo obligatorio",
    "string_type": "Debe ser texto",
    "bool_type": "Debe ser verdadero o falso",
    "bool_parsing": "Debe ser verdadero o falso",
    "int_type": "Debe ser un número entero",
    "int_parsing": "Debe ser un número entero",
    "json_invalid": "El cuerpo no es JSON válido",
    "model_attributes_type": "Debe ser un objeto JSON",
    "dict_type": "Debe ser un objeto JSON",
    "extra_forbidden": "Campo no reconocido",
    "string_too_long": "Texto demasiado largo",
    "literal_error": "Valor no permitido",
    "greater_than_equal": "Debe ser al menos {ge}",
    "less_than_equal": "Debe ser como máximo {le}",
    "finite_number": "Debe ser un número finito",
}


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(body(exc.message, exc.fields), status_code=exc.status)

    @app.exception_handler(grpc.RpcError)
    async def rpc_error(_: Request, exc: grpc.RpcError) -> JSONResponse:
        code = exc.code()
        status = GRPC_TO_HTTP.get(code, 502)
        if status >= 500:
            log.warning("backend call failed: %s %s", code, exc.details())
            message = "Servicio no disponible; intente de nuevo" if status in (503, 504) else "Error del servicio"
            return JSONResponse(body(message), status_code=status)
        return JSONResponse(body(exc.details(), field_errors(exc)), status_code=status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        fields: dict[str, str] = {}
        for err in exc.errors():
            spanish = _PYDANTIC_ES.get(err.get("type", ""))
            message = spanish.format_map(err.get("ctx") or {}) if spanish else err.get("msg", "Valor inválido")
            fields[_field_name(tuple(err.get("loc", ())))] = message
        return JSONResponse(body("Solicitud inválida", fields), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        messages = {404: "Recurso no encontrado", 405: "Método no permitido"}
        return JSONResponse(body(messages.get(exc.status_code, str(exc.detail))), status_code=exc.status_code)
