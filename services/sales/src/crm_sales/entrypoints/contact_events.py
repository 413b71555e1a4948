"""What the sales service does with the contacts service's events.

A merge re-points the merged contact's opportunities to the survivor. Sales keeps no personal
data of contacts (ids only), so an erasure asks nothing of it; other event types are ignored.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from crm_sales.application.handlers import SalesHandlers
from crm_shared.caller import Caller
from crm_shared.consumer import ApplyEvent
from crm_shared.contracts.contacts import REGISTRY as CONTACTS
from crm_shared.contracts.contacts import ContactMerged
from crm_shared.events import EventEnvelope
from crm_shared.eventstore import EventStore

CONSUMER_GROUP = "crm-sales.contacts"
ACTOR = "crm-sales"


def apply_contact_event(store: EventStore, handlers: SalesHandlers) -> ApplyEvent:
    async def apply(connection: AsyncConnection, envelope: EventEnvelope) -> None:
        if envelope.type != ContactMerged.event_type:
            return
        event = CONTACTS.decode(envelope)
        assert isinstance(event, ContactMerged)
        caller = Caller(envelope.tenantid, ACTOR, envelope.correlationid or envelope.id)
        async with store.joined(connection) as uow:
            await handlers.repoint_contact(
                uow, caller, event.merged_contact_id, event.contact_id, causation_id=envelope.id
            )

    return apply
