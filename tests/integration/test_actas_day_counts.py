"""The day counts behind ``CountActas`` on the real SecantusDB: what they answer is
what counting the actas answers; seals keep them in their transaction; a backfill of
actas sealed before them counts each acta once, even run twice at the same time;
a range that cuts a day is counted from the actas."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pymongo
import pytest
from pymongo.database import Database

from devstack.infra import Stack
from services.actas.adapters import mapping, repository
from services.actas.domain.model import Acta, Method, Participant, Role, Signature
from services.actas.domain.sealing import Sealing
from services.actas.service_layer.ports import CountFilter

TODAY = datetime.combine(datetime.now(UTC).date(), time(0), UTC)


@pytest.fixture
def store(stack: Stack) -> Iterator[tuple[repository.MongoRepository, Database[dict[str, Any]]]]:
    name = f"actas_counts_{uuid.uuid4().hex[:8]}"
    repository.connect(stack.env["MONGO_URI"], name)
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(stack.env["MONGO_URI"], tz_aware=True)
    try:
        yield repository.MongoRepository(), client[name]
    finally:
        client.drop_database(name)
        client.close()
        repository.disconnect()


def _acta(i: int, captured: datetime, template: str, gestor: str, community: str, sealed: bool = True) -> Acta:
    acta = Acta(
        id=f"acta-{uuid.uuid4().hex[:6]}-{i}",
        template_key=template,
        title="Acta",
        values={"lugar": "Roche"},
        participants=[Participant("p1", "f1", "Persona Uno", "CC 1")],
        gestor_id=gestor,
        community_id=community,
        captured_at=captured,
        created_at=captured,
    )
    acta.add_signature(Signature("p1", Role.PARTICIPANT, Method.REFUSED, captured, refusal_reason="No firma"))
    acta.add_signature(Signature(gestor, Role.GESTOR, Method.ELECTRONIC, captured))
    if sealed:
        acta.seal(captured)
    acta.version = 1
    return acta


def _old_actas(db: Database[dict[str, Any]]) -> list[Acta]:
    """Actas stored before the day counts existed (no ``counted`` mark), over ten days."""
    actas = [
        _acta(i, TODAY - timedelta(days=i % 10, hours=-(i % 20)), t, g, c)
        for i, (t, g, c) in enumerate(
            [
                ("visita_domiciliaria@1", "ana", "c1"),
                ("capacitacion@1", "luis", "c2"),
                ("visita_domiciliaria@1", "luis", "c1"),
            ]
            * 14
        )
    ]
    drafts = [_acta(100 + i, TODAY - timedelta(days=i), "capacitacion@1", "ana", "c1", sealed=False) for i in range(3)]
    docs = [mapping.acta_doc(a, [], {}) for a in [*actas, *drafts]]
    correction = {**docs[0], "_id": "correccion-1", "amends": docs[0]["_id"], "folio": ""}
    db.actas.insert_many([*docs, correction])
    return actas


def _expected(actas: list[Acta], group_by: str, start: datetime | None, end: datetime | None) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for a in actas:
        if (start and a.captured_at < start) or (end and a.captured_at >= end):
            continue
        if group_by == "week":
            year, week, _ = a.captured_at.isocalendar()
            counts[f"{year}-W{week:02d}"] += 1
        else:
            counts[{"template": a.template_key, "gestor": a.gestor_id, "community": a.community_id}[group_by]] += 1
    return dict(sorted(counts.items()))


def test_a_backfill_counts_old_actas_once_even_run_twice_at_the_same_time(store) -> None:
    repo, db = store
    actas = _old_actas(db)
    assert repo.day_counts.count("template", None, None) is None  # not complete: the caller scans
    runners = [threading.Thread(target=repo.backfill_day_counts) for _ in range(2)]
    for runner in runners:
        runner.start()
    for runner in runners:
        runner.join(timeout=120)
    assert db.actas.count_documents({"counted": True}) == len(actas)  # not the drafts, not the correction
    week_ago, tomorrow = TODAY - timedelta(days=7), TODAY + timedelta(days=1)
    for group_by in ("template", "gestor", "community", "week"):
        for start, end in ((None, None), (week_ago, tomorrow), (week_ago, None), (None, TODAY)):
            projected = repo.day_counts.count(group_by, start, end)
            assert projected == _expected(actas, group_by, start, end), (group_by, start, end)
            assert repo.count(CountFilter(group_by=group_by, captured_from=start, captured_to=end)) == projected
    assert repo.day_counts.backfill(repo._transaction) == 0  # nothing left to count


def test_a_seal_counts_itself_and_a_range_that_cuts_a_day_is_counted_from_the_actas(store) -> None:
    repo, db = store
    repo.backfill_day_counts()  # an empty store: complete at once
    draft = _acta(1, TODAY + timedelta(hours=10), "visita_domiciliaria@1", "ana", "c9", sealed=False)
    repo.add(draft, [], {})
    stored = repo.get(draft.id)
    assert stored is not None
    repo.seal(stored, Sealing(stored, TODAY + timedelta(hours=11)))
    assert repo.day_counts.count("community", TODAY, None) == {"c9": 1}
    assert db.actas.find_one({"_id": draft.id}, {"counted": 1})["counted"] is True
    # Noon to noon: the counters cannot split a day, so the actas are counted.
    noon = TODAY + timedelta(hours=12)
    assert repo.day_counts.count("community", noon - timedelta(days=1), noon) is None
    assert repo.count(CountFilter(group_by="community", captured_from=noon - timedelta(days=1), captured_to=noon)) == {
        "c9": 1
    }
    assert repo.count(CountFilter(group_by="community", captured_from=noon, captured_to=None)) == {}
