"""The CloudEvents 1.0 envelope every CRM event travels in, with the platform's extensions."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

EVENT_TYPE = re.compile(r"^crm\.[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
TRACEPARENT = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
_DATASCHEMA = re.compile(r"^urn:crm:schema:(?P<type>[a-z0-9_.]+):v(?P<version>[1-9][0-9]*)$")

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


def dataschema_for(event_type: str, version: int) -> str:
    """The URN naming an event type's schema version, e.g. ``urn:crm:schema:crm.x.y.z:v1``."""
    return f"urn:crm:schema:{event_type}:v{version}"


def parse_dataschema(dataschema: str) -> tuple[str, int]:
    """The (event type, schema version) a ``dataschema`` URN names."""
    match = _DATASCHEMA.match(dataschema)
    if match is None:
        raise ValueError(f"not a CRM dataschema URN: {dataschema!r}")
    return match["type"], int(match["version"])


class EventEnvelope(BaseModel):
    """One CloudEvent: context attributes, our extensions, and the JSON ``data``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    type: str
    specversion: Literal["1.0"] = "1.0"
    time: datetime
    subject: str | None = None
    dataschema: str
    datacontenttype: Literal["application/json"] = "application/json"
    data: dict[str, Any]

    tenantid: str = Field(min_length=1)
    actor: str = Field(min_length=1)
    correlationid: str = Field(min_length=1)
    causationid: str | None = None
    traceparent: str | None = None
    tracestate: str | None = None
    streamid: str = Field(min_length=1)
    streamversion: int = Field(ge=1)
    partitionkey: str = Field(min_length=1)

    @field_validator("type")
    @classmethod
    def _type_is_named_by_convention(cls, value: str) -> str:
        if not EVENT_TYPE.match(value):
            raise ValueError("must look like crm.<service>.<entity>.<verb_past_tense>")
        return value

    @field_validator("time")
    @classmethod
    def _time_is_utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("must carry a time zone")
        return value.astimezone(UTC)

    @field_validator("dataschema")
    @classmethod
    def _dataschema_is_a_crm_urn(cls, value: str) -> str:
        parse_dataschema(value)
        return value

    @field_validator("traceparent")
    @classmethod
    def _traceparent_is_w3c(cls, value: str | None) -> str | None:
        if value is not None and not TRACEPARENT.match(value):
            raise ValueError("must be a W3C traceparent (version-traceid-spanid-flags)")
        return value

    @property
    def schema_version(self) -> int:
        return parse_dataschema(self.dataschema)[1]
