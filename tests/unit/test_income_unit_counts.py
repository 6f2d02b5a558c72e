"""The counter documents of the counts per stage (``services/income/adapters/unit_counts.py``)
and the list's page cursor (``service_layer/listing.py``), without a store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crm_platform import errors as vocabulary
from services.income.adapters import unit_counts
from services.income.service_layer import listing

AT = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def up(community: str, sector: str, kind: str, stage: str, at: datetime = AT) -> dict[str, object]:
    return {"community_id": community, "sector": sector, "kind": kind, "stage": stage, "created_at": at}


def test_a_unit_is_in_the_eight_combinations_of_its_community_sector_and_kind() -> None:
    found = unit_counts.keys(up("c1", "comercio", "emprendimiento", "diagnostico"))
    assert len(set(found)) == 8
    assert "c1|comercio|emprendimiento" in found and "*|*|*" in found and "*|comercio|*" in found
    assert unit_counts.key(sector="comercio") == "*|comercio|*"


def test_seed_counts_each_unit_at_its_stage_with_the_oldest_registration() -> None:
    docs = [
        up("c1", "comercio", "emprendimiento", "diagnostico"),
        up("c2", "comercio", "fortalecimiento", "diagnostico", AT - timedelta(days=3)),
        up("c1", "servicios", "emprendimiento", "cerrada", AT - timedelta(days=1)),
    ]
    updates: dict[str, Any] = {u._filter["_id"]: u._doc for u in unit_counts.seed(docs)}
    assert updates["*|*|*"] == {
        "$inc": {"stages.diagnostico": 2, "stages.cerrada": 1},
        "$min": {"first_at": AT - timedelta(days=3)},
    }
    assert updates["c1|*|*"]["$inc"] == {"stages.diagnostico": 1, "stages.cerrada": 1}
    assert updates["*|comercio|*"]["$min"] == {"first_at": AT - timedelta(days=3)}
    assert updates["c2|comercio|fortalecimiento"]["$inc"] == {"stages.diagnostico": 1}


def test_a_page_token_gives_back_its_cursor_and_anything_else_is_a_field_error() -> None:
    token = listing.token({"created_at": AT, "_id": "up-7"})
    cursor = listing.cursor(token)
    assert cursor is not None and (cursor.created_at, cursor.unit_id) == (AT, "up-7")
    assert listing.cursor("") is None
    for bad in ("up-7", token[:-3], listing.token({"created_at": AT.replace(tzinfo=None), "_id": "up-7"})):
        with pytest.raises(vocabulary.InvalidArgument) as refused:
            listing.cursor(bad)
        assert "page_token" in refused.value.fields
    assert (listing.limit(0), listing.limit(10_000), listing.limit(-5)) == (100, 500, 1)
