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


def _spread_actas(db: Database[dict[str, Any]], days: int = 45) -> list[Acta]:
    """Sealed originals on every day of the last ``days`` (uncounted, as if old)."""
    combos = [("visita_domiciliaria@1", "ana", "c1"), ("capacitacion@1", "luis", "c2"), ("capacitacion@1", "ana", "c3")]
    actas = [
        _acta(i, TODAY - timedelta(days=i % days, hours=-(i % 23)), *combos[i % len(combos)]) for i in range(days * 2)
    ]
    db.actas.insert_many([mapping.acta_doc(a, [], {}) for a in actas])
    return actas


def _ranges() -> list[tuple[datetime | None, datetime | None]]:
    """Ranges starting and ending on every weekday, some whole weeks, some open."""
    monday = TODAY - timedelta(days=TODAY.weekday())
    bounds: list[datetime | None] = [None, TODAY + timedelta(days=1)]
    bounds += [monday - timedelta(weeks=w, days=d) for w in (1, 3, 5) for d in (0, 1, 3, 6)]
    return [(a, b) for a in bounds for b in bounds if a is None or b is None or a < b]


def test_week_rollups_answer_every_range_as_the_days_do_and_are_rebuilt_for_an_older_store(store) -> None:
    repo, db = store
    actas = _spread_actas(db)
    repo.backfill_day_counts()
    assert repo.day_counts.weeks_complete()
    assert db.acta_week_counts.count_documents({"dim": "template"}) < db.acta_day_counts.count_documents(
        {"dim": "template"}
    )
    for group_by in ("week", "template", "community"):
        for start, end in _ranges():
            assert repo.day_counts.count(group_by, start, end) == _expected(actas, group_by, start, end), (
                group_by,
                start,
                end,
            )

    # A store whose day counts predate the roll-ups: days alone answer until the rebuild.
    db.acta_week_counts.delete_many({})
    twelve_weeks = (TODAY - timedelta(days=TODAY.weekday(), weeks=11), None)
    assert not repo.day_counts.weeks_complete()
    assert repo.day_counts.count("week", *twelve_weeks) == _expected(actas, "week", *twelve_weeks)
    repo.backfill_day_counts()
    assert repo.day_counts.weeks_complete()
    assert repo.day_counts.count("week", *twelve_weeks) == _expected(actas, "week", *twelve_weeks)

    # A seal after the rebuild counts in its week too.
    draft = _acta(999, TODAY + timedelta(hours=9), "visita_domiciliaria@1", "ana", "c1", sealed=False)
    repo.add(draft, [], {})
    stored = repo.get(draft.id)
    assert stored is not None
    repo.seal(stored, Sealing(stored, TODAY + timedelta(hours=10)))
    assert repo.day_counts.count("week", *twelve_weeks) == _expected([*actas, stored], "week", *twelve_weeks)
