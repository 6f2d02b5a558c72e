"""Typed domain errors. Messages are in Spanish: they reach gestores unchanged."""

from __future__ import annotations

from collections.abc import Mapping


class DomainError(Exception):
    """Base class of the beneficiaries service's errors."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationFailed(DomainError):
    """One or more fields are invalid; ``errors`` maps each field to its message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        summary = "; ".join(f"{field}: {msg}" for field, msg in self.errors.items())
        super().__init__(f"Datos inválidos: {summary}")


class NotFound(DomainError):
    """The referenced community, family or beneficiary does not exist."""

    def __init__(self, entity: str, ident: str) -> None:
        self.entity = entity
        self.ident = ident
        super().__init__(f"No existe {entity} con identificador {ident!r}")


class AlreadyExists(DomainError):
    """A unique value (such as a national ID) is already registered."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


class Conflict(DomainError):
    """The command contradicts the current state (a household rule, a stale version)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)


class PermissionDenied(DomainError):
    """The caller's role may not perform this operation."""
