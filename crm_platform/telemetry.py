"""OpenTelemetry set-up and context propagation helpers.

Tracing is configured by environment, as in the OpenTelemetry demo:
``OTEL_SERVICE_NAME`` names the process; with ``OTEL_EXPORTER_OTLP_ENDPOINT`` set,
spans go to an OTLP collector, otherwise to JSON lines under ``OTEL_TRACES_DIR``
(default ``var/traces``), one file per process, which tests read back.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

_configured = False
_lock = threading.Lock()


class JsonLinesSpanExporter(SpanExporter):
    """Writes one JSON object per finished span to a file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = [json.dumps(span_to_dict(s), default=str) for s in spans]
        with self._lock, self._path.open("a", encoding="utf-8") as fh:
            fh.write("".join(line + "\n" for line in lines))
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


def span_to_dict(span: ReadableSpan) -> dict[str, Any]:
    ctx = span.get_span_context()
    assert ctx is not None
    return {
        "name": span.name,
        "service": span.resource.attributes.get("service.name"),
        "kind": span.kind.name,
        "trace_id": format(ctx.trace_id, "032x"),
        "span_id": format(ctx.span_id, "016x"),
        "parent_id": format(span.parent.span_id, "016x") if span.parent else None,
        "start": span.start_time,
        "end": span.end_time,
        "status": span.status.status_code.name,
        "attributes": dict(span.attributes or {}),
    }


def setup_tracing(service_name: str, *, instrument_pymongo: bool = True) -> None:
    """Install the global tracer provider once per process."""
    global _configured
    with _lock:
        if _configured:
            return
        name = os.environ.get("OTEL_SERVICE_NAME", service_name)
        provider = TracerProvider(resource=Resource.create({"service.name": name}))
        if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        else:
            folder = Path(os.environ.get("OTEL_TRACES_DIR", "var/traces"))
            exporter = JsonLinesSpanExporter(folder / f"{name}-{os.getpid()}.jsonl")
            # Batched off the request path; OTEL_BSP_SCHEDULE_DELAY sets how soon a
            # span reaches the file (the development stack uses a short delay).
            provider.add_span_processor(BatchSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        if instrument_pymongo:
            from opentelemetry.instrumentation.pymongo import PymongoInstrumentor

            PymongoInstrumentor().instrument()
        _configured = True


def shutdown_tracing() -> None:
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.shutdown()


def inject_headers(carrier: MutableMapping[str, str] | None = None) -> MutableMapping[str, str]:
    """Current trace context as W3C headers (``traceparent``, ``tracestate``)."""
    carrier = {} if carrier is None else carrier
    propagate.inject(carrier)
    return carrier


def extract_context(carrier: Mapping[str, Any]) -> Any:
    return propagate.extract({k: str(v) for k, v in carrier.items() if v is not None})
