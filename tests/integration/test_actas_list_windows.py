"""Lists of actas on the real SecantusDB: read newest first in widening time windows
(``MongoRepository.query``), they answer exactly what one query over the whole
range answers, and every window of the web app's filters is an index range."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pymongo
import pytest
from pymongo.database import Database

from devstack.infra import Stack
from services.actas.adapters import mapping, repository
from services.actas.domain.model import Acta, Method, Participant, Role, Signature, Status
from services.actas.service_layer.ports import ActaFilter

NOW = datetime.now(UTC).replace(microsecond=0)
TEMPLATES = ("visita_domiciliaria@1", "capacitacion@1", "orientacion_fes@1")


@pytest.fixture(scope="module")
def store(stack: Stack) -> Iterator[tuple[repository.MongoRepository, Database[dict[str, Any]], list[Acta]]]:
    name = f"actas_windows_{uuid.uuid4().hex[:8]}"
    repository.connect(stack.env["MONGO_URI"], name)
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(stack.env["MONGO_URI"], tz_aware=True)
    rng = random.Random(7)
    # Captured from a few minutes to ten years ago (and one a day ahead: a kiosk's
    # clock), so the reads cross many windows and the last, unbounded one.
    ages = [timedelta(minutes=rng.randint(1, 600)) for _ in range(15)]
    ages += [timedelta(days=rng.uniform(1, 4000)) for _ in range(45)] + [-timedelta(days=1)]
    actas = [_acta(i, NOW - age, rng) for i, age in enumerate(ages)]
    client[name].actas.insert_many([mapping.acta_doc(a, [], {}) for a in actas])
    try:
        yield repository.MongoRepository(), client[name], actas
    finally:
        client.drop_database(name)
        client.close()
        repository.disconnect()


def _acta(i: int, captured: datetime, rng: random.Random) -> Acta:
    captured = captured.replace(microsecond=captured.microsecond // 1000 * 1000)  # as stored
    acta = Acta(
        id=f"acta-{i:03d}",
        template_key=rng.choice(TEMPLATES),
        title="Acta",
        values={"lugar": f"Lugar {i}"},
        participants=[Participant("p1", "f1", "Persona Uno", "CC 1")],
        gestor_id=rng.choice(("ana", "luis")),
        community_id="c1",
        captured_at=captured,
        created_at=captured,
    )
    acta.add_signature(Signature("p1", Role.PARTICIPANT, Method.REFUSED, captured, refusal_reason="No firma"))
    if rng.random() < 0.7:
        acta.add_signature(Signature(acta.gestor_id, Role.GESTOR, Method.ELECTRONIC, captured))
        if rng.random() < 0.8:
            acta.seal(captured)
    acta.version = 1
    return acta


def _expected(actas: list[Acta], query: ActaFilter) -> list[str]:
    found = [
        a
        for a in actas
        if (not query.gestor_id or a.gestor_id == query.gestor_id)
        and (not query.template_code or a.template_code == query.template_code)
        and (not query.status or a.status == Status(query.status))
        and (not query.captured_from or a.captured_at >= query.captured_from)
        and (not query.captured_to or a.captured_at < query.captured_to)
    ]
    return [a.id for a in sorted(found, key=lambda a: a.captured_at, reverse=True)[: query.limit]]


@pytest.mark.parametrize(
    "query",
    [
        ActaFilter(limit=5),
        ActaFilter(limit=26),
        ActaFilter(limit=500),
        ActaFilter(status="sealed", template_code="visita_domiciliaria", limit=4),
        ActaFilter(status="sealed", template_code="capacitacion", limit=500),
        ActaFilter(status="draft", limit=3),
        ActaFilter(gestor_id="ana", limit=7),
        ActaFilter(template_code="orientacion_fes", limit=10),
        ActaFilter(gestor_id="luis", status="sealed", limit=500),  # not windowed: one query
        ActaFilter(captured_to=NOW - timedelta(days=30), limit=6),
        ActaFilter(captured_from=NOW - timedelta(days=900), captured_to=NOW - timedelta(days=2), limit=500),
        ActaFilter(captured_from=NOW - timedelta(hours=3), limit=500),
        ActaFilter(captured_from=NOW + timedelta(days=5), limit=5),
    ],
)
def test_a_list_is_the_newest_matching_whatever_the_windows(store, query: ActaFilter) -> None:
    repo, _, actas = store
    assert [a.id for a in repo.query(query)] == _expected(actas, query)


WINDOWED_SELECTORS = [
    {},
    {"status": "sealed"},
    {"status": "sealed", "template_code": "visita_domiciliaria"},
    {"template_code": "capacitacion"},
    {"gestor_id": "ana"},
]


@pytest.mark.parametrize("selector", WINDOWED_SELECTORS)
def test_every_window_of_a_windowed_filter_is_an_index_range(store, selector: dict[str, Any]) -> None:
    """A window that were a collection scan would read every acta once per window
    (before the status indexes, the web app's "Sellada" filter was one)."""
    _, db, _ = store
    window = {**selector, "captured_at": {"$gte": NOW - timedelta(days=1), "$lt": NOW}}
    find = {"find": "actas", "filter": window, "sort": {"captured_at": -1}, "limit": 26}
    plan = db.command("explain", find, verbosity="queryPlanner")["queryPlanner"]["winningPlan"]
    assert "IXSCAN" in str(plan), plan


def test_the_windowed_filters_are_those_checked_above() -> None:
    assert {frozenset(s) for s in WINDOWED_SELECTORS} == repository.WINDOWED
