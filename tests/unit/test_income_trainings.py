"""Training compliance per person: ≥ 80 % cumple, ≥ 50 % parcial, below no cumple."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm_platform import errors as vocabulary
from services.income.domain.trainings import band, check_training, compliance


@pytest.mark.parametrize(
    ("attended", "sessions", "expected"),
    [
        (4, 5, "cumple"),
        (5, 5, "cumple"),
        (7, 9, "parcial"),
        (1, 2, "parcial"),
        (2, 5, "no_cumple"),
        (0, 0, "no_cumple"),
    ],
)
def test_bands_at_their_edges(attended: int, sessions: int, expected: str) -> None:
    assert band(attended, sessions) == expected


def test_compliance_counts_only_the_sessions_a_person_was_called_to() -> None:
    sessions = [{"ana": True, "luis": False}, {"ana": True, "luis": True}, {"ana": False}]
    found = {c.beneficiary_id: c for c in compliance(sessions)}
    assert (found["ana"].sessions, found["ana"].attended, found["ana"].band) == (3, 2, "parcial")
    assert found["ana"].percent == Decimal("66.7")
    assert (found["luis"].sessions, found["luis"].attended, found["luis"].band) == (2, 1, "parcial")


def test_a_session_names_either_a_unit_or_a_community_a_topic_and_attendance() -> None:
    with pytest.raises(vocabulary.InvalidArgument) as caught:
        check_training("up-1", "com-1", " ", {})
    assert set(caught.value.fields) == {"unit_id", "topic", "attendance"}
    check_training("up-1", "", "Costos", {"ana": True})
