"""The close of business (COB) and the portfolio indicators, over the whole portfolio.

``close(day)`` ages every active loan as of ``day`` in one pass over a projection of
the summary fields (``loan_ageing.age``: the domain's arrears and indicator rules),
and writes only the loans whose state changed, 500 at a time, each update
conditional on the loan's revision; the events go out with them in the same
commit (a transaction with one ``loan_events`` document whose outbox holds the
batch's events, or, without transactions or when a loan changed meanwhile, each
loan's own outbox in the same write as its change):

- ``loan_became_overdue`` when a loan goes from up to date to a bucket, and
  ``loan_bucket_changed`` on every change of bucket (back to up to date included);
- ``loan_repayment_due`` once per installment, when its due date is within the
  product's ``reminder_days`` (default ``INCOME_LOAN_REMINDER_DAYS``, 3);
- the portfolio snapshot of the day (PAR30, PAR90, arrears and repayment rates, in
  total and by community, adviser, sector and owner's sex) in ``loan_closings``.

Idempotent: a second close of the same day finds nothing changed and writes
nothing (the stored bucket and the last reminded due date are the state it
compares with); a loan already closed on a later day is not aged backwards, and the
first snapshot of a day stays. Two replicas closing together are harmless: each
write is conditional on the revision read, so a loan written by the other is read
again and found unchanged. Postings dated on or before the last day closed since
the loan was registered are refused by the ledger (``Loan.closed_through``;
``LoanHandlers.ledger``): a loan registered after a close, a legacy one loaded from
paper say, may still be disbursed on earlier days, since no close reported on it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from services.income.domain.loans.portfolio import Indicators, indicators, indicators_by
from services.income.service_layer.loan_ageing import DIMENSIONS, Aged, Terms, age
from services.income.service_layer.loan_codec import product_of
from services.income.service_layer.loans import LOANS, event

ACTIVE = ("activo",)
EVENTS = "loan_events"  # the close's event batches, each with its outbox


@dataclass
class Applied:
    """What the store wrote of a close's changes: the loans, the loans whose events
    went to their own outbox, and the event batches (``EVENTS``) written in the same
    transaction as their loans."""

    written: set[str]
    in_loans: list[str]
    batches: list[str]


class ClosingStore(Protocol):
    def all_products(self) -> list[dict[str, Any]]: ...
    def summaries(self, statuses: Sequence[str], batch: int = 5000) -> Iterator[dict[str, Any]]: ...
    def apply_changes(self, changes: list[tuple[str, int, dict[str, Any], list[dict[str, Any]]]]) -> Applied: ...
    def save_closing(self, doc: dict[str, Any]) -> None: ...
    def closing(self, day: str) -> dict[str, Any] | None: ...
    def summary_of(self, loan_ids: list[str]) -> list[dict[str, Any]]: ...


class Flusher(Protocol):
    def flush_many(self, collection: str, aggregate_ids: list[str]) -> int: ...


@dataclass(frozen=True)
class Closing:
    day: date
    loans_read: int
    loans_changed: int
    became_overdue: int
    bucket_changes: int
    reminders: int
    totals: Indicators
    seconds: float


def indicators_doc(ind: Indicators) -> dict[str, Any]:
    def ratio(value: Decimal | None) -> str:
        return "" if value is None else str(value)

    return {
        "loans": ind.loans,
        "principal_outstanding": str(ind.gross_portfolio),
        "par30_principal": str(ind.at_risk_30),
        "par90_principal": str(ind.at_risk_90),
        "par30": ratio(ind.par30),
        "par90": ratio(ind.par90),
        "overdue": str(ind.overdue),
        "arrears_rate": ratio(ind.arrears_rate),
        "due_to_date": str(ind.due_to_date),
        "paid_to_date": str(ind.collected),
        "repayment_rate": ratio(ind.repayment_rate),
    }


class LoanClose:
    def __init__(
        self, store: ClosingStore, flusher: Flusher | None, now: Callable[[], datetime], reminder_days: int = 3
    ) -> None:
        self.store, self.flusher, self.now, self.reminder_days = store, flusher, now, reminder_days

    def terms(self) -> dict[str, Terms]:
        return {
            p["_id"]: Terms(product_of(p), int(p.get("reminder_days") or self.reminder_days))
            for p in self.store.all_products()
        }

    def aged(self, day: date, terms: dict[str, Terms] | None = None) -> Iterable[tuple[dict[str, Any], Aged]]:
        """Every active loan's summary with its ageing as of ``day``, streamed."""
        known = terms or self.terms()
        for doc in self.store.summaries(ACTIVE):
            found = known.get(doc.get("product_code", ""))
            if found is not None:  # a loan's product always exists; a stray document is skipped
                yield doc, age(doc, day, found)

    def portfolio(
        self, day: date, group_by: str = "", ids_per_group: int = 100
    ) -> tuple[Indicators, list[tuple[str, Indicators, list[str], bool]]]:
        """The indicators as of ``day``, in total and by ``group_by`` (comunidad, asesor,
        sector, sexo), each group with up to ``ids_per_group`` loan ids, latest first."""
        rows = [aged for _, aged in self.aged(day)]
        totals = indicators(r.row for r in rows)
        if not group_by:
            return totals, []
        dimension = DIMENSIONS[group_by]
        groups = indicators_by((r.row for r in rows), dimension)
        members: dict[str, list[Aged]] = {}
        for r in rows:
            members.setdefault(r.row.dims.get(dimension, ""), []).append(r)
        out = []
        for key, ind in groups.items():
            loans = sorted(members.get(key, []), key=lambda a: (-a.days_past_due, a.loan_id))
            out.append((key, ind, [a.loan_id for a in loans[:ids_per_group]], len(loans) > ids_per_group))
        return totals, out

    def close(self, day: date) -> Closing:
        started = time.perf_counter()
        terms = self.terms()
        ordinal = day.toordinal()
        rows: list[Aged] = []
        pending: dict[str, tuple[dict[str, Any], Aged]] = {}
        for doc, aged in self.aged(day, terms):
            rows.append(aged)
            if doc.get("cob", 0) <= ordinal and _changes(doc, aged):
                pending[doc["_id"]] = (doc, aged)
        counts = {"loan_became_overdue": 0, "loan_bucket_changed": 0, "loan_repayment_due": 0}
        written: set[str] = set()
        to_flush: dict[str, list[str]] = {LOANS: [], EVENTS: []}
        for _ in range(3):  # a loan another writer changed meanwhile is read again
            if not pending:
                break
            applied = self._write(day, pending, counts)
            done = applied.written
            written |= done
            to_flush[LOANS] += applied.in_loans
            to_flush[EVENTS] += applied.batches
            retry = [i for i in pending if i not in done]
            pending = {}
            for doc in self.store.summary_of(retry):
                found = terms.get(doc.get("product_code", ""))
                if found is None:
                    continue
                aged = age(doc, day, found)
                if doc.get("cob", 0) <= ordinal and _changes(doc, aged):
                    pending[doc["_id"]] = (doc, aged)
        totals = indicators(r.row for r in rows)
        if self.store.closing(day.isoformat()) is None:
            snapshot: dict[str, Any] = {"_id": day.isoformat(), "totals": indicators_doc(totals), "at": self.now()}
            for name, dimension in DIMENSIONS.items():
                by = indicators_by((r.row for r in rows), dimension)
                snapshot[name] = {key or "-": indicators_doc(ind) for key, ind in by.items()}
            self.store.save_closing(snapshot)
        if self.flusher is not None:
            for collection, ids in to_flush.items():
                for start in range(0, len(ids), 500):
                    self.flusher.flush_many(collection, ids[start : start + 500])
        return Closing(
            day, len(rows), len(written), counts["loan_became_overdue"], counts["loan_bucket_changed"],
            counts["loan_repayment_due"], totals, time.perf_counter() - started,
        )  # fmt: skip

    def _write(self, day: date, pending: dict[str, tuple[dict[str, Any], Aged]], counts: dict[str, int]) -> Applied:
        ids = list(pending)
        now = self.now()
        changes = []
        tally: dict[str, list[str]] = {}
        for loan_id in ids:
            doc, aged = pending[loan_id]
            events = _events(doc, doc, aged, day, now)
            after: dict[str, Any] = {**doc, "bucket": aged.bucket, "cob": day.toordinal()}
            if aged.reminders:
                after["reminded"] = max(r[1] for r in aged.reminders)
            changes.append((loan_id, int(doc["rev"]), after, events))
            tally[loan_id] = [e["type"] for e in events]
        applied = self.store.apply_changes(changes)
        for loan_id in applied.written:
            for kind in tally[loan_id]:
                counts[kind] += 1
        return applied


def _changes(doc: dict[str, Any], aged: Aged) -> bool:
    return aged.bucket != doc.get("bucket", "") or bool(aged.reminders)


def _events(
    identity: dict[str, Any], doc: dict[str, Any], aged: Aged, day: date, now: datetime
) -> list[dict[str, Any]]:
    before = doc.get("bucket", "")
    out = []
    common = {"as_of": day.isoformat(), "days_past_due": aged.days_past_due}
    if aged.bucket != before:
        if not before:
            oldest = aged.oldest_unpaid_due.isoformat() if aged.oldest_unpaid_due else ""
            out.append(
                event("loan_became_overdue", identity, now, **common, oldest_unpaid_due=oldest,
                      overdue_amount=str(aged.overdue))
            )  # fmt: skip
        out.append(event("loan_bucket_changed", identity, now, **common, from_bucket=before, to_bucket=aged.bucket))
    for number, due, rest in aged.reminders:
        out.append(
            event("loan_repayment_due", identity, now, installment=number,
                  due_date=date.fromordinal(due).isoformat(), amount_due=str(rest))
        )  # fmt: skip
    return out
