"""OpenTelemetry tracing: set-up, and the W3C trace context that travels with requests and events.

A command handler stores ``current_trace_context()`` (or ``current_trace_headers()``) in the
events' metadata; the relay's publish span continues that trace and the consumers' process
spans continue the publish span (see ``messaging`` and ``kafka_spans``), so one trace runs
from the HTTP request to every consumer.

The global tracer provider can be set once per process (OpenTelemetry ignores later attempts,
with a warning). A process entry point calls ``configure_tracing(...)`` once and the provider
becomes global (``set_global=True``, the default, which every entry point relies on). Tests
that need several providers pass ``set_global=False`` and hand the provider to what they
exercise (``instrument_fastapi``, ``create_service_app``, the span helpers all take
``tracer_provider``): nothing then leaks from one test into the next.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, TypeAlias

from opentelemetry import context, propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.types import ASGIApp, Receive, Scope, Send

TraceHeaders: TypeAlias = Mapping[str, str] | Sequence[tuple[str, bytes | None]]
"""HTTP-style headers (name to text) or Kafka record headers (name, bytes) pairs."""

_log = logging.getLogger(__name__)
_UNTRACED_ROUTES = "/healthz$,/readyz$,/metrics$"
_TRACE_CONTEXT_HEADERS = frozenset({b"traceparent", b"tracestate", b"baggage"})


def configure_tracing(
    service_name: str,
    otlp_endpoint: str | None = None,
    exporter: SpanExporter | None = None,
    *,
    set_global: bool = True,
) -> TracerProvider:
    """A tracer provider for ``service_name``.

    - ``otlp_endpoint`` (``OTEL_EXPORTER_OTLP_ENDPOINT``, the collector's base URL): spans are
      batched and sent over OTLP/HTTP to its ``/v1/traces``. ``None``: nothing is exported.
    - ``exporter``: spans are handed to it as each one ends (``SimpleSpanProcessor``), for
      tests (``InMemorySpanExporter``) and debugging (``ConsoleSpanExporter``).
    - ``set_global``: make it the process's global provider (see the module's docstring).

    With neither, no span is recorded at all (the ``always_off`` sampler): recording spans
    that nobody exports cost a large share of a request's CPU. Trace context still travels
    (trace ids are kept; spans are marked not sampled). Otherwise the sampler is
    OpenTelemetry's default or the one ``OTEL_TRACES_SAMPLER`` names.
    """
    exported = bool(otlp_endpoint) or exporter is not None
    provider = TracerProvider(
        resource=Resource.create({SERVICE_NAME: service_name}),
        sampler=None if exported else ALWAYS_OFF,
    )
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_traces_url(otlp_endpoint)))
        )
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    if set_global:
        if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
            trace.set_tracer_provider(provider)
        else:
            _log.warning("a global tracer provider is set already; the new one is not global")
    return provider


def otlp_traces_url(endpoint: str) -> str:
    """The traces URL under an OTLP/HTTP base URL, as the OpenTelemetry specification reads
    ``OTEL_EXPORTER_OTLP_ENDPOINT`` (a URL already ending in ``/v1/traces`` is kept)."""
    base = endpoint.rstrip("/")
    return base if base.endswith("/v1/traces") else f"{base}/v1/traces"


def current_trace_headers() -> dict[str, str]:
    """The headers carrying the active context, written by the global propagator.

    With OpenTelemetry's default propagators: the W3C ``traceparent``, ``tracestate`` when there
    is one (and ``baggage`` when some is set). Empty outside any span.
    """
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def current_trace_context() -> tuple[str | None, str | None]:
    """The W3C ``traceparent`` and ``tracestate`` of the active span, to store with events."""
    headers = current_trace_headers()
    return headers.get("traceparent"), headers.get("tracestate")


def context_from_headers(headers: TraceHeaders) -> Context:
    """The context the headers carry (HTTP-style or Kafka record headers), by the global
    propagator; an empty context when they carry none. Header names are case-insensitive."""
    carrier: dict[str, str] = {}
    items = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in items:
        if value is None:
            continue
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        carrier[name.lower()] = text
    return propagate.extract(carrier)


def instrument_fastapi(app: FastAPI, provider: TracerProvider | None = None) -> None:
    """A SERVER span for every request but the probes and the metrics scrape.

    ``provider``: the tracer provider to use; the global one when ``None``. When it records no
    span (no exporter: see ``configure_tracing``), requests only carry the caller's trace
    context into the handlers (``TraceContextMiddleware``), so events still name the caller's
    trace; OpenTelemetry's instrumentation would cost a tenth of a request's CPU for nothing.
    """
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    if not records_spans(provider or trace.get_tracer_provider()):
        app.add_middleware(TraceContextMiddleware)
        return
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        excluded_urls=_UNTRACED_ROUTES,
        # The per-message "http send"/"http receive" spans say nothing the server span does not.
        exclude_spans=["receive", "send"],
    )


def records_spans(provider: trace.TracerProvider) -> bool:
    """Whether ``provider`` may record a span: not without an SDK, nor with ``always_off``."""
    return isinstance(provider, TracerProvider) and provider.sampler is not ALWAYS_OFF


class TraceContextMiddleware:
    """Makes the caller's W3C trace context (``traceparent``, ``tracestate``) the current one
    while a request is handled, without a span of its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        carried = [
            (name.decode("latin-1"), value)
            for name, value in scope["headers"]
            if name.lower() in _TRACE_CONTEXT_HEADERS
        ]
        if not carried:  # nothing to continue: the request runs in the empty context it has
            await self.app(scope, receive, send)
            return
        token = context.attach(context_from_headers(carried))
        try:
            await self.app(scope, receive, send)
        finally:
            context.detach(token)
