"""nameko dependency providers shared by every service.

- ``Tracing`` continues the caller's trace (``traceparent`` arrives as the
  ``nameko.traceparent`` header, which nameko puts into the worker's context data)
  and opens one span per worker.
- ``Caller`` injects who is calling (``crm-subject``/``crm-role`` context data).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc
from opentelemetry import context, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from crm_platform.telemetry import extract_context, setup_tracing

SUBJECT_KEY = "crm-subject"
ROLE_KEY = "crm-role"


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
    subject: str
    role: str


class Caller(DependencyProvider):
    def get_dependency(self, worker_ctx: Any) -> CallerInfo:
        data = worker_ctx.context_data
        return CallerInfo(str(data.get(SUBJECT_KEY) or ""), str(data.get(ROLE_KEY) or ""))
