"""The one error vocabulary of every service.

A service's domain errors subclass these (``FieldsInvalid(InvalidArgument)``,
``InvalidState(FailedPrecondition)``, ...). The gRPC server interceptor
(``crm_platform.grpc_support.ErrorInterceptor``) turns them into status codes, with
per-field details for ``InvalidArgument``; clients turn status codes back into
these (``crm_platform.grpc_support.raise_service_error``); the gateway maps them to
HTTP in one table. No service writes its own translation.

Messages are in Spanish where a person reads them (gestores, coordinators). This
module imports nothing but the standard library: domain code may depend on it.
"""

from __future__ import annotations

from collections.abc import Mapping


class ServiceError(Exception):
    """Base of the vocabulary; ``str(error)`` is the message the caller sees."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(ServiceError):
    """The request is malformed; ``fields`` maps each offending field to why."""

    def __init__(self, fields: Mapping[str, str] | None = None, message: str = "") -> None:
        self.fields = dict(fields or {})
        summary = "; ".join(f"{k}: {v}" for k, v in self.fields.items())
        super().__init__(message or summary or "Solicitud inválida")


class NotFound(ServiceError):
    """The named record does not exist."""


class AlreadyExists(ServiceError):
    """A record with the same identity exists."""


class FailedPrecondition(ServiceError):
    """The operation contradicts the record's current state (a rule, not a race)."""


class PermissionDenied(ServiceError):
    """The caller's role may not perform the operation."""


class Unauthenticated(ServiceError):
    """The caller did not prove who it is."""


class Unavailable(ServiceError):
    """A dependency did not answer; the same request may succeed later."""


class Aborted(ServiceError):
    """A concurrent change won; re-read and retry."""


VOCABULARY: tuple[type[ServiceError], ...] = (
    InvalidArgument,
    NotFound,
    AlreadyExists,
    FailedPrecondition,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
    Aborted,
)
