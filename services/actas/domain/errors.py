"""Typed errors of the actas domain. Messages are in Spanish: gestores read them."""

from __future__ import annotations

from collections.abc import Mapping


class ActaError(Exception):
    """Base class of the actas service's errors."""


class FieldsInvalid(ActaError):
    """Captured values violate the template; ``errors`` maps each field to why."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


class TemplateInvalid(ActaError):
    """A template definition is inconsistent (duplicate codes, choices without options)."""


class NotFound(ActaError):
    """The named record does not exist."""

    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"No existe {kind} {key!r}")
        self.kind = kind
        self.key = key


class AlreadyExists(ActaError):
    """A record with the same identity exists."""


class PermissionDenied(ActaError):
    """The caller's role does not allow the operation."""


class DependencyUnavailable(ActaError):
    """A service this one depends on (beneficiaries) did not answer; retry later."""
