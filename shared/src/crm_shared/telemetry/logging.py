"""Structured logs: one JSON object per line, carrying the trace and span ids of the moment."""

from __future__ import annotations

import logging
import sys
from typing import Any

from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter


class TraceContextFilter(logging.Filter):
    """Adds ``trace_id`` and ``span_id`` (hex) of the active span, and the service name."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        record.service = self.service
        if context.is_valid:
            record.trace_id = format(context.trace_id, "032x")
            record.span_id = format(context.span_id, "016x")
        return True


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={"asctime": "timestamp", "levelname": "level", "name": "logger"},
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )


def configure_logging(service: str, level: str = "INFO", fmt: str = "json") -> logging.Handler:
    """Route the root logger to stdout in ``fmt`` (json or console); returns the handler."""
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(TraceContextFilter(service))
    if fmt == "json":
        handler.setFormatter(json_formatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    return handler


def log_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The extra fields this module adds to a record (for tests and diagnostics)."""
    return {k: getattr(record, k) for k in ("service", "trace_id", "span_id") if hasattr(record, k)}
