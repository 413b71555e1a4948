"""What other systems receive on crm.contacts.events: CloudEvents keyed by contact, in order."""

from __future__ import annotations

import base64

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_contacts.bootstrap import TOPIC
from crm_devstack.subscriber import records_keyed, subscribe_from_now
from crm_shared.contracts.contacts import (
    REGISTRY,
    ContactCreated,
    ContactPersonalData,
    ContactUpdated,
)
from crm_shared.events import from_kafka_record
from crm_shared.privacy import unseal
from crm_shared.relay import OutboxRelay, RelayConfig

from .conftest import ADA
from .test_contacts_api import create

pytestmark = pytest.mark.integration


async def test_a_subscriber_receives_each_change_as_a_typed_cloudevent(
    api: httpx.AsyncClient, engine: AsyncEngine, contacts_schema: str, kafka_bootstrap: str
) -> None:
    subscriber = await subscribe_from_now(kafka_bootstrap, TOPIC)
    try:
        contact_id = (await create(api)).json()["id"]
        await api.patch(
            f"/contacts/{contact_id}",
            json={"lifecycle_stage": "customer"},
            headers={**ADA, "If-Match": '"1"'},
        )
        relay = OutboxRelay(
            engine, RelayConfig(contacts_schema, TOPIC, "/crm/contacts", kafka_bootstrap)
        )
        try:
            while await relay.publish_next_batch():
                pass
        finally:
            await relay.close()
        received = await records_keyed(subscriber, contact_id.encode(), expected=2)
    finally:
        await subscriber.stop()

    envelopes = [from_kafka_record(r.key, r.value, r.headers) for r in received]
    assert [e.type for e in envelopes] == [
        "crm.contacts.contact.created",
        "crm.contacts.contact.updated",
    ]
    assert [e.streamversion for e in envelopes] == [1, 2]
    assert {e.tenantid for e in envelopes} == {"tenant-a"}
    assert {e.actor for e in envelopes} == {"user-ada"}
    assert all(b"ada@example.com" not in r.value for r in received)  # sealed on the wire
    created, updated = (REGISTRY.decode(e) for e in envelopes)
    assert isinstance(created, ContactCreated)
    assert isinstance(updated, ContactUpdated)
    assert updated.changes["lifecycle_stage"].new == "customer"

    # A subscriber opens the personal data with the contact's key from the API.
    answer = await api.get(f"/privacy/keys/{contact_id}", headers=ADA)
    assert answer.status_code == 200, answer.text
    key = base64.b64decode(answer.json()["key"])
    personal = ContactPersonalData.model_validate(unseal(key, created.personal))
    assert personal.emails[0].address == "ada@example.com"
    assert personal.last_name == "Lovelace"
