"""Logs are JSON lines carrying the trace they were written in."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from crm_shared.telemetry import configure_logging
from crm_shared.telemetry.logging import PER_REQUEST_LOGGERS


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    """What the root logger writes once configured; its former set-up is restored after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    yield stream
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    for name in PER_REQUEST_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_json_log_line_carries_the_trace_and_span_of_the_active_span(
    output: io.StringIO, provider: TracerProvider
) -> None:
    configure_logging("contacts", "INFO", "json", stream=output)
    with provider.get_tracer("test").start_as_current_span("request") as span:
        logging.getLogger("crm.test").info("contact created", extra={"contact_id": "c-1"})
    [line] = lines(output)
    context = span.get_span_context()
    assert line["trace_id"] == f"{context.trace_id:032x}"
    assert line["span_id"] == f"{context.span_id:016x}"
    assert line["message"] == "contact created"
    assert line["level"] == "INFO"
    assert line["logger"] == "crm.test"
    assert line["service"] == "contacts"
    assert line["contact_id"] == "c-1"
    assert str(line["timestamp"]).endswith("+00:00")


def test_outside_any_span_a_log_line_has_no_trace_id(output: io.StringIO) -> None:
    configure_logging("contacts", stream=output)
    logging.getLogger("crm.test").warning("idle")
    [line] = lines(output)
    assert "trace_id" not in line
    assert "span_id" not in line


def test_records_below_the_level_are_not_written(output: io.StringIO) -> None:
    configure_logging("contacts", "WARNING", stream=output)
    logging.getLogger("crm.test").info("chatter")
    assert output.getvalue() == ""


def test_configuring_again_replaces_rather_than_duplicates(output: io.StringIO) -> None:
    configure_logging("contacts", stream=io.StringIO())
    configure_logging("contacts", stream=output)
    logging.getLogger("crm.test").info("once")
    assert len(lines(output)) == 1


def test_an_exception_is_logged_with_its_traceback(output: io.StringIO) -> None:
    configure_logging("contacts", stream=output)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("crm.test").exception("failed")
    [line] = lines(output)
    assert "RuntimeError: boom" in str(line["exc_info"])


def test_the_console_format_is_one_readable_line_with_the_trace_id(
    output: io.StringIO, provider: TracerProvider
) -> None:
    configure_logging("contacts", fmt="console", stream=output)
    logging.getLogger("crm.test").info("outside")
    with provider.get_tracer("test").start_as_current_span("request") as span:
        logging.getLogger("crm.test").info("inside")
    outside, inside = output.getvalue().splitlines()
    assert outside.endswith("crm.test [-]: outside")
    assert f"[{trace.format_trace_id(span.get_span_context().trace_id)}]: inside" in inside


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="json or console"):
        configure_logging("contacts", fmt="xml")  # type: ignore[arg-type]


def test_an_http_clients_line_per_request_is_written_only_at_debug(output: io.StringIO) -> None:
    configure_logging("gateway", "INFO", stream=output)
    logging.getLogger("httpx").info('HTTP Request: GET http://contacts/contacts/1 "200 OK"')
    logging.getLogger("httpx").warning("connection pool full")
    assert [line["message"] for line in lines(output)] == ["connection pool full"]

    configure_logging("gateway", "DEBUG", stream=output)
    logging.getLogger("httpx").info("HTTP Request: GET http://contacts/contacts/2")
    assert lines(output)[-1]["message"] == "HTTP Request: GET http://contacts/contacts/2"


def test_above_warning_an_http_clients_warnings_are_not_written_either(
    output: io.StringIO,
) -> None:
    configure_logging("gateway", "ERROR", stream=output)
    logging.getLogger("httpx").warning("connection pool full")
    assert lines(output) == []
