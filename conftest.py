"""Session-wide real infrastructure for every test directory of the workspace."""

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from crm_shared.telemetry import configure_tracing

pytest_plugins = ["crm_devstack.pytest_plugin"]


@pytest.fixture(scope="module")
def global_spans() -> InMemorySpanExporter:
    """Every span the process's global tracer provider finishes (set up here if no test
    module did it first), for tests of traces that cross the services' own instrumentation."""
    exporter = InMemorySpanExporter()
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        configure_tracing("tests", exporter=exporter)
    else:
        provider = trace.get_tracer_provider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))  # type: ignore[attr-defined]
    return exporter
