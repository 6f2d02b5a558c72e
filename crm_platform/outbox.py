"""Transactional outbox relay shared by the services.

Publishes the events stored with each aggregate, then removes them.

``flush`` runs right after a command's write; ``sweep`` runs periodically and
picks up whatever a crash or a broker outage left behind. Both may publish the
same event twice; consumers are idempotent (they key on the event id).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.context import Context
from pymongo.collection import Collection

from crm_platform.contracts import ContractViolation
from crm_platform.messaging import EventPublisher, PublishError
from crm_platform.process import Periodic

log = logging.getLogger(__name__)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class OutboxRelay:
    def __init__(self, publisher: EventPublisher, collections: dict[str, Collection]) -> None:
        self._publisher = publisher
        self._collections = collections

    def flush(self, collection: str, aggregate_id: str) -> None:
        self.flush_many(collection, [aggregate_id])

    def flush_many(
        self, collection: str, aggregate_ids: Sequence[str], contexts: Mapping[str, Context] | None = None
    ) -> int:
        """``flush`` for several aggregates of one collection: one read and one write
        for all of them, however many there are. Returns the events published.
        ``contexts``: the trace context each aggregate was written in, so its
        events continue that trace when another thread publishes them."""
        coll = self._collections[collection]
        selector = {"_id": {"$in": list(aggregate_ids)}}
        published: list[str] = []
        try:
            for raw in coll.find(selector, {"outbox": 1}):
                entries = raw.get("outbox") or []
                written_in = (contexts or {}).get(raw["_id"])
                token = otel_context.attach(written_in) if written_in is not None else None
                try:
                    done = self._publish_each(entries)
                finally:
                    if token is not None:
                        otel_context.detach(token)
                published += done
                if len(done) < len(entries):
                    break  # the broker refused one: the sweep takes it from here, in order
        finally:
            if published:
                # Event ids are unique, so one $pull of all of them is right for each aggregate.
                coll.update_many(selector, {"$pull": {"outbox": {"id": {"$in": published}}}})
        return len(published)

    def sweep(self, older_than: timedelta = timedelta(seconds=5), batch: int = 200) -> int:
        """Publish events left in outboxes for longer than ``older_than``."""
        cutoff = datetime.now(UTC) - older_than
        published = 0
        for coll in self._collections.values():
            # The lower bound keeps this a bounded index range: with only "$lt",
            # SecantusDB walks every document (empty outboxes included).
            pending = {"outbox.created_at": {"$gte": _EPOCH, "$lt": cutoff}}
            for raw in coll.find(pending, {"outbox": 1}).limit(batch):
                published += self._publish_all(coll, raw["_id"], raw.get("outbox") or [])
        return published

    def _publish_all(self, coll: Collection, aggregate_id: str, entries: list[dict[str, Any]]) -> int:
        published = self._publish_each(entries)
        if published:
            # One write removes every confirmed event; a crash before it means a
            # republish, which consumers absorb (they key on the event id).
            coll.update_one({"_id": aggregate_id}, {"$pull": {"outbox": {"id": {"$in": published}}}})
        return len(published)

    def _publish_each(self, entries: list[dict[str, Any]]) -> list[str]:
        """Publish in order, up to the first refusal; returns the ids published."""
        published: list[str] = []
        for entry in entries:
            try:
                self._publisher.publish(entry["type"], entry["payload"], event_id=entry["id"])
            except PublishError as exc:
                # The write stands; the sweep retries. Events of one aggregate stay in order.
                log.warning("outbox event left for the sweep: %s", exc)
                break
            except ContractViolation as exc:
                # A bug in the publisher: never sent malformed; it stays, loudly, until fixed.
                log.error("outbox event %s breaks its contract and is not published: %s", entry["id"], exc)
                break
            published.append(entry["id"])
        return published


class BackgroundRelay:
    """``flush`` hands the work to a thread, so a consumer can acknowledge its message
    as soon as the write is durable and move on; the events are in the outbox, so
    a crash before the thread publishes them leaves them for the sweep."""

    def __init__(self, relay: OutboxRelay, capacity: int = 1000, batch: int = 100) -> None:
        self._relay = relay
        self._batch = batch
        self._pending: queue.Queue[tuple[str, str, Context] | None] = queue.Queue(capacity)
        self._thread = threading.Thread(target=self._run, name="outbox-flush", daemon=True)
        self._thread.start()

    def flush(self, collection: str, aggregate_id: str) -> None:
        # The caller's trace context goes along: the events continue its trace.
        with contextlib.suppress(queue.Full):  # if full, the sweep publishes it a few seconds later
            self._pending.put_nowait((collection, aggregate_id, otel_context.get_current()))

    def sweep(self) -> int:
        return self._relay.sweep()

    def close(self, timeout: float = 10.0) -> None:
        self._pending.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            # Whatever has piled up while the last batch was published goes together.
            items = [self._pending.get()]
            while items[-1] is not None and len(items) < self._batch:
                try:
                    items.append(self._pending.get_nowait())
                except queue.Empty:
                    break
            by_collection: dict[str, dict[str, Context]] = {}
            for item in items:
                if item is not None:
                    by_collection.setdefault(item[0], {})[item[1]] = item[2]
            for collection, ids in by_collection.items():
                try:
                    self._relay.flush_many(collection, list(ids), ids)
                except Exception:
                    log.exception("outbox flush failed; the sweep will publish %d of %s", len(ids), collection)
            if items[-1] is None:
                return


class OutboxSweeper(Periodic):
    """Runs ``relay.sweep()`` periodically: republishes what a crash or a broker
    outage left in the outboxes."""

    def __init__(self, relay: OutboxRelay, interval: float = 5.0) -> None:
        super().__init__("outbox-sweeper", relay.sweep, interval)
        self.relay = relay
