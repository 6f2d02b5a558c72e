"""MongoDB delivery log: one document per message key (the ``_id``, so unique),
with its outbox of ``notification_sent`` / ``notification_failed`` events."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import mongoengine
from pymongo import DESCENDING
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from crm_platform.mongo import DURABLE_WRITES
from services.notifications.domain.model import (
    Attempt,
    ChannelName,
    DeliveryStatus,
    Notification,
    ReportedState,
    Sending,
    StatusReport,
)
from services.notifications.service_layer.ports import ParkedReport

DB_ALIAS = "notifications"
DEFAULT_DB = "crm_notifications"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class NotificationDoc(mongoengine.Document):
    meta: dict[str, Any] = {
        "collection": "notifications",
        "db_alias": DB_ALIAS,
        "indexes": [
            ("status", "next_attempt_at"),
            ("recipient_id", "-created_at"),
            ("trigger", "-created_at"),
            ("status", "-created_at"),
            "outbox.created_at",
            # sparse: only attempts a provider accepted have an id (delivery reports look them up)
            {"fields": ["attempts.provider_message_id"], "sparse": True},
            # sparse: only a send under way has one (reports naming it are noted on it)
            {"fields": ["sending.attempt_id"], "sparse": True},
        ],
    }
    id = mongoengine.StringField(primary_key=True)  # the message key: one document per message
    recipient_id = mongoengine.StringField(required=True)
    template = mongoengine.StringField(required=True)
    variables = mongoengine.DictField()
    trigger = mongoengine.StringField(required=True)
    created_at = mongoengine.DateTimeField(required=True)
    status = mongoengine.StringField(required=True)
    attempts = mongoengine.ListField(mongoengine.DictField())
    next_attempt_at = mongoengine.DateTimeField()
    reason = mongoengine.StringField()
    sending = mongoengine.DictField(null=True)  # a send whose outcome is not written yet
    outbox = mongoengine.ListField(mongoengine.DictField())


class ParkedReportDoc(mongoengine.Document):
    """A provider's status report for a message not known yet (see ``DeliveryLog.park``);
    ``_id`` is channel, provider id and state, so parking twice keeps one."""

    meta: dict[str, Any] = {"collection": "parked_reports", "db_alias": DB_ALIAS, "indexes": ["parked_at"]}
    id = mongoengine.StringField(primary_key=True)
    channel = mongoengine.StringField(required=True)
    provider_message_id = mongoengine.StringField(required=True)
    state = mongoengine.StringField(required=True)
    at = mongoengine.DateTimeField(required=True)
    detail = mongoengine.StringField()
    parked_at = mongoengine.DateTimeField(required=True)


def connect(mongo_uri: str, db_name: str = DEFAULT_DB) -> None:
    """Open the service's connection (from a process's start-up, never at import)."""
    mongoengine.disconnect(alias=DB_ALIAS)
    mongoengine.connect(db=db_name, host=mongo_uri, alias=DB_ALIAS, tz_aware=True, **DURABLE_WRITES)
    NotificationDoc.ensure_indexes()
    ParkedReportDoc.ensure_indexes()


def disconnect() -> None:
    mongoengine.disconnect(alias=DB_ALIAS)


NO_OUTBOX = {"outbox": 0}


class MongoDeliveryLog:
    def __init__(self) -> None:
        self.notifications: Collection = NotificationDoc._get_collection()
        self.parked_reports: Collection = ParkedReportDoc._get_collection()

    def add(self, notification: Notification) -> bool:
        try:
            self.notifications.insert_one({**_state(notification), "_id": notification.message_key, "outbox": []})
        except DuplicateKeyError:  # known already: a redelivered trigger
            return False
        return True

    def get(self, message_key: str) -> Notification | None:
        raw = self.notifications.find_one({"_id": message_key}, NO_OUTBOX)
        return _notification(raw) if raw else None

    def claim(self, notification: Notification, until: datetime) -> bool:
        # Conditional on the state that was read: the next attempt time changes with
        # every write, so a record someone else took or updated does not match.
        # (update_one, not find_one_and_update: several times cheaper on SecantusDB.)
        result = self.notifications.update_one(
            {
                "_id": notification.message_key,
                "status": str(DeliveryStatus.QUEUED),
                "next_attempt_at": notification.next_attempt_at,
            },
            {"$set": {"next_attempt_at": until}},
        )
        return result.modified_count == 1

    def due(self, now: datetime, limit: int) -> list[Notification]:
        # A bounded range, so the store walks only the due records of the index.
        selector = {"status": str(DeliveryStatus.QUEUED), "next_attempt_at": {"$gte": _EPOCH, "$lte": now}}
        return [_notification(raw) for raw in self.notifications.find(selector, NO_OUTBOX).limit(limit)]

    def save(self, notification: Notification, events: Sequence[Mapping[str, Any]] = ()) -> None:
        self.notifications.update_one({"_id": notification.message_key}, _change(notification, events))

    def save_leased(
        self, notification: Notification, lease: datetime, events: Sequence[Mapping[str, Any]] = ()
    ) -> bool:
        selector = {"_id": notification.message_key, "status": str(DeliveryStatus.QUEUED), "next_attempt_at": lease}
        return self.notifications.update_one(selector, _change(notification, events)).matched_count == 1

    def renew(self, message_key: str, lease: datetime, until: datetime) -> bool:
        selector = {"_id": message_key, "status": str(DeliveryStatus.QUEUED), "next_attempt_at": lease}
        return self.notifications.update_one(selector, {"$set": {"next_attempt_at": until}}).matched_count == 1

    def save_outcome(
        self, notification: Notification, attempt_id: str, events: Sequence[Mapping[str, Any]] = ()
    ) -> bool:
        selector = {"_id": notification.message_key, "sending.attempt_id": attempt_id}
        return self.notifications.update_one(selector, _change(notification, events)).matched_count == 1

    def note_accepted(self, attempt_id: str, provider_message_id: str) -> bool:
        # Indexed and usually matching nothing (the outcome was written first): cheap.
        result = self.notifications.update_one(
            {"sending.attempt_id": attempt_id, "sending.provider_message_id": ""},
            {"$set": {"sending.provider_message_id": provider_message_id}},
        )
        return result.matched_count == 1

    def replace(self, previous: Notification, updated: Notification, events: Sequence[Mapping[str, Any]] = ()) -> bool:
        # Every step of a record appends an attempt, so status plus the number of
        # attempts identifies the state that was read.
        selector = {
            "_id": previous.message_key,
            "status": str(previous.status),
            "attempts": {"$size": len(previous.attempts)},
        }
        return self.notifications.update_one(selector, _change(updated, events)).modified_count == 1

    def by_provider_message_id(self, provider_message_id: str) -> Notification | None:
        raw = self.notifications.find_one({"attempts.provider_message_id": provider_message_id}, NO_OUTBOX)
        return _notification(raw) if raw else None

    def park(self, channel: ChannelName, report: StatusReport, now: datetime) -> None:
        key = _parked_key(channel, report)
        document = {
            "channel": str(channel),
            "provider_message_id": report.provider_message_id,
            "state": str(report.state),
            "at": report.at,
            "detail": report.detail,
        }
        self.parked_reports.update_one({"_id": key}, {"$setOnInsert": {**document, "parked_at": now}}, upsert=True)

    def parked(self, limit: int) -> list[ParkedReport]:
        cursor = self.parked_reports.find({"parked_at": {"$gte": _EPOCH}}).sort("parked_at", -1).limit(limit)
        return [
            ParkedReport(
                ChannelName(raw["channel"]),
                StatusReport(
                    raw["provider_message_id"], ReportedState(raw["state"]), raw["at"], raw.get("detail") or ""
                ),
                raw["parked_at"],
            )
            for raw in cursor
        ]

    def drop_parked(self, parked_before: datetime) -> int:
        return int(self.parked_reports.delete_many({"parked_at": {"$gte": _EPOCH, "$lt": parked_before}}).deleted_count)

    def unpark(self, parked: ParkedReport) -> None:
        self.parked_reports.delete_one({"_id": _parked_key(parked.channel, parked.report)})

    def by_recipient(self, recipient_id: str, limit: int) -> list[Notification]:
        return self._list({"recipient_id": recipient_id}, limit)

    def by_trigger(self, trigger: str, limit: int) -> list[Notification]:
        return self._list({"trigger": trigger}, limit)

    def by_status(self, status: DeliveryStatus, limit: int) -> list[Notification]:
        return self._list({"status": str(status)}, limit)

    def count_since(self, status: DeliveryStatus, since: datetime) -> int:
        # The (status, -created_at) index: a bounded range per status.
        return self.notifications.count_documents({"status": str(status), "created_at": {"$gte": since}})

    def _list(self, selector: dict[str, Any], limit: int) -> list[Notification]:
        cursor = self.notifications.find(selector, NO_OUTBOX).sort("created_at", DESCENDING).limit(limit)
        return [_notification(raw) for raw in cursor]


def _parked_key(channel: ChannelName, report: StatusReport) -> str:
    return f"{channel}:{report.provider_message_id}:{report.state}"


def _change(notification: Notification, events: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    change: dict[str, Any] = {"$set": _state(notification)}
    if events:
        now = datetime.now(UTC)
        change["$push"] = {"outbox": {"$each": [{**e, "created_at": now} for e in events]}}
    return change


def _state(n: Notification) -> dict[str, Any]:
    return {
        "recipient_id": n.recipient_id,
        "template": n.template,
        "variables": dict(n.variables),
        "trigger": n.trigger,
        "created_at": n.created_at,
        "status": str(n.status),
        "attempts": [
            {
                "channel": str(a.channel),
                "at": a.at,
                "outcome": a.outcome,
                "detail": a.detail,
                "provider_message_id": a.provider_message_id,
            }
            for a in n.attempts
        ],
        "next_attempt_at": n.next_attempt_at,
        "reason": n.reason,
        "sending": _sending(n.sending),
    }


def _sending(s: Sending | None) -> dict[str, Any] | None:
    if s is None:
        return None
    return {
        "attempt_id": s.attempt_id,
        "channel": str(s.channel),
        "to": s.to,
        "at": s.at,
        "text_sha256": s.text_sha256,
        "provider_message_id": s.provider_message_id,
        "stale_since": s.stale_since,
    }


def _notification(raw: Mapping[str, Any]) -> Notification:
    return Notification(
        message_key=raw["_id"],
        recipient_id=raw["recipient_id"],
        template=raw["template"],
        variables=dict(raw.get("variables") or {}),
        trigger=raw["trigger"],
        created_at=raw["created_at"],
        status=DeliveryStatus(raw["status"]),
        attempts=[
            Attempt(
                channel=ChannelName(a["channel"]),
                at=a["at"],
                outcome=a["outcome"],
                detail=a.get("detail") or "",
                provider_message_id=a.get("provider_message_id") or "",
            )
            for a in raw.get("attempts") or []
        ],
        next_attempt_at=raw.get("next_attempt_at"),
        reason=raw.get("reason") or "",
        sending=_read_sending(raw.get("sending")),
    )


def _read_sending(raw: Mapping[str, Any] | None) -> Sending | None:
    if not raw:
        return None
    return Sending(
        attempt_id=raw["attempt_id"],
        channel=ChannelName(raw["channel"]),
        to=raw.get("to") or "",
        at=raw["at"],
        text_sha256=raw.get("text_sha256") or "",
        provider_message_id=raw.get("provider_message_id") or "",
        stale_since=raw.get("stale_since"),
    )
