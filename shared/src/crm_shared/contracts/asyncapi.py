"""The AsyncAPI 3.0 document of the platform's topics: which service sends which events on which
topic and who receives them, each event with its payload's JSON Schema (the published one) and
the CloudEvents headers every record carries.

    python -m crm_shared.contracts.asyncapi > docs/asyncapi.json

A test keeps ``docs/asyncapi.json`` equal to what this writes.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from crm_shared.contracts import contacts, sales, support
from crm_shared.events import EventRegistry
from crm_shared.events.envelope import CONTEXT_ATTRIBUTES, EXTENSIONS
from crm_shared.events.schemas.export import json_schema

PUBLISHERS: dict[str, tuple[EventRegistry, str]] = {
    "contacts": (
        contacts.REGISTRY,
        "People and organisations: keyed by contact id, organisations' events by account id.",
    ),
    "sales": (
        sales.REGISTRY,
        "Opportunities, quotes and line items keyed by opportunity, leads by lead, activities by"
        " activity; pipelines, teams, the catalogue and lead routing by tenant.",
    ),
    "support": (
        support.REGISTRY,
        "Cases keyed by case id; queues, SLA policies and mailboxes by tenant; articles by id.",
    ),
}
RECEIVERS = {
    "sales": ("contacts",),
    "support": ("contacts",),
    "analytics": ("contacts", "sales", "support"),
}
HEADER_DESCRIPTIONS = {
    "id": "The event id: consumers deduplicate on it.",
    "tenantid": "The tenant the event belongs to.",
    "partitionkey": "The record key: the customer (or entity) the event concerns.",
    "dataschema": "urn:crm:schema:<type>:v<N>: the type and the version of the value.",
    "traceparent": "W3C trace context of the command that caused the event.",
}


def hoisted(schema: dict[str, Any], service: str, into: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with its ``$defs`` moved into ``into`` (the document's components.schemas,
    named ``<service>_<Name>``) and its references pointed there: in an AsyncAPI document a
    local ``#/$defs/...`` would be read against the document's root."""
    defs = schema.get("$defs", {})
    for name, definition in defs.items():
        moved = _repointed(definition, service)
        existing = into.setdefault(f"{service}_{name}", moved)
        if existing != moved:
            raise ValueError(f"two definitions of {name} in the {service} contracts")
    payload: dict[str, Any] = _repointed({k: v for k, v in schema.items() if k != "$defs"}, service)
    return payload


def _repointed(node: Any, service: str) -> Any:
    if isinstance(node, dict):
        return {
            key: (
                f"#/components/schemas/{service}_{value.removeprefix('#/$defs/')}"
                if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/")
                else _repointed(value, service)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_repointed(item, service) for item in node]
    return node


def document(prefix: str = "crm") -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {"CloudEventsHeaders": _headers()}
    for service, (registry, keys) in PUBLISHERS.items():
        names = []
        for event_type in registry.event_types():
            contract = registry.latest(event_type)
            name = event_type.removeprefix("crm.").replace(".", "_")
            names.append(name)
            summary = (contract.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
            messages[name] = {
                "name": event_type,
                "title": f"{event_type} v{contract.schema_version}",
                **({"summary": summary} if summary else {}),
                "contentType": "application/json",
                "headers": {"$ref": "#/components/schemas/CloudEventsHeaders"},
                "payload": hoisted(json_schema(contract), service, schemas),
                "bindings": {"kafka": {"key": {"type": "string"}, "bindingVersion": "0.5.0"}},
            }
        channels[service] = {
            "address": f"{prefix}.{service}.events",
            "description": f"Events of the {service} service. {keys} Dead letters of a"
            f" consumer go to {prefix}.{service}.events.dlq with the error in headers.",
            "messages": {n: {"$ref": f"#/components/messages/{n}"} for n in names},
        }
        operations[f"{service}Publishes"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{service}"},
            "summary": f"The {service} service's outbox relay publishes every committed event.",
            "messages": [{"$ref": f"#/channels/{service}/messages/{n}"} for n in names],
        }
    for receiver, sources in RECEIVERS.items():
        for source in sources:
            operations[f"{receiver}Receives{source.capitalize()}"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{source}"},
                "summary": f"The {receiver} service consumes them, each event once.",
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "CRM platform events",
            "version": "1.0.0",
            "description": "Every change to a customer is an event on one of these topics"
            " (CloudEvents 1.0, Kafka binary mode). Order holds per key within a topic;"
            " delivery is at least once. Personal data travels sealed per person; see"
            " shared/schemas for every version of every payload.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def _headers() -> dict[str, Any]:
    properties = {
        f"ce_{name}": {
            "type": "string",
            **({"description": HEADER_DESCRIPTIONS[name]} if name in HEADER_DESCRIPTIONS else {}),
        }
        for name in (*CONTEXT_ATTRIBUTES, *EXTENSIONS)
        if name != "datacontenttype"
    }
    properties["content-type"] = {"type": "string", "const": "application/json"}
    required = ["ce_id", "ce_source", "ce_type", "ce_specversion", "ce_time", "ce_dataschema"]
    return {"type": "object", "properties": properties, "required": required}


def render(prefix: str = "crm") -> str:
    return json.dumps(document(prefix), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
