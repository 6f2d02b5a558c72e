"""The five descriptive parts of a Fluye plan refuse bad input, naming each field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from services.income.domain.errors import PlanInvalid
from services.income.domain.fluye import (
    CompetitionExploration,
    Competitor,
    CustomerArchetype,
    Path,
    ProfileCurve,
    ProfileFactor,
    ProposalCurve,
    block_names,
)
from tests.unit.income_builders import archetype, canvas, exploration, profile, proposal


def problems(build: Callable[[], Any]) -> dict[str, str]:
    with pytest.raises(PlanInvalid) as caught:
        build()
    return caught.value.fields


def test_valid_parts_build() -> None:
    assert len(profile().factors) == 3
    assert canvas().channels == ("Venta en la puerta", "Pedidos por WhatsApp")
    assert archetype().pains
    assert exploration().create == ("Domicilio al amanecer",)
    assert proposal().competitors[1].name == "Tienda de barrio"


@pytest.mark.parametrize("score", [-1, 11, 7.5, True, "8"])
def test_profile_scores_must_be_whole_numbers_from_0_to_10(score: Any) -> None:
    found = problems(lambda: ProfileCurve((ProfileFactor("Oficio", 5, 5), ProfileFactor("Cuentas", score, 5))))
    assert list(found) == ["factors[1].score"]
    assert "entre 0 y 10" in found["factors[1].score"]


def test_profile_target_out_of_range_is_named_apart_from_the_score() -> None:
    found = problems(lambda: ProfileCurve((ProfileFactor("Oficio", 5, 12),)))
    assert list(found) == ["factors[0].target"]
    assert "objetivo" in found["factors[0].target"]


def test_profile_factors_are_required_named_and_not_repeated() -> None:
    assert "factors" in problems(lambda: ProfileCurve(()))
    found = problems(
        lambda: ProfileCurve((ProfileFactor("Oficio", 1, 2), ProfileFactor(" oficio ", 1, 2), ProfileFactor("", 1, 2)))
    )
    assert "repetido" in found["factors[1].name"]
    assert "vacío" in found["factors[2].name"]


def test_the_canvas_has_nine_blocks_and_every_one_is_required() -> None:
    assert len(block_names()) == 9
    found = problems(lambda: canvas(channels=(), cost_structure=("Harina", "  ")))
    assert set(found) == {"channels", "cost_structure[1]"}
    assert "canales" in found["channels"]


def test_a_canvas_block_has_a_bounded_number_of_entries_of_bounded_length() -> None:
    assert "key_resources" in problems(lambda: canvas(key_resources=tuple(f"r{i}" for i in range(21))))
    assert "key_resources[0]" in problems(lambda: canvas(key_resources=("x" * 301,)))


def test_the_archetype_needs_jobs_pains_and_gains() -> None:
    found = problems(lambda: CustomerArchetype("", (), ("Tranquilidad",), (), ("Ahorro",)))
    assert set(found) == {"description", "functional_jobs", "pains"}


def test_every_one_of_the_six_paths_needs_a_finding() -> None:
    paths = {path: "algo" for path in Path if path is not Path.TIME}
    found = problems(lambda: exploration(paths=paths))
    assert list(found) == ["paths.time"]
    assert "Tendencias en el tiempo" in found["paths.time"]


def test_an_unknown_path_is_refused() -> None:
    paths: dict[Any, str] = {path: "algo" for path in Path}
    paths["cuarta_dimension"] = "algo"
    assert "paths.cuarta_dimension" in problems(lambda: exploration(paths=paths))


def test_the_errc_grid_needs_at_least_one_action_but_not_one_per_quadrant() -> None:
    assert "errc" in problems(lambda: exploration(eliminate=(), raise_=(), create=()))
    only_create = exploration(eliminate=(), raise_=())
    assert only_create.create and not only_create.reduce
    assert "errc.reduce[0]" in problems(lambda: exploration(reduce=("",)))


def test_paths_accept_plain_text_keys_as_well_as_the_enum() -> None:
    built = CompetitionExploration(paths={path.value: "algo" for path in Path}, create=("Domicilio",))
    assert built.paths["time"] == "algo"


def test_every_competitor_is_scored_on_the_same_factors() -> None:
    found = problems(
        lambda: ProposalCurve(
            ("Precio", "Frescura"), (5, 6), (Competitor("Centro", (5,)), Competitor("Centro", (1, 99)))
        )
    )
    assert "mismos 2 factores" in found["competitors[0].scores"]
    assert "repetido" in found["competitors[1].name"]
    assert "entre 0 y 10" in found["competitors[1].scores[1]"]


def test_the_proposal_needs_competitors_and_its_own_scores_per_factor() -> None:
    found = problems(lambda: ProposalCurve(("Precio",), (5, 6), ()))
    assert set(found) == {"proposal", "competitors"}
