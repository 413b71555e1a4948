"""OpenTelemetry tracing: set-up, and the trace context that travels with events.

A command handler stores ``current_trace_context()`` in the events' metadata; the relay's
publish span continues that trace and the consumers' process spans continue the publish span
(see ``kafka_spans``), so one trace runs from the HTTP request to every consumer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter

if TYPE_CHECKING:
    from fastapi import FastAPI


def configure_tracing(
    service_name: str,
    otlp_endpoint: str | None = None,
    exporter: SpanExporter | None = None,
    *,
    set_global: bool = True,
) -> TracerProvider:
    """A tracer provider exporting to OTLP/HTTP (batched) and/or ``exporter`` (at once).

    OpenTelemetry allows the global provider to be set once per process: a service sets it at
    start-up; tests set one for the session and read spans from an in-memory exporter.
    """
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = otlp_endpoint.rstrip("/")
        if not endpoint.endswith("/v1/traces"):
            endpoint += "/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    if set_global:
        trace.set_tracer_provider(provider)
    return provider


def current_trace_context() -> tuple[str | None, str | None]:
    """The W3C ``traceparent`` and ``tracestate`` of the active span, to store with events."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent"), carrier.get("tracestate")


def instrument_fastapi(app: FastAPI, provider: TracerProvider | None = None) -> None:
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=provider, excluded_urls="healthz,readyz,metrics"
    )
