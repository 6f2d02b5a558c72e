"""The fault suite's stack: one per test module, on a private RabbitMQ node, never
the session's ``stack`` (its processes get killed). Kept under ``var/`` when a
test failed, for the logs. The results table is printed at the end of the run."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from devstack.infra import ROOT
from tests.chaos.harness import ChaosStack, Result, chaos_stack, table

_RESULTS: list[Result] = []


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "chaos: fault injection against a stack of its own (tests/chaos)")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _RESULTS:
        terminalreporter.section("fault suite (short version; make chaos runs the full one)")
        for line in table(_RESULTS).splitlines():
            terminalreporter.write_line(line)


@pytest.fixture(scope="module")
def chaos(request: pytest.FixtureRequest) -> Iterator[ChaosStack]:
    failed_before = request.session.testsfailed
    var_dir = ROOT / "var" / f"chaos-test-{uuid.uuid4().hex[:8]}"
    with chaos_stack(var_dir, keep=lambda: request.session.testsfailed > failed_before) as cs:
        yield cs


@pytest.fixture
def chaos_results() -> list[Result]:
    """Where each test leaves its result, for the table."""
    return _RESULTS
