"""Publishing kiosk submissions on RabbitMQ with publisher confirms.

:class:`Publisher` is the port the forwarder needs; :class:`KombuPublisher` is the
real adapter. A batch is published back to back on a channel in confirm mode and
then every confirm is awaited (RabbitMQ's "handle confirms asynchronously"
strategy): a confirm means the broker has the message on disk in a durable queue.
Waiting for each confirm before the next publish would cost one broker round trip
and fsync per message, which on a rural link with half a second of latency is two
messages a second.

The outcome of a batch sorts every message into one of three lists:

- ``confirmed``: the broker acked it.
- ``refused``: the broker answered for this message and refused it (a
  ``basic.nack``, or a ``basic.return`` because no queue is bound: messages are
  published ``mandatory``). Retried later, on the message's own backoff.
- ``unconfirmed``: no answer, because the connection broke or stalled (every
  network wait is bounded: connect, read, write, and each wait for a confirm).
  The message is not at fault; it goes back to the queue, perhaps already
  delivered, which the platform's de-duplication absorbs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from kombu import Connection, Producer

from crm_platform import submission_bus as bus


class BusUnavailable(ConnectionError):
    """The bus could not be reached, or the connection broke or stalled."""


@dataclass(frozen=True)
class Outgoing:
    submission_id: str
    envelope: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass
class BatchOutcome:
    confirmed: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    unconfirmed: list[str] = field(default_factory=list)
    error: str | None = None  # why ``unconfirmed`` is not empty


class Publisher(Protocol):
    @property
    def connected(self) -> bool: ...

    def connect(self) -> None:
        """Open a connection; raises :class:`BusUnavailable`."""

    def publish_batch(self, messages: Sequence[Outgoing]) -> BatchOutcome:
        """Publish and await every confirm; never raises for network failures."""

    def close(self) -> None: ...


class KombuPublisher:
    """One connection and one channel in confirm mode; not thread-safe (the
    forwarder publishes from one thread)."""

    def __init__(self, amqp_uri: str, *, connect_timeout: float = 5.0, io_timeout: float = 15.0) -> None:
        self._uri = amqp_uri
        self._connect_timeout = connect_timeout
        self._io_timeout = io_timeout
        self._conn: Connection | None = None
        self._producer: Producer | None = None
        self._tag = 0  # delivery tag of the last message published on this channel
        self._waiting: dict[int, str] = {}  # delivery tag -> submission id
        self._returned: dict[str, str] = {}  # submission id -> why the broker returned it
        self._outcome = BatchOutcome()

    @property
    def connected(self) -> bool:
        return self._producer is not None

    def connect(self) -> None:
        self.close()
        conn = Connection(
            self._uri,
            connect_timeout=self._connect_timeout,
            heartbeat=0,  # nothing would service heartbeats while idle; every wait is bounded instead
            transport_options={"read_timeout": self._io_timeout, "write_timeout": self._io_timeout},
        )
        try:
            # One attempt: the forwarder owns the retry schedule (kombu's connect()
            # would retry once more after two seconds).
            conn.ensure_connection(max_retries=0, reraise_as_library_errors=False)
            channel = conn.channel()
            # Declared on every new connection: a fresh broker or vhost has neither.
            bus.QUEUE(channel).declare()
            channel.confirm_select()
            channel.events["basic_ack"].add(self._on_ack)
            channel.events["basic_nack"].add(self._on_nack)
            channel.events["basic_return"].add(self._on_return)
            producer = Producer(channel)
        except Exception as exc:
            _drop(conn)
            raise BusUnavailable(f"{type(exc).__name__}: {exc}") from exc
        self._conn, self._producer, self._tag = conn, producer, 0

    def publish_batch(self, messages: Sequence[Outgoing]) -> BatchOutcome:
        self._outcome = outcome = BatchOutcome()
        self._waiting.clear()
        self._returned.clear()
        if self._producer is None or self._conn is None:
            outcome.unconfirmed = [m.submission_id for m in messages]
            outcome.error = "sin conexión"
            return outcome
        published = 0
        try:
            for message in messages:
                bus.publish(
                    self._producer,
                    message.envelope,
                    mandatory=True,
                    headers=dict(message.headers),
                    message_id=message.submission_id,
                    timeout=self._io_timeout,
                )
                self._tag += 1
                self._waiting[self._tag] = message.submission_id
                published += 1
            self._await_confirms()
        except Exception as exc:
            # Connection and channel errors alike leave the channel unusable.
            self._abandon()
            outcome.error = self._describe(exc)
            outcome.unconfirmed = [*self._waiting.values(), *(m.submission_id for m in messages[published:])]
            self._waiting.clear()
        return outcome

    def close(self) -> None:
        """Close politely (bounded by the I/O timeout); drop the socket if that fails."""
        conn, self._conn, self._producer = self._conn, None, None
        if conn is not None:
            try:
                conn.release()
            except Exception:
                _drop(conn)

    # -- confirms --------------------------------------------------------------------------
    def _await_confirms(self) -> None:
        """Read until every published message is acked or nacked; each read waits at
        most the I/O timeout, so a stalled link ends in ``socket.timeout``."""
        assert self._conn is not None
        while self._waiting:
            self._conn.drain_events(timeout=self._io_timeout)

    def _describe(self, exc: Exception) -> str:
        if isinstance(exc, TimeoutError):  # socket.timeout is an alias of it
            return f"el bus no respondió en {self._io_timeout:g} s"
        return f"{type(exc).__name__}: {exc}"

    def _settled(self, tag: int, multiple: bool) -> list[str]:
        tags = [t for t in self._waiting if t <= tag] if multiple else [tag]
        return [self._waiting.pop(t) for t in tags if t in self._waiting]

    def _on_ack(self, tag: int, multiple: bool) -> None:
        for sid in self._settled(tag, multiple):
            reason = self._returned.pop(sid, None)
            if reason is None:
                self._outcome.confirmed.append(sid)
            else:
                # A basic.return reaches us before the ack of the same message.
                self._outcome.refused[sid] = f"el broker devolvió el mensaje: {reason}"

    def _on_nack(self, tag: int, multiple: bool) -> None:
        for sid in self._settled(tag, multiple):
            self._outcome.refused[sid] = "el broker rechazó el mensaje (nack)"

    def _on_return(self, exc: Exception, exchange: str, routing_key: str, message: Any) -> None:
        message_id = (getattr(message, "properties", None) or {}).get("message_id", "")
        self._returned[str(message_id)] = str(exc)

    def _abandon(self) -> None:
        conn, self._conn, self._producer = self._conn, None, None
        if conn is not None:
            _drop(conn)


def _drop(conn: Connection) -> None:
    """Forget a broken connection without a closing handshake that could hang."""
    with contextlib.suppress(Exception):
        conn.collect()
