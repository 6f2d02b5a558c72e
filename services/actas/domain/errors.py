"""Typed errors of the actas domain. Messages are in Spanish: gestores read them.

Each is one of the platform's error vocabulary (``crm_platform.errors``), which
the gRPC server translates to a status code; nothing in the service translates.
"""

from __future__ import annotations

from collections.abc import Mapping

from crm_platform import errors as vocabulary


class ActaError(Exception):
    """Base class of the actas service's errors."""


class FieldsInvalid(ActaError, vocabulary.InvalidArgument):
    """Captured values violate the template; ``errors`` maps each field to why."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        vocabulary.InvalidArgument.__init__(self, errors)

    @property
    def errors(self) -> dict[str, str]:
        return self.fields


class TemplateInvalid(ActaError):
    """A template definition is inconsistent (duplicate codes, choices without options)."""


class NotFound(ActaError, vocabulary.NotFound):
    """The named record does not exist."""

    def __init__(self, kind: str, key: str) -> None:
        vocabulary.NotFound.__init__(self, f"No existe {kind} {key!r}")
        self.kind = kind
        self.key = key


class AlreadyExists(ActaError, vocabulary.AlreadyExists):
    """A record with the same identity exists."""


class InvalidState(ActaError, vocabulary.FailedPrecondition):
    """The acta is not in a state that allows the operation (e.g. signing a sealed acta)."""


class ConcurrentUpdate(ActaError, vocabulary.Aborted):
    """The acta changed since it was read; reload and retry."""

    def __init__(self, acta_id: str) -> None:
        vocabulary.Aborted.__init__(self, "El acta cambió mientras se guardaba; reintente")
        self.acta_id = acta_id


class PermissionDenied(ActaError, vocabulary.PermissionDenied):
    """The caller's role does not allow the operation."""


class DependencyUnavailable(ActaError, vocabulary.Unavailable):
    """A service this one depends on (beneficiaries) did not answer; retry later."""


class PairingRefused(ActaError, vocabulary.Unauthenticated):
    """A pairing code that is wrong, expired or already used."""

    def __init__(self) -> None:
        vocabulary.Unauthenticated.__init__(
            self, "Código de emparejamiento inválido, vencido o ya usado; pida uno nuevo a su coordinador"
        )
