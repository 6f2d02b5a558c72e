"""Errors of the workflow engine, on the kit's vocabulary (``crm_platform.errors``).

Messages are in Spanish: a coordinator reads them when a definition is refused, a
gestor when a transition is not allowed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from crm_platform.errors import Aborted, FailedPrecondition, InvalidArgument, NotFound


@dataclass(frozen=True)
class Problem:
    """One reason a definition is refused: where (``place``: a state or a
    transition), which of its fields, and why (Spanish)."""

    place: str
    field: str
    reason: str

    @property
    def key(self) -> str:
        return f"{self.place}.{self.field}" if self.field else self.place


class DefinitionInvalid(InvalidArgument):
    """The definition was refused; ``problems`` says where and why."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        fields: dict[str, str] = {}
        for p in self.problems:
            fields[p.key] = f"{fields[p.key]}; {p.reason}" if p.key in fields else p.reason
        super().__init__(fields, "La definición del flujo de trabajo no es válida")


class DefinitionNotFound(NotFound):
    """No definition with that component (and version)."""


class InstanceNotFound(NotFound):
    """No instance with that id."""


class TransitionNotAllowed(FailedPrecondition):
    """The transition does not exist or does not leave the instance's state."""


class GuardFailed(FailedPrecondition):
    """A guard was false (or could not be evaluated); ``guard`` names it and
    ``values`` are the values it saw (path -> value, ``None`` when absent)."""

    def __init__(self, guard: str, expression: str, values: Mapping[str, Any], message: str) -> None:
        super().__init__(message, fields={"guard": guard})
        self.guard = guard
        self.expression = expression
        self.values = dict(values)


class VersionConflict(Aborted):
    """The instance changed since the caller read it: re-read and retry."""
