"""The CloudEvents 1.0 envelope every CRM event travels in, with the platform's extensions."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from crm_shared.events.naming import (
    EVENT_TYPE,
    check_event_type,
    dataschema_for,
    parse_dataschema,
)

__all__ = [
    "CONTEXT_ATTRIBUTES",
    "DATA_IS_JSON",
    "EVENT_TYPE",
    "EXTENSIONS",
    "TRACEPARENT",
    "EventEnvelope",
    "dataschema_for",
    "parse_dataschema",
]

CONTEXT_ATTRIBUTES = (
    "id",
    "source",
    "type",
    "specversion",
    "time",
    "subject",
    "dataschema",
    "datacontenttype",
)
"""The CloudEvents 1.0 context attributes we use (``data`` is the event's payload)."""

EXTENSIONS = (
    "tenantid",
    "actor",
    "correlationid",
    "causationid",
    "traceparent",
    "tracestate",
    "streamid",
    "streamversion",
    "partitionkey",
)
"""Extension attributes carried by every event (CloudEvents names: lowercase alphanumerics)."""

TRACEPARENT = re.compile(
    r"\A(?!ff)[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}\Z"
)
"""A W3C ``traceparent`` (version 00 layout; version ``ff`` and all-zero ids are invalid)."""

DATA_IS_JSON: Mapping[str, bool] = MappingProxyType({"data_is_json": True})
"""Validation context for data parsed from JSON just now: its JSON check is skipped."""

_UUID = re.compile(r"\A[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
_URI_REFERENCE = re.compile(r"\A[^\s\x00-\x1f\x7f]+\Z")


class EventEnvelope(BaseModel):
    """One CloudEvent: context attributes, our extensions, and the JSON ``data``.

    ``id`` is the event id (a UUID, kept in its canonical lowercase form); consumers
    deduplicate on it. ``dataschema`` names the type and the version of ``data``
    (``urn:crm:schema:<type>:v<N>``) and must name this event's ``type``. ``partitionkey`` is
    the customer the event concerns (contact or account id) and the Kafka record key.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    source: str
    type: str
    specversion: Literal["1.0"] = "1.0"
    time: datetime
    subject: str | None = Field(default=None, min_length=1)
    dataschema: str
    datacontenttype: Literal["application/json"] = "application/json"
    data: dict[str, Any]

    tenantid: str = Field(min_length=1)
    actor: str = Field(min_length=1)
    correlationid: str = Field(min_length=1)
    causationid: str | None = Field(default=None, min_length=1)
    traceparent: str | None = None
    tracestate: str | None = Field(default=None, min_length=1)
    streamid: str = Field(min_length=1)
    streamversion: int = Field(ge=1)
    partitionkey: str = Field(min_length=1)

    @field_validator("id")
    @classmethod
    def _id_is_a_uuid(cls, value: str) -> str:
        canonical = value.lower()
        if not _UUID.match(canonical):
            raise ValueError("must be a UUID (8-4-4-4-12 hexadecimal digits)")
        return canonical

    @field_validator("source")
    @classmethod
    def _source_is_a_uri_reference(cls, value: str) -> str:
        if not _URI_REFERENCE.match(value):
            raise ValueError("must be a non-empty URI-reference without spaces, e.g. /crm/contacts")
        return value

    @field_validator("type")
    @classmethod
    def _type_is_named_by_convention(cls, value: str) -> str:
        return check_event_type(value)

    @field_validator("time")
    @classmethod
    def _time_is_utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("must carry a time zone")
        return value.astimezone(UTC)

    @field_validator("dataschema")
    @classmethod
    def _dataschema_names_this_type(cls, value: str, info: ValidationInfo) -> str:
        named, _ = parse_dataschema(value)
        event_type = info.data.get("type")  # absent when the type itself was refused
        if event_type is not None and named != event_type:
            raise ValueError(f"dataschema names {named}, but the event type is {event_type}")
        return value

    @field_validator("data")
    @classmethod
    def _data_is_json(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        if not (info.context and info.context.get("data_is_json")):
            _check_json(value, "data")
        return value

    @field_validator("traceparent")
    @classmethod
    def _traceparent_is_w3c(cls, value: str | None) -> str | None:
        if value is not None and not TRACEPARENT.match(value):
            raise ValueError("must be a W3C traceparent: 00-<32 hex trace id>-<16 hex span id>-<2>")
        return value

    @property
    def schema_version(self) -> int:
        """The version of ``data``, as ``dataschema`` names it."""
        return parse_dataschema(self.dataschema)[1]


def _check_json(value: object, path: str) -> None:
    """Refuse what JSON cannot carry unchanged: tuples, sets, NaN, non-string keys, objects."""
    if value is None or isinstance(value, str | bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{path} is {value}, which JSON cannot represent")
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check_json(item, f"{path}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{path} has the non-string key {key!r}")
            _check_json(item, f"{path}.{key}")
        return
    raise ValueError(f"{path} is a {type(value).__name__}, not a JSON value")
