"""Structured logs: one JSON object per line, carrying the trace and span ids of the moment.

A line has ``timestamp`` (ISO 8601, UTC), ``level``, ``logger``, ``message``, ``service``,
``trace_id`` and ``span_id`` (hex, as trace back ends show them) when a span is active, any
``extra={...}`` fields, and ``exc_info`` for exceptions. ``console`` prints the same for humans.
"""

from __future__ import annotations

import logging
import sys
from typing import Literal, TextIO

from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["json", "console"]

_CONSOLE = "%(asctime)s %(levelname)-7s %(name)s [%(trace_id)s]: %(message)s"

PER_REQUEST_LOGGERS = ("httpx", "httpcore")
"""HTTP clients that write a line for every request they send at INFO (the gateway's upstream
calls): what the metrics and traces already say, and a tenth of the gateway's CPU. Written
only at DEBUG."""


class TraceContextFilter(logging.Filter):
    """Adds ``trace_id`` and ``span_id`` (hex) of the active span, and the service name."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        record.service = self.service
        if context.is_valid:
            record.trace_id = trace.format_trace_id(context.trace_id)
            record.span_id = trace.format_span_id(context.span_id)
        return True


def json_formatter() -> logging.Formatter:
    """One JSON object per record, with the field names of the module's docstring."""
    return JsonFormatter(
        "%(levelname)s %(name)s %(message)s",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp=True,
    )


def console_formatter() -> logging.Formatter:
    """One line per record for a terminal; ``-`` where there is no trace."""
    return logging.Formatter(_CONSOLE, defaults={"trace_id": "-"})


def configure_logging(
    service: str,
    level: str | int = "INFO",
    fmt: LogFormat = "json",
    *,
    stream: TextIO | None = None,
) -> logging.Handler:
    """Send every log record at ``level`` or above to ``stream`` (stdout) in ``fmt``.

    Replaces the root logger's handlers, so calling it again reconfigures rather than
    duplicating lines; library loggers (uvicorn's included, with ``log_config=None``) propagate
    to it. Returns the handler installed.
    """
    if fmt not in ("json", "console"):
        raise ValueError(f"log format must be json or console, not {fmt!r}")
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.addFilter(TraceContextFilter(service))
    handler.setFormatter(json_formatter() if fmt == "json" else console_formatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    quiet = logging.DEBUG if root.level <= logging.DEBUG else max(root.level, logging.WARNING)
    for name in PER_REQUEST_LOGGERS:
        logging.getLogger(name).setLevel(quiet)
    return handler
