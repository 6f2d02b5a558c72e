"""A service process, written once: ``run_service`` is every ``main()``.

It configures logging and tracing, builds the service's ``App`` (its wiring), then
starts, in this order, its gRPC server (health, reflection, tracing, the caller
assertion and the error vocabulary come with ``grpc_support.create_server``), its
background workers (outbox sweep, retry loops, dispatchers) and, last, its event
consumer, which runs in the main thread until SIGTERM or SIGINT. Without a
consumer the main thread waits for the signal. On the way out everything stops in
the reverse order and the ``App`` closes.

A service's entrypoint then says only what is its own::

    def main() -> None:
        run_service(
            "actas-grpc",
            bootstrap,
            grpc=lambda app: GrpcEndpoint("ACTAS_GRPC_PORT", 50052, [servicer(app)]),
            background=lambda app: [OutboxSweeper(app.relay)],
        )
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import grpc
from kombu import Connection
from kombu.mixins import ConsumerMixin

from crm_platform import grpc_support, process
from crm_platform.access import AccessTable
from crm_platform.config import Infrastructure, int_setting, setting
from crm_platform.consumer import ConsumerGroup, QueueConsumer, SpanAttributes
from crm_platform.event_consumer import EventConsumer
from crm_platform.process import Periodic
from crm_platform.telemetry import setup_tracing, shutdown_tracing

log = logging.getLogger(__name__)
__all__ = ["Background", "GrpcEndpoint", "Periodic", "Servicer", "Subscription", "run_service"]


class Closable(Protocol):
    def close(self) -> None: ...


AppT = TypeVar("AppT", bound=Closable)


class Background(Protocol):
    """A worker thread of the process: started after the server, stopped before it."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class Servicer:
    """One gRPC service of the process: the servicer, its generated
    ``add_..._to_server``, and the service's access table (``services/<name>/access.py``),
    enforced on every call (``grpc_support.AccessInterceptor``)."""

    implementation: Any
    add_to_server: Callable[[Any, grpc.Server], None]
    full_name: str
    access: AccessTable | None = None


@dataclass(frozen=True)
class GrpcEndpoint:
    """Where the process serves gRPC: the port setting (and its default) and the servicers."""

    port_setting: str
    default_port: int
    servicers: Sequence[Servicer]
    max_workers: int = 16

    def create(self) -> tuple[grpc.Server, int]:
        address = f"{setting('GRPC_HOST', '127.0.0.1')}:{int_setting(self.port_setting, self.default_port)}"

        def register(server: grpc.Server) -> None:
            for s in self.servicers:
                s.add_to_server(s.implementation, server)

        server, port, _ = grpc_support.create_server(
            address,
            register,
            [s.full_name for s in self.servicers],
            max_workers=int_setting("GRPC_MAX_WORKERS", self.max_workers),
            access_tables={s.full_name: s.access for s in self.servicers if s.access is not None},
        )
        return server, port


@dataclass(frozen=True)
class Subscription:
    """The other service's event this process consumes (``crm_platform.event_consumer``)."""

    source: str
    event_type: str
    required: str
    handle: Callable[[dict[str, Any]], SpanAttributes]
    prefetch: int = 4


def run_service(
    name: str,
    build: Callable[[], AppT],
    *,
    grpc: Callable[[AppT], GrpcEndpoint] | None = None,
    background: Callable[[AppT], Sequence[Background]] = lambda _: (),
    subscription: Callable[[AppT], Subscription | Sequence[Subscription]] | None = None,
    consumer: Callable[[AppT, Connection], QueueConsumer] | None = None,
    service: str | None = None,
) -> None:
    """Run the process ``name`` until SIGTERM or SIGINT (see the module's docstring).

    A process consumes other services' events (``subscription``: one
    ``Subscription`` or several, each its own queue ``<service>.<event>``, where
    ``service`` defaults to ``name``; several are consumed by one thread on one
    connection, a ``ConsumerGroup``) or a queue of its own (``consumer``, any
    ``QueueConsumer``), not both."""
    process.configure_logging()
    setup_tracing(name)
    app = build()
    server = None
    workers: list[Background] = []
    try:
        if grpc is not None:
            endpoint = grpc(app)
            server, port = endpoint.create()
            server.start()
            log.info("%s gRPC listening on port %d", name, port)
        workers = list(background(app))
        for worker in workers:
            worker.start()
        if subscription is not None:
            subs = subscriptions_of(subscription(app))
            _consume(lambda connection: _events_consumer(service or name, subs, connection))
        elif consumer is not None:
            make = consumer
            _consume(lambda connection: make(app, connection))
        else:
            process.wait_for_stop_signal()
    finally:
        for worker in reversed(workers):
            worker.stop()
        if server is not None:
            server.stop(grace=5).wait()
        app.close()
        shutdown_tracing()


def subscriptions_of(found: Subscription | Sequence[Subscription]) -> list[Subscription]:
    """One subscription or several, as a list; refuses none and two of the same event
    (both would share one queue, each message reaching only one of them)."""
    subs = [found] if isinstance(found, Subscription) else list(found)
    if not subs:
        raise ValueError("no subscription: pass none rather than an empty list")
    events = [(s.source, s.event_type) for s in subs]
    if len(set(events)) != len(events):
        raise ValueError(f"the same event is subscribed twice: {events}")
    return subs


def _events_consumer(service: str, subs: Sequence[Subscription], connection: Connection) -> ConsumerMixin:
    """The consumer of ``subs``: the event consumer itself for one, a group for several."""
    members = [_event_consumer(service, sub, connection) for sub in subs]
    return members[0] if len(members) == 1 else ConsumerGroup(connection, members)


def _event_consumer(service: str, sub: Subscription, connection: Connection) -> QueueConsumer:
    return EventConsumer(
        connection,
        service=service,
        source=sub.source,
        event_type=sub.event_type,
        required=sub.required,
        handle=sub.handle,
        prefetch=sub.prefetch,
    )


def _consume(make: Callable[[Connection], ConsumerMixin]) -> None:
    # Publisher confirms: what a consumer publishes (a dead letter, a refusal) is
    # confirmed before the message that caused it is acknowledged.
    amqp_uri = Infrastructure.from_env().amqp_uri
    with Connection(amqp_uri, heartbeat=30, transport_options={"confirm_publish": True}) as connection:
        consumer = make(connection)
        process.on_stop_signal(lambda: setattr(consumer, "should_stop", True))
        queues = consumer.queue_names if isinstance(consumer, ConsumerGroup) else []
        if isinstance(consumer, QueueConsumer):
            queues = [str(consumer.queue.name)]
        log.info("consuming %s", ", ".join(queues))
        consumer.run()
