"""The CloudEvents Kafka protocol binding, binary content mode.

The record value is the JSON ``data``; ``datacontenttype`` travels as the ``content-type``
header and every other attribute as a ``ce_<name>`` header; the key is ``partitionkey``, the
customer the event concerns. ``traceparent``/``tracestate`` are also written as the plain W3C
headers so that OpenTelemetry propagators continue the trace.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from crm_shared.events.envelope import EXTENSIONS, EventEnvelope

_CONTEXT = ("id", "source", "type", "specversion", "time", "subject", "dataschema")
_ATTRIBUTES = (*_CONTEXT, *EXTENSIONS)
_W3C = ("traceparent", "tracestate")


class InvalidEnvelope(ValueError):
    """A Kafka record that is not a valid CRM CloudEvent; says which attribute and why."""


@dataclass(frozen=True, slots=True)
class KafkaRecord:
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


def format_time(value: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, as CloudEvents recommends."""
    return value.isoformat().replace("+00:00", "Z")


def to_kafka_record(envelope: EventEnvelope) -> KafkaRecord:
    return record_from_attributes(
        {name: getattr(envelope, name) for name in _ATTRIBUTES}, envelope.data
    )


def record_from_attributes(
    attributes: Mapping[str, object | None], data: Mapping[str, Any]
) -> KafkaRecord:
    """The record for already validated attributes (the relay's path: no model in between)."""
    headers: list[tuple[str, bytes]] = [("content-type", b"application/json")]
    for name in _ATTRIBUTES:
        value = attributes.get(name)
        if value is None:
            continue
        text = format_time(value) if isinstance(value, datetime) else str(value)
        headers.append((f"ce_{name}", text.encode()))
    for name in _W3C:
        value = attributes.get(name)
        if value is not None:
            headers.append((name, str(value).encode()))
    value_bytes = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    key = str(attributes["partitionkey"]).encode()
    return KafkaRecord(key=key, value=value_bytes, headers=headers)


def from_kafka_record(
    key: bytes | None, value: bytes | None, headers: Sequence[tuple[str, bytes]] | None
) -> EventEnvelope:
    attributes: dict[str, Any] = {}
    for name, raw in headers or ():
        if name.startswith("ce_"):
            attributes[name[3:]] = raw.decode()
        elif name.lower() == "content-type":
            attributes["datacontenttype"] = raw.decode().split(";")[0].strip()
    for required in ("id", "source", "type", "specversion", "time", "dataschema"):
        if required not in attributes:
            raise InvalidEnvelope(f"header ce_{required} is missing")
    try:
        data = json.loads(value or b"")
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidEnvelope(f"the value is not JSON: {error}") from error
    if not isinstance(data, dict):
        raise InvalidEnvelope("the value must be a JSON object")
    attributes["data"] = data
    if "partitionkey" not in attributes and key is not None:
        attributes["partitionkey"] = key.decode()
    unknown = set(attributes) - {*_ATTRIBUTES, "data", "datacontenttype"}
    for name in unknown:  # extensions we do not know are tolerated, not kept
        del attributes[name]
    try:
        return EventEnvelope.model_validate(attributes)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "record"
        raise InvalidEnvelope(f"attribute {field}: {first['msg']}") from error
