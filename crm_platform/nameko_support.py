"""nameko dependency providers shared by every service.

- ``Tracing`` continues the caller's trace (``traceparent`` arrives as the
  ``nameko.traceparent`` header, which nameko puts into the worker's context data)
  and opens one span per worker.
- ``Caller`` injects who is calling, verified from the ``crm-caller`` context
  data (a signed assertion, see ``crm_platform.identity``).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc
from opentelemetry import context, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from crm_platform import contracts
from crm_platform.identity import InvalidCaller, assert_caller, verify_caller
from crm_platform.telemetry import extract_context, setup_tracing

CALLER_KEY = "crm-caller"
log = logging.getLogger(__name__)
Handler = TypeVar("Handler", bound=Callable[..., None])


def caller_context(subject: str, role: str) -> dict[str, str]:
    """Context data for a nameko RPC proxy that names the caller, signed."""
    return {CALLER_KEY: assert_caller(subject, role)}


class Tracing(DependencyProvider):
    def setup(self) -> None:
        setup_tracing(self.container.service_name)
        self._tracer = trace.get_tracer("crm_platform.nameko")
        self._active: dict[Any, tuple[Any, Any]] = {}

    def worker_setup(self, worker_ctx: Any) -> None:
        parent = extract_context(worker_ctx.context_data)
        entrypoint = worker_ctx.entrypoint
        kind = SpanKind.SERVER if isinstance(entrypoint, Rpc) else SpanKind.CONSUMER
        span = self._tracer.start_span(
            f"{self.container.service_name}.{entrypoint.method_name}",
            context=parent,
            kind=kind,
            attributes={
                "messaging.system": "rabbitmq",
                "rpc.system": "nameko",
                "rpc.service": self.container.service_name,
                "rpc.method": entrypoint.method_name,
            },
        )
        token = context.attach(trace.set_span_in_context(span))
        self._active[worker_ctx] = (span, token)

    def worker_result(self, worker_ctx: Any, result: Any = None, exc_info: Any = None) -> None:
        active = self._active.get(worker_ctx)
        if active and exc_info is not None:
            span = active[0]
            span.record_exception(exc_info[1])
            span.set_status(Status(StatusCode.ERROR, str(exc_info[1])))

    def worker_teardown(self, worker_ctx: Any) -> None:
        active = self._active.pop(worker_ctx, None)
        if active:
            span, token = active
            span.end()
            context.detach(token)


@dataclass(frozen=True)
class CallerInfo:
    """The verified caller; ``error`` says why there is none."""

    subject: str
    role: str
    error: str = ""


class Caller(DependencyProvider):
    def get_dependency(self, worker_ctx: Any) -> CallerInfo:
        try:
            subject, role = verify_caller(worker_ctx.context_data.get(CALLER_KEY))
        except InvalidCaller as exc:
            return CallerInfo("", "", str(exc))
        return CallerInfo(subject, role)


def contract_checked(service: str, source: str, event_type: str) -> Callable[[Handler], Handler]:
    """For a nameko ``@event_handler`` method (put it beneath the decorator): the
    event reaches the method only if it satisfies its contract
    (``crm_platform.contracts``); otherwise it goes to ``<service>.<event>.dead``
    with the reason, as ``EventConsumer`` does, and is acknowledged."""
    contract = contracts.contract_of(source, event_type)

    def decorate(method: Handler) -> Handler:
        @functools.wraps(method)
        def checked(self: Any, payload: Any) -> None:
            try:
                contracts.parse(contract, payload)
            except contracts.ContractViolation as exc:
                log.error("%s breaks its contract (%s); dead-lettered", event_type, exc)
                dead_letter(service, event_type, payload, str(exc))
                return
            method(self, payload)

        return checked  # type: ignore[return-value]

    return decorate


def dead_letter(service: str, event_type: str, payload: Any, reason: str) -> None:
    """Publish ``payload`` to ``<service>.<event_type>.dead`` with ``reason``, confirmed."""
    from kombu import Connection, Exchange, Queue

    from crm_platform.config import Infrastructure

    exchange = Exchange(f"{service}.dead", type="direct", durable=True)
    queue = Queue(f"{service}.{event_type}.dead", exchange=exchange, routing_key="dead", durable=True)
    with Connection(Infrastructure.from_env().amqp_uri, transport_options={"confirm_publish": True}) as conn:
        conn.Producer().publish(
            payload,
            exchange=exchange,
            routing_key="dead",
            serializer="json",
            headers={"x-crm-dead-reason": reason},
            delivery_mode=2,
            declare=[queue],
        )
