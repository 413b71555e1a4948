"""One trace runs from an HTTP request into the consumer of what it published."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client import CollectorRegistry

from crm_shared.http import create_service_app
from crm_shared.telemetry import configure_tracing, consumer_span, current_trace_headers

TOPIC = "crm.contacts.events"


async def test_a_consumer_span_from_headers_written_in_a_request_is_its_child(
    provider: TracerProvider, spans: InMemorySpanExporter
) -> None:
    outbox: list[list[tuple[str, bytes]]] = []
    app: FastAPI = create_service_app(
        "contacts", "1", CollectorRegistry(), tracer_provider=provider
    )

    @app.post("/contacts", status_code=201)
    async def create() -> dict[str, str]:
        outbox.append([(k, v.encode()) for k, v in current_trace_headers().items()])
        return {"id": "contact-1"}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        assert (await http.post("/contacts")).status_code == 201

    [headers] = outbox
    with consumer_span(TOPIC, "analytics", headers, offset=0, tracer_provider=provider):
        pass

    [server] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    [process] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.CONSUMER]
    assert server.name == "POST /contacts"
    assert process.name == f"process {TOPIC}"
    assert process.context.trace_id == server.context.trace_id
    assert process.parent is not None
    assert process.parent.span_id == server.context.span_id
    assert process.parent.is_remote


async def test_probes_and_the_metrics_scrape_make_no_spans(
    provider: TracerProvider, spans: InMemorySpanExporter
) -> None:
    app = create_service_app("contacts", "1", CollectorRegistry(), tracer_provider=provider)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        for path in ("/healthz", "/readyz", "/metrics"):
            assert (await http.get(path)).status_code == 200
    assert spans.get_finished_spans() == ()


async def test_without_trace_export_a_request_still_carries_the_callers_trace_into_its_events() -> (
    None
):
    unexported = configure_tracing("contacts", None, set_global=False)
    outbox: list[dict[str, str]] = []
    app = create_service_app("contacts", "1", CollectorRegistry(), tracer_provider=unexported)

    @app.post("/contacts", status_code=201)
    async def create() -> dict[str, str]:
        outbox.append(current_trace_headers())
        return {"id": "contact-1"}

    caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        assert (await http.post("/contacts", headers={"traceparent": caller})).status_code == 201
        assert (await http.post("/contacts")).status_code == 201

    [from_caller, without_caller] = outbox
    assert from_caller["traceparent"] == caller
    assert without_caller == {}
    assert current_trace_headers() == {}
