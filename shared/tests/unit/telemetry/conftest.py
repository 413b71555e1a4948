"""Tracer providers of the tests' own: the process's global provider is never touched."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from crm_shared.telemetry import configure_tracing


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(spans: InMemorySpanExporter) -> TracerProvider:
    return configure_tracing("telemetry-test", exporter=spans, set_global=False)
