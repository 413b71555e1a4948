"""The AsyncAPI document other systems read: up to date, every reference resolves, every
payload is the published JSON Schema of its event's newest version."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crm_shared.contracts.asyncapi import PUBLISHERS, document, hoisted, render

ROOT = Path(__file__).parents[3]
DOC = ROOT / "docs" / "asyncapi.json"


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for item in node for r in refs(item)]
    return []


def resolve(root: dict[str, Any], reference: str) -> Any:
    node: Any = root
    for part in reference.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_the_document_is_up_to_date() -> None:
    assert DOC.read_text() == render(), (
        "docs/asyncapi.json is stale: python -m crm_shared.contracts.asyncapi > docs/asyncapi.json"
    )


def test_every_reference_outside_the_payloads_resolves() -> None:
    spec = document()
    outside = {k: v for k, v in spec.items() if k != "components"}
    outside["messages"] = {
        name: {k: v for k, v in message.items() if k != "payload"}
        for name, message in spec["components"]["messages"].items()
    }
    for reference in refs(outside):
        assert resolve(spec, reference) is not None, reference


def test_every_event_is_on_its_services_channel_with_its_published_schema() -> None:
    spec = document()
    for service, (registry, _) in PUBLISHERS.items():
        channel = spec["channels"][service]
        assert channel["address"] == f"crm.{service}.events"
        assert len(channel["messages"]) == len(registry.event_types())
        for event_type in registry.event_types():
            version = registry.latest(event_type).schema_version
            published = ROOT / "shared" / "schemas" / event_type / f"v{version}.json"
            message = spec["components"]["messages"][
                event_type.removeprefix("crm.").replace(".", "_")
            ]
            as_published = hoisted(json.loads(published.read_text()), service, {})
            assert message["payload"] == as_published, event_type


def test_a_prefix_names_other_topics() -> None:
    assert document("staging")["channels"]["sales"]["address"] == "staging.sales.events"
