"""Example contracts for the tests: no service's contracts live in the events package on purpose."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from crm_shared.events import ContractModel, EventContract, EventEnvelope, dataschema_for

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


class EmailAddress(ContractModel):
    address: str
    primary: bool = False


class ContactCreated(EventContract):
    event_type = "crm.contacts.contact.created"
    schema_version = 1

    contact_id: str
    name: str
    email: EmailAddress | None = None


class ContactCreatedV2(EventContract):
    """v2 split the name; an upcaster turns v1 data into v2 data."""

    event_type = "crm.contacts.contact.created"
    schema_version = 2

    contact_id: str
    given_name: str
    family_name: str
    email: EmailAddress | None = None


class StageChanged(EventContract):
    event_type = "crm.sales.opportunity.stage_changed"
    schema_version = 1

    stage: Literal["lead", "won", "lost"]
    amount: int


def split_name(data: dict[str, Any]) -> dict[str, Any]:
    given, _, family = data.pop("name").partition(" ")
    return {**data, "given_name": given, "family_name": family}


def envelope(**overrides: Any) -> EventEnvelope:
    """A valid v1 ``contact.created`` envelope, with ``overrides`` applied."""
    values: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "source": "/crm/contacts",
        "type": "crm.contacts.contact.created",
        "time": datetime(2026, 11, 24, 9, 30, tzinfo=UTC),
        "subject": "contact-1",
        "dataschema": dataschema_for("crm.contacts.contact.created", 1),
        "data": {"contact_id": "contact-1", "name": "Ada Lovelace"},
        "tenantid": "tenant-1",
        "actor": "user-7",
        "correlationid": "corr-1",
        "causationid": "cmd-1",
        "traceparent": TRACEPARENT,
        "tracestate": "vendor=opaque",
        "streamid": "contact-1",
        "streamversion": 1,
        "partitionkey": "contact-1",
    }
    values.update(overrides)
    return EventEnvelope(**values)


def envelope_of(event: EventContract, **overrides: Any) -> EventEnvelope:
    """An envelope carrying ``event`` as its data."""
    return envelope(
        type=event.event_type,
        dataschema=event.dataschema(),
        data=event.model_dump(mode="json"),
        **overrides,
    )
