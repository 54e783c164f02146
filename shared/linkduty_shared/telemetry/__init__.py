"""OpenTelemetry bootstrap and W3C trace context across Kafka.

A request's trace context is stored with each event it causes (the `traceparent` extension);
the relay sends it as Kafka headers, and consumers continue the trace from them, so one request
and everything it causes share a trace.
"""

from __future__ import annotations

from collections.abc import Iterable

from opentelemetry import context, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_propagator = TraceContextTextMapPropagator()


def setup_tracing(service_name: str, exporter: str = "none") -> TracerProvider:
    """Install the process's tracer provider (once, at the composition root; later calls reuse it)."""
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if exporter == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider


def current_trace_context() -> dict[str, str]:
    """`traceparent` (and `tracestate`) of the active span, empty when there is none."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier


def context_from_headers(headers: Iterable[tuple[str, bytes]]) -> context.Context:
    """The trace context carried by a Kafka record (plain or `ce_`-prefixed W3C headers)."""
    carrier: dict[str, str] = {}
    for name, value in headers:
        name = name.removeprefix("ce_")
        if name in ("traceparent", "tracestate") and value is not None:
            carrier[name] = value.decode("latin-1")
    return _propagator.extract(carrier)
