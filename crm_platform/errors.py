"""The one error vocabulary of every service.

A service's domain errors subclass these (``FieldsInvalid(InvalidArgument)``,
``InvalidState(FailedPrecondition)``, ...). The gRPC server interceptor
(``crm_platform.grpc_support.ErrorInterceptor``) turns them into status codes, with
per-field details for ``InvalidArgument`` and for any other error raised with
``fields`` (the duplicate national ID of an ``AlreadyExists``); clients turn
status codes back into these (``crm_platform.grpc_client.service_error``); the
gateway maps them to HTTP in one table. No service writes its own translation.

Messages are in Spanish where a person reads them (gestores, coordinators). This
module imports nothing but the standard library: domain code may depend on it.
"""

from __future__ import annotations

from collections.abc import Mapping


class ServiceError(Exception):
    """Base of the vocabulary; ``str(error)`` is the message the caller sees.
    ``fields`` optionally names the fields at fault (field -> why)."""

    def __init__(self, message: str = "", *, fields: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = dict(fields or {})


class InvalidArgument(ServiceError):
    """The request is malformed; ``fields`` maps each offending field to why."""

    def __init__(self, fields: Mapping[str, str] | None = None, message: str = "") -> None:
        fields = dict(fields or {})
        summary = "; ".join(f"{k}: {v}" for k, v in fields.items())
        super().__init__(message or summary or "Solicitud inválida", fields=fields)


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
