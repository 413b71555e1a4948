"""A "demo" service's contracts, as published in ``published/`` and as later changed.

``published/`` is a fixture directory, written once from ``PUBLISHED`` and kept as files:
what other systems would have read. The registries below are the candidate changes.
"""

from __future__ import annotations

from typing import Any, Literal

from crm_shared.events import EventContract, EventRegistry


class WidgetCreated(EventContract):
    event_type = "crm.demo.widget.created"
    schema_version = 1

    widget_id: str
    name: str
    size: Literal["s", "m", "l"] = "m"
    tags: list[str] = []


class WidgetDiscarded(EventContract):
    event_type = "crm.demo.widget.discarded"
    schema_version = 1

    widget_id: str
    reason: str | None = None


class WidgetCreatedWithColour(WidgetCreated):
    """Additive: a new optional field."""

    colour: str | None = None


class WidgetCreatedWithoutSize(EventContract):
    """Breaking: ``size`` removed and ``name`` turned into a number, in the same version."""

    event_type = "crm.demo.widget.created"
    schema_version = 1

    widget_id: str
    name: int
    tags: list[str] = []


class WidgetCreatedV2(EventContract):
    """The breaking change done right: a new version, with an upcaster from v1."""

    event_type = "crm.demo.widget.created"
    schema_version = 2

    widget_id: str
    label: str
    tags: list[str] = []


def rename_name_to_label(data: dict[str, Any]) -> dict[str, Any]:
    data["label"] = data.pop("name")
    data.pop("size", None)
    return data


PUBLISHED = EventRegistry([WidgetCreated, WidgetDiscarded])
ADDITIVE = EventRegistry([WidgetCreatedWithColour, WidgetDiscarded])
BREAKING = EventRegistry([WidgetCreatedWithoutSize, WidgetDiscarded])
NEW_VERSION = EventRegistry(
    [WidgetCreated, WidgetCreatedV2, WidgetDiscarded],
    upcasters={WidgetCreated: rename_name_to_label},
)
DISCARDED_DROPPED = EventRegistry([WidgetCreated])
NOT_A_REGISTRY = [WidgetCreated]
