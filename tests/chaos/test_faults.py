"""The fault suite, short: each fault against one stack while a kiosk submits
(``harness.SHORT``: 50 submissions, one strike), then every invariant; the
table is printed at the end of the run. The full version is ``make chaos``."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import pytest

from tests.chaos import harness
from tests.chaos.harness import SHORT, ChaosStack, Config, Result

pytestmark = [pytest.mark.integration, pytest.mark.chaos, pytest.mark.timeout(300)]


def run(scenario: Callable[..., Result], chaos: ChaosStack, results: list[Result]) -> None:
    config: Config = replace(SHORT, deadline=time.monotonic() + 240)
    result = scenario(chaos, config)
    results.append(result)
    assert result.ok, result.report()


def test_a_killed_ingest_worker_loses_and_duplicates_nothing(chaos: ChaosStack, chaos_results: list[Result]) -> None:
    run(harness.ingest_kill, chaos, chaos_results)


def test_a_killed_documents_service_leaves_one_matching_signed_pdf_per_acta(
    chaos: ChaosStack, chaos_results: list[Result]
) -> None:
    run(harness.documents_kill, chaos, chaos_results)


def test_a_killed_notifications_service_sends_each_message_once(chaos: ChaosStack, chaos_results: list[Result]) -> None:
    run(harness.notifications_kill, chaos, chaos_results)


def test_a_store_killed_right_after_a_commit_keeps_every_acknowledged_seal(
    chaos: ChaosStack, chaos_results: list[Result]
) -> None:
    run(harness.store_kill, chaos, chaos_results)


def test_a_broker_restarted_mid_drain_loses_and_duplicates_nothing(
    chaos: ChaosStack, chaos_results: list[Result]
) -> None:
    run(harness.broker_restart, chaos, chaos_results)
