"""Typed domain errors. Messages are in Spanish: they reach gestores unchanged.

Each is one of the platform's error vocabulary (``crm_platform.errors``), which
the gRPC server translates to a status code (with a ``BadRequest`` naming the
fields at fault); nothing in the service translates. The nameko service returns
them to its callers by class name (``expected_exceptions=(DomainError,)``).
"""

from __future__ import annotations

from collections.abc import Mapping

from crm_platform import errors as vocabulary


class DomainError(Exception):
    """Base class of the beneficiaries service's errors."""


class ValidationFailed(DomainError, vocabulary.InvalidArgument):
    """One or more fields are invalid; ``errors`` maps each field to its message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        summary = "; ".join(f"{field}: {msg}" for field, msg in errors.items())
        vocabulary.InvalidArgument.__init__(self, errors, f"Datos inválidos: {summary}")

    @property
    def errors(self) -> dict[str, str]:
        return self.fields


class NotFound(DomainError, vocabulary.NotFound):
    """The referenced community, family or beneficiary does not exist."""

    def __init__(self, entity: str, ident: str) -> None:
        vocabulary.NotFound.__init__(self, f"No existe {entity} con identificador {ident!r}")
        self.entity = entity
        self.ident = ident


class AlreadyExists(DomainError, vocabulary.AlreadyExists):
    """A unique value (such as a national ID) is already registered; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        vocabulary.AlreadyExists.__init__(self, message, fields={field: message})
        self.field = field


class Conflict(DomainError, vocabulary.FailedPrecondition):
    """The command contradicts the current state (a household rule, a stale version)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        vocabulary.FailedPrecondition.__init__(self, message, fields={field: message} if field else None)
        self.field = field


class PermissionDenied(DomainError, vocabulary.PermissionDenied):
    """The caller's role may not perform this operation."""
