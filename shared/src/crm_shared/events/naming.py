"""How event types and their schema versions are named.

An event type is ``crm.<service>.<entity>.<verb_past_tense>``: four dot-separated segments of
lowercase letters, digits and underscores, each starting with a letter. A version of its data
schema is named by the URN ``urn:crm:schema:<event type>:v<version>``, which is the event's
CloudEvents ``dataschema`` and the ``$id`` of the published JSON Schema.
"""

from __future__ import annotations

import re

_SEGMENT = r"[a-z][a-z0-9_]*"
_TYPE = rf"crm\.{_SEGMENT}\.{_SEGMENT}\.{_SEGMENT}"

EVENT_TYPE = re.compile(rf"\A{_TYPE}\Z")
"""Matches a well-named event type, e.g. ``crm.sales.opportunity.stage_changed``."""

DATASCHEMA_PREFIX = "urn:crm:schema:"
_DATASCHEMA = re.compile(rf"\Aurn:crm:schema:(?P<type>{_TYPE}):v(?P<version>[1-9][0-9]*)\Z")


def check_event_type(event_type: str) -> str:
    """``event_type`` itself, or ``ValueError`` when it breaks the naming convention."""
    if not EVENT_TYPE.match(event_type):
        raise ValueError(
            f"event type {event_type!r} must look like crm.<service>.<entity>.<verb_past_tense>"
        )
    return event_type


def service_of(event_type: str) -> str:
    """The ``<service>`` segment of a well-named event type."""
    return check_event_type(event_type).split(".")[1]


def dataschema_for(event_type: str, version: int) -> str:
    """The URN naming an event type's schema version, e.g. ``urn:crm:schema:crm.x.y.z:v1``."""
    check_event_type(event_type)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"schema version must be an int >= 1, got {version!r}")
    return f"{DATASCHEMA_PREFIX}{event_type}:v{version}"


def parse_dataschema(dataschema: str) -> tuple[str, int]:
    """The (event type, schema version) a ``dataschema`` URN names; ``ValueError`` otherwise."""
    match = _DATASCHEMA.match(dataschema)
    if match is None:
        raise ValueError(
            f"dataschema {dataschema!r} must look like urn:crm:schema:<event type>:v<version>"
        )
    return match["type"], int(match["version"])
