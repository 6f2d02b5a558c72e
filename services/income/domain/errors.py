"""Typed errors of the income domain. Messages are in Spanish: gestores and
coordinators read them. Each belongs to the platform's error vocabulary
(``crm_platform.errors``), which the gRPC server translates to a status code."""

from __future__ import annotations

from collections.abc import Mapping

from crm_platform import errors as vocabulary


class IncomeError(Exception):
    """Base class of the income service's errors."""


class PlanInvalid(IncomeError, vocabulary.InvalidArgument):
    """A part of an action plan violates its rules; ``fields`` maps each bad field to why."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        vocabulary.InvalidArgument.__init__(self, errors)


class FinancialModelInvalid(PlanInvalid):
    """A financial model that cannot be computed (negative prices, too few months,
    sources that do not add up to the investment); ``fields`` names each bad field."""


class PlanStateError(IncomeError, vocabulary.FailedPrecondition):
    """The plan's state does not allow the operation (editing an approved version,
    approving a draft, approving one's own submission)."""
