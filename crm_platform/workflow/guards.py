"""Guards: CEL expressions (``cel-python``) over an instance's data.

A guard is compiled once, when its definition is uploaded: a syntax error is a
``GuardSyntaxError`` whose message says where. Evaluation never runs Python code
of the definition (no ``eval``/``exec``): CEL has no side effects and no access
to anything but the activation (the instance's data, top-level keys as names).

A guard passes only when it evaluates to ``true``; ``false``, a non-boolean, or an
evaluation error (a missing field, a type mismatch, a division by zero) fail it.
``Guard.check`` also returns the values the guard saw: every dotted path the
expression names, resolved in the data (``None`` when absent), for the history and
the error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import celpy
from celpy import celtypes
from celpy.celparser import CELParseError

_ENV = celpy.Environment()
_STRINGS = re.compile(r"\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'")
_PATH = re.compile(r"(?<![\w.])([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)(\s*\()?")
_RESERVED = {"true", "false", "null", "in", "has", "size", "int", "uint", "double", "string", "bool", "bytes"}


class GuardSyntaxError(ValueError):
    """The expression does not compile; the message (Spanish) says where."""


def referenced_paths(expression: str) -> list[str]:
    """Dotted data paths the expression names (``plan.viable``), in order, once.
    A trailing method (``nombre.startsWith(...)``) is not part of the path."""
    paths: list[str] = []
    for match in _PATH.finditer(_STRINGS.sub('""', expression)):
        path, call = match.group(1), match.group(2)
        if call:
            path = path.rpartition(".")[0]  # a method call: the receiver is the path
        if path and path.split(".")[0] not in _RESERVED and path not in paths:
            paths.append(path)
    return paths


def resolve(data: Mapping[str, Any], path: str) -> Any:
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


@dataclass
class Guard:
    name: str
    expression: str
    message: str
    paths: list[str] = field(default_factory=list)
    _program: Any = None

    @classmethod
    def compile(cls, name: str, expression: str, message: str) -> Guard:
        try:
            program = _ENV.program(_ENV.compile(expression))
        except CELParseError as exc:
            first = str(exc).strip().splitlines()
            raise GuardSyntaxError(f"la expresión no compila: {' '.join(line.strip() for line in first[:2])}") from None
        except Exception as exc:  # the parser raises a few lark errors of its own
            raise GuardSyntaxError(f"la expresión no compila: {type(exc).__name__}") from None
        return cls(name, expression, message, referenced_paths(expression), program)

    def check(self, data: Mapping[str, Any]) -> tuple[bool, dict[str, Any]]:
        """(passed, values seen)."""
        seen = {path: resolve(data, path) for path in self.paths}
        try:
            result = self._program.evaluate({key: celpy.json_to_cel(value) for key, value in data.items()})
        except Exception:  # CELEvalError and friends: missing data or mismatched types fail the guard
            return False, seen
        return (isinstance(result, celtypes.BoolType) and bool(result)), seen
