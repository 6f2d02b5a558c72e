"""In-memory fakes of the notifications service's ports (service_layer/ports.py).

The delivery log keeps the rules of the MongoDB one: a unique message key, a
lease taken only when the record is queued and due, writes conditional on the
lease or on the send under way, copies in and out; ``fail_next`` makes a method
raise as a store outage does."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from services.notifications.domain.errors import MessageTooLong, MissingVariables, UnknownTemplate
from services.notifications.domain.model import (
    ChannelName,
    DeliveryStatus,
    Notification,
    Outgoing,
    Receipt,
    ReportedState,
    StatusReport,
    WebhookMalformed,
    WebhookRejected,
    WebhookReply,
    WebhookRequest,
)
from services.notifications.service_layer.handlers import NotificationHandlers
from services.notifications.service_layer.ports import Contact, ParkedReport

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
TEMPLATES = {
    "acta_sellada": ("nombre", "enlace", "fecha"),
    "acta_registrada": ("nombre", "enlace", "fecha"),
    "recordatorio_reunion": ("nombre", "fecha", "lugar"),
}


class StoreDown(Exception):
    """What the fake log raises for an injected failure (pymongo's would be a ServerSelectionTimeoutError)."""


class FakeLog:
    def __init__(self) -> None:
        self.rows: dict[str, Notification] = {}
        self.outbox: dict[str, list[dict[str, Any]]] = {}
        self.parked_reports: dict[tuple[ChannelName, str, ReportedState], tuple[StatusReport, datetime]] = {}
        self.failures: dict[str, int] = {}
        self.calls: list[str] = []

    def fail_next(self, method: str, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` raise ``StoreDown`` and write nothing."""
        self.failures[method] = self.failures.get(method, 0) + times

    def _call(self, method: str) -> None:
        self.calls.append(method)
        if self.failures.get(method):
            self.failures[method] -= 1
            raise StoreDown(f"{method}: no server available")

    def add(self, notification: Notification) -> bool:
        if notification.message_key in self.rows:
            return False
        self.rows[notification.message_key] = copy.deepcopy(notification)
        self.outbox[notification.message_key] = []
        return True

    def get(self, message_key: str) -> Notification | None:
        return copy.deepcopy(self.rows.get(message_key))

    def claim(self, notification: Notification, until: datetime) -> bool:
        self._call("claim")
        row = self.rows.get(notification.message_key)
        if row is None or row.status != DeliveryStatus.QUEUED or row.next_attempt_at != notification.next_attempt_at:
            return False
        row.next_attempt_at = until
        return True

    def due(self, now: datetime, limit: int) -> list[Notification]:
        return [
            copy.deepcopy(n)
            for n in self.rows.values()
            if n.status == DeliveryStatus.QUEUED and n.next_attempt_at is not None and n.next_attempt_at <= now
        ][:limit]

    def save(self, notification: Notification, events: Sequence[Mapping[str, Any]] = ()) -> None:
        self.rows[notification.message_key] = copy.deepcopy(notification)
        self.outbox[notification.message_key] += [dict(e) for e in events]

    def _leased(self, message_key: str, lease: datetime) -> bool:
        row = self.rows.get(message_key)
        return row is not None and row.status == DeliveryStatus.QUEUED and row.next_attempt_at == lease

    def save_leased(
        self, notification: Notification, lease: datetime, events: Sequence[Mapping[str, Any]] = ()
    ) -> bool:
        self._call("save_leased")
        if not self._leased(notification.message_key, lease):
            return False
        self.save(notification, events)
        return True

    def renew(self, message_key: str, lease: datetime, until: datetime) -> bool:
        self._call("renew")
        if not self._leased(message_key, lease):
            return False
        self.rows[message_key].next_attempt_at = until
        return True

    def save_outcome(
        self, notification: Notification, attempt_id: str, events: Sequence[Mapping[str, Any]] = ()
    ) -> bool:
        self._call("save_outcome")
        row = self.rows.get(notification.message_key)
        if row is None or row.sending is None or row.sending.attempt_id != attempt_id:
            return False
        self.save(notification, events)
        return True

    def note_accepted(self, attempt_id: str, provider_message_id: str) -> bool:
        for row in self.rows.values():
            if row.sending is not None and row.sending.attempt_id == attempt_id:
                if row.sending.provider_message_id:
                    return False
                row.sending = replace(row.sending, provider_message_id=provider_message_id)
                return True
        return False

    def by_recipient(self, recipient_id: str, limit: int) -> list[Notification]:
        return [copy.deepcopy(n) for n in self.rows.values() if n.recipient_id == recipient_id][:limit]

    def by_trigger(self, trigger: str, limit: int) -> list[Notification]:
        return [copy.deepcopy(n) for n in self.rows.values() if n.trigger == trigger][:limit]

    def count_since(self, status: DeliveryStatus, since: datetime) -> int:
        return sum(n.status == status and n.created_at >= since for n in self.rows.values())

    def by_status(self, status: DeliveryStatus, limit: int) -> list[Notification]:
        return [copy.deepcopy(n) for n in self.rows.values() if n.status == status][:limit]

    def by_provider_message_id(self, provider_message_id: str) -> Notification | None:
        for n in self.rows.values():
            if any(a.provider_message_id == provider_message_id for a in n.attempts):
                return copy.deepcopy(n)
        return None

    def replace(self, previous: Notification, updated: Notification, events: Sequence[Mapping[str, Any]] = ()) -> bool:
        row = self.rows.get(previous.message_key)
        if row is None or row.status != previous.status or len(row.attempts) != len(previous.attempts):
            return False
        self.save(updated, events)
        return True

    def park(self, channel: ChannelName, report: StatusReport, now: datetime) -> None:
        self.parked_reports.setdefault((channel, report.provider_message_id, report.state), (report, now))

    def parked(self, limit: int) -> list[ParkedReport]:
        found = [ParkedReport(key[0], report, at) for key, (report, at) in self.parked_reports.items()]
        return sorted(found, key=lambda p: p.parked_at, reverse=True)[:limit]

    def drop_parked(self, parked_before: datetime) -> int:
        old = [k for k, (_, at) in self.parked_reports.items() if at < parked_before]
        for key in old:
            del self.parked_reports[key]
        return len(old)

    def unpark(self, parked: ParkedReport) -> None:
        self.parked_reports.pop((parked.channel, parked.report.provider_message_id, parked.report.state), None)

    def events(self, kind: str) -> list[dict[str, Any]]:
        return [e for entries in self.outbox.values() for e in entries if e["type"] == kind]


class FakeDirectory:
    def __init__(self, contacts: Iterable[Contact] = (), families: Mapping[str, list[str]] | None = None) -> None:
        self.contacts = {c.recipient_id: c for c in contacts}
        self.families = dict(families or {})
        self.down = False

    def contact(self, recipient_id: str) -> Contact | None:
        if self.down:
            from services.notifications.service_layer.ports import DirectoryUnavailable

            raise DirectoryUnavailable("sin respuesta")
        return self.contacts.get(recipient_id)

    def family(self, family_id: str) -> list[Contact] | None:
        ids = self.families.get(family_id)
        return None if ids is None else [self.contacts[i] for i in ids]

    def community(self, community_id: str) -> list[Contact] | None:
        return None


class ScriptedChannel:
    """A channel whose outcomes are scripted per address; by default it accepts."""

    def __init__(self, name: ChannelName, script: Mapping[str, Sequence[Exception]] | None = None) -> None:
        self.name = name
        self.script = {k: list(v) for k, v in (script or {}).items()}
        self.sent: list[Outgoing] = []
        self.calls = 0

    def send(self, message: Outgoing) -> Receipt:
        self.calls += 1
        outcomes = self.script.get(message.to) or []
        if outcomes:
            raise outcomes.pop(0)
        self.sent.append(message)
        return Receipt(f"fake-{self.name}", f"{self.name}-{len(self.sent)}")


class ReportingScriptedChannel(ScriptedChannel):
    """A scripted channel whose provider reports delivery. Its webhook is signed
    when the ``x-signature`` header is ``ok``; the body is a JSON list of
    ``{"id", "state", "detail", "reference"}``."""

    def webhook(self, request: WebhookRequest) -> WebhookReply:
        if request.method == "GET":
            return WebhookReply(text=request.query.get("challenge", ""))
        if request.headers.get("x-signature") != "ok":
            raise WebhookRejected("bad signature")
        try:
            items = json.loads(request.body)
            reports = tuple(
                StatusReport(i["id"], ReportedState(i["state"]), NOW, i.get("detail", ""), i.get("reference", ""))
                for i in items
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookMalformed(str(exc)) from None
        return WebhookReply(reports)


def webhook(*reports: tuple[str, str] | tuple[str, str, str], signed: bool = True) -> WebhookRequest:
    """A POST to ``ReportingScriptedChannel.webhook`` carrying (id, state[, detail]) reports."""
    body = json.dumps([dict(zip(("id", "state", "detail"), r, strict=False)) for r in reports]).encode()
    headers = {"x-signature": "ok" if signed else "forged"}
    return WebhookRequest("POST", "https://crm.example/webhooks/x", headers, {}, body)


def fake_render(
    template: str, channel: ChannelName, to: str, message_key: str, variables: Mapping[str, Any]
) -> Outgoing:
    if template not in TEMPLATES:
        raise UnknownTemplate(template)
    missing = [v for v in TEMPLATES[template] if not variables.get(v)]
    if missing:
        raise MissingVariables(template, missing)
    text = f"Hola {variables['nombre']}: " + ", ".join(f"{k}={variables[k]}" for k in TEMPLATES[template][1:])
    if channel == ChannelName.SMS and len(text) > 160:
        raise MessageTooLong(template, str(channel), len(text), 160)
    params = tuple(str(variables[k]) for k in TEMPLATES[template][:2])
    return Outgoing(message_key, channel, to, template, "es", "Aviso" if channel == "email" else "", text, params)


def fake_phone(raw: str) -> str:
    from services.notifications.domain.errors import InvalidPhone

    digits = "".join(ch for ch in raw if ch.isdigit())
    if len(digits) == 10 and digits.startswith("3"):
        return f"+57{digits}"
    if raw.startswith("+") and len(digits) >= 10:
        return f"+{digits}"
    raise InvalidPhone(raw, "not a Colombian mobile number")


class FakeRetry:
    """Delays of 2, 4, 8... seconds (or the provider's Retry-After); gives up after ``limit``."""

    def __init__(self, limit: int = 3) -> None:
        self.limit = limit
        self.asked: list[float | None] = []

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        self.asked.append(retry_after)
        return retry_after if retry_after is not None else float(2**attempt)

    def gives_up(self, attempt: int) -> bool:
        return attempt >= self.limit


class OpenLimiter:
    def __init__(self, closed: Iterable[ChannelName] = ()) -> None:
        self.closed = set(closed)

    def acquire(self, channel: ChannelName, timeout: float) -> bool:
        return channel not in self.closed


class RecordingRelay:
    def __init__(self) -> None:
        self.flushed: list[tuple[str, str]] = []

    def flush(self, collection: str, aggregate_id: str) -> None:
        self.flushed.append((collection, aggregate_id))


class StepClock:
    def __init__(self, moment: datetime = NOW) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


def default_channels() -> list[ScriptedChannel]:
    """WhatsApp and SMS report delivery, email does not (as the real adapters)."""
    return [
        ReportingScriptedChannel(ChannelName.WHATSAPP),
        ReportingScriptedChannel(ChannelName.SMS),
        ScriptedChannel(ChannelName.EMAIL),
    ]


def handlers(
    contacts: Iterable[Contact] = (),
    channels: Iterable[ScriptedChannel] | None = None,
    families: Mapping[str, list[str]] | None = None,
    retry_limit: int = 3,
    limiter: OpenLimiter | None = None,
) -> NotificationHandlers:
    chosen = list(channels) if channels is not None else default_channels()
    return NotificationHandlers(
        log=FakeLog(),
        directory=FakeDirectory(contacts, families),
        channels={c.name: c for c in chosen},
        render=fake_render,
        normalise_phone=fake_phone,
        retry=FakeRetry(retry_limit),
        limiter=limiter or OpenLimiter(),
        relay=RecordingRelay(),
        clock=StepClock(),
        verify_base_url="https://crm.example/verificar",
    )
