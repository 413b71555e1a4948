"""The CloudEvents Kafka protocol binding, binary content mode.

Writing: the record value is the compact UTF-8 JSON of ``data``; ``datacontenttype`` travels as
the ``content-type`` header and every other attribute that is set as a ``ce_<name>`` header
(``time`` in RFC 3339 with ``Z``, ``streamversion`` in decimal); the key is ``partitionkey``,
the customer the event concerns. ``traceparent``/``tracestate`` are also written as the plain
W3C headers so that OpenTelemetry propagators (FastStream's middleware) continue the trace.

Reading is lenient where the binding allows it: header names in any case, unknown headers and
unknown ``ce_`` extensions are ignored (not kept), a missing ``ce_partitionkey`` falls back to
the record key, and a record in structured content mode (``application/cloudevents+json``) is
read too. Anything else that is wrong raises ``InvalidEnvelope`` naming the attribute.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from crm_shared.events.envelope import (
    CONTEXT_ATTRIBUTES,
    DATA_IS_JSON,
    EXTENSIONS,
    EventEnvelope,
)
from crm_shared.events.errors import InvalidEnvelope

__all__ = [
    "InvalidEnvelope",
    "KafkaRecord",
    "format_time",
    "from_kafka_record",
    "record_from_attributes",
    "to_kafka_record",
]

CE_PREFIX = "ce_"
CONTENT_TYPE = "content-type"
JSON = "application/json"
STRUCTURED_JSON = "application/cloudevents+json"

_HEADER_ATTRIBUTES = (*(a for a in CONTEXT_ATTRIBUTES if a != "datacontenttype"), *EXTENSIONS)
_KNOWN = frozenset((*CONTEXT_ATTRIBUTES, *EXTENSIONS, "data"))
_W3C = ("traceparent", "tracestate")
_REQUIRED = (
    "id",
    "source",
    "type",
    "specversion",
    "time",
    "dataschema",
    "tenantid",
    "actor",
    "correlationid",
    "streamid",
    "streamversion",
    "partitionkey",
)
_RFC3339 = re.compile(
    r"\A(?P<date>\d{4}-\d{2}-\d{2})[Tt](?P<clock>\d{2}:\d{2}:\d{2})(?:\.(?P<fraction>\d+))?"
    r"(?P<offset>[Zz]|[+-]\d{2}:\d{2})\Z",
    re.ASCII,
)


@dataclass(frozen=True, slots=True)
class KafkaRecord:
    """What to hand to the producer: ``send(topic, value, key=key, headers=headers)``."""

    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


def format_time(value: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, as CloudEvents recommends."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def to_kafka_record(envelope: EventEnvelope) -> KafkaRecord:
    """The binary-mode record of an envelope."""
    return record_from_attributes(
        {name: getattr(envelope, name) for name in _HEADER_ATTRIBUTES}, envelope.data
    )


def record_from_attributes(
    attributes: Mapping[str, object | None], data: Mapping[str, Any]
) -> KafkaRecord:
    """The record for already validated attributes (the relay's path: no model in between).

    ``attributes`` holds every attribute but ``datacontenttype`` (always JSON); ``None``
    values are left out.
    """
    headers: list[tuple[str, bytes]] = [(CONTENT_TYPE, JSON.encode())]
    for name in _HEADER_ATTRIBUTES:
        value = attributes.get(name)
        if value is None:
            continue
        text = format_time(value) if isinstance(value, datetime) else str(value)
        headers.append((f"{CE_PREFIX}{name}", text.encode()))
    for name in _W3C:
        value = attributes.get(name)
        if value is not None:
            headers.append((name, str(value).encode()))
    value_bytes = json.dumps(
        data, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()
    key = str(attributes["partitionkey"]).encode()
    return KafkaRecord(key=key, value=value_bytes, headers=headers)


def from_kafka_record(
    key: bytes | None,
    value: bytes | None,
    headers: Sequence[tuple[str, bytes | None]] | None,
) -> EventEnvelope:
    """The envelope of a record as a Kafka client gives it (aiokafka: ``key, value, headers``)."""
    ce_headers, content_type = _decode_headers(headers or ())
    media_type = (content_type or JSON).split(";")[0].strip().lower()
    attributes: dict[str, Any]
    if not ce_headers and media_type == STRUCTURED_JSON:
        attributes, where = _structured(value), _member
    else:
        if media_type != JSON:
            raise InvalidEnvelope(
                f"header content-type is {media_type!r}; the event data must be {JSON}",
                "datacontenttype",
            )
        attributes, where = ce_headers, _header
        attributes["data"] = _json_object(value)
        attributes["datacontenttype"] = JSON
    if "partitionkey" not in attributes and key is not None:
        attributes["partitionkey"] = _text(key, "partitionkey", "the record key")
    for name in _REQUIRED:
        if attributes.get(name) is None:
            raise InvalidEnvelope(f"{where(name)} is missing", name)
    attributes["time"] = _parse_time(attributes["time"], where("time"))
    known = {name: v for name, v in attributes.items() if name in _KNOWN}
    try:
        # The data was just parsed from JSON: the envelope need not check it is JSON again.
        return EventEnvelope.model_validate(known, context=DATA_IS_JSON)
    except ValidationError as error:
        raise _invalid(error, where) from error


def _decode_headers(
    headers: Sequence[tuple[str, bytes | None]],
) -> tuple[dict[str, Any], str | None]:
    """The ``ce_`` headers by attribute name, and the ``content-type`` header."""
    attributes: dict[str, Any] = {}
    content_type: str | None = None
    for raw_name, raw_value in headers:
        if raw_value is None:
            continue
        name = raw_name.lower()
        if name.startswith(CE_PREFIX):
            attributes[name[3:]] = _text(raw_value, name[3:], f"header {name}")
        elif name == CONTENT_TYPE:
            content_type = _text(raw_value, "datacontenttype", f"header {name}")
    return attributes, content_type


def _text(raw: bytes, attribute: str, where: str) -> str:
    try:
        return raw.decode()
    except UnicodeDecodeError as error:
        raise InvalidEnvelope(f"{where} is not UTF-8: {error}", attribute) from error


def _json_object(value: bytes | None) -> dict[str, Any]:
    if value is None:
        raise InvalidEnvelope(
            "the record has no value; the event data must be a JSON object", "data"
        )
    try:
        data = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidEnvelope(f"the record value is not JSON: {error}", "data") from error
    if not isinstance(data, dict):
        raise InvalidEnvelope("the record value must be a JSON object (the event data)", "data")
    return data


def _structured(value: bytes | None) -> dict[str, Any]:
    event = _json_object(value)
    if "data" not in event and "data_base64" in event:
        raise InvalidEnvelope("data_base64 is not supported: the event data must be JSON", "data")
    if not isinstance(event.get("data"), dict):
        raise InvalidEnvelope("member data must be a JSON object", "data")
    return event


def _header(attribute: str) -> str:
    return f"header {CE_PREFIX}{attribute}"


def _member(attribute: str) -> str:
    return f"member {attribute}"


def _parse_time(value: object, where: str) -> datetime:
    match = _RFC3339.match(value) if isinstance(value, str) else None
    if match is None:
        raise InvalidEnvelope(f"{where} must be an RFC 3339 timestamp, got {value!r}", "time")
    fraction = (match["fraction"] or "")[:6]
    offset = "+00:00" if match["offset"] in ("Z", "z") else match["offset"]
    text = f"{match['date']}T{match['clock']}{'.' + fraction if fraction else ''}{offset}"
    try:
        return datetime.fromisoformat(text)
    except ValueError as error:
        raise InvalidEnvelope(f"{where} is not a valid time: {error}", "time") from error


def _invalid(error: ValidationError, where: Callable[[str], str]) -> InvalidEnvelope:
    problems: list[str] = []
    attributes: list[str] = []
    for detail in error.errors(include_url=False):
        loc = detail["loc"]
        message = detail["msg"].removeprefix("Value error, ")
        if not loc:
            problems.append(message)
            continue
        attribute = str(loc[0])
        attributes.append(attribute)
        shown = repr(detail["input"])
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        problems.append(f"{where(attribute)}: {message} (got {shown})")
    return InvalidEnvelope("; ".join(problems), attributes[0] if attributes else None)
