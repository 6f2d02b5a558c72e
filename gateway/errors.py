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


def _field_name(error: dict[str, Any]) -> str:
    if error.get("type") == "json_invalid":
        return "body"  # its loc ends with the character position, not a field
    parts = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


# What starlette and FastAPI answer on their own (unknown route or method, a body
# that cannot be read), in the user's words.
HTTP_MESSAGES = {
    400: "El cuerpo de la solicitud no se puede leer: envíe JSON válido en UTF-8",
    404: "Recurso no encontrado",
    405: "Método no permitido",
}
INTERNAL = "Error interno del servidor; intente de nuevo más tarde"


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
    "string_too_long": "Texto demasiado largo (máximo {max_length} caracteres)",
    "string_too_short": "Texto demasiado corto (mínimo {min_length} caracteres)",
    "too_long": "Demasiados elementos (máximo {max_length})",
    "too_short": "Muy pocos elementos (mínimo {min_length})",
    "list_type": "Debe ser una lista",
    "float_type": "Debe ser un número",
    "float_parsing": "Debe ser un número",
    "int_from_float": "Debe ser un número entero",
    "datetime_type": "Debe ser fecha y hora ISO-8601, p. ej. 2026-11-20T10:00:00-05:00",
    "datetime_parsing": "Debe ser fecha y hora ISO-8601, p. ej. 2026-11-20T10:00:00-05:00",
    "datetime_from_date_parsing": "Debe ser fecha y hora ISO-8601, p. ej. 2026-11-20T10:00:00-05:00",
    "greater_than": "Debe ser mayor que {gt}",
    "less_than": "Debe ser menor que {lt}",
    "string_unicode": "Debe ser texto UTF-8",
    "literal_error": "Valor no permitido",
    "greater_than_equal": "Debe ser al menos {ge}",
    "less_than_equal": "Debe ser como máximo {le}",
    "finite_number": "Debe ser un número finito",
}


# Errors the gateway's own validators raise, with a Spanish message (gateway.catalogs).
_OWN_MESSAGES = {"catalog_code"}


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
            if spanish:
                message = spanish.format_map(err.get("ctx") or {})
            elif err.get("type") in _OWN_MESSAGES:
                message = err.get("msg", "Valor inválido")  # already in Spanish
            else:
                message = "Valor inválido"  # pydantic's text is English: never shown
            fields[_field_name(dict(err))] = message
        return JSONResponse(body("Solicitud inválida", fields), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = HTTP_MESSAGES.get(exc.status_code) or ("Solicitud rechazada" if exc.status_code < 500 else INTERNAL)
        fields = {"body": "No es JSON válido en UTF-8"} if exc.status_code == 400 else None
        return JSONResponse(body(message, fields), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The trace goes to the log, never to the user.
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse(body(INTERNAL), status_code=500)
