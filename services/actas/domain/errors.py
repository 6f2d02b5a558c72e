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
