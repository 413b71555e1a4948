"""A create is one statement, a transaction of its own: what must hold for it to be kept (its
data key and every event written, the custom fields it was checked against still current) it
checks itself, and a refusal leaves nothing of it behind."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_contacts.adapters.custom_fields import catalogue_stream
from crm_contacts.application.commands import CreateContact, DefineCustomField
from crm_contacts.application.handlers import CATALOGUE_ATTEMPTS, ContactHandlers
from crm_contacts.domain.contact import ContactDetails
from crm_shared.caller import Caller
from crm_shared.errors import ConcurrencyConflict
from crm_shared.eventstore import EventStore, NewEvent, RecordedEvent
from crm_shared.privacy import KeyEncryptionKey, SealError
from crm_shared.privacy.keystore import SubjectKeyStore

pytestmark = pytest.mark.integration

CALLER = Caller("tenant-a", "user-ada", "correlation-1")
ADA = CreateContact(CALLER, ContactDetails(last_name="Lovelace", emails=["ada@example.com"]))


@pytest.fixture
def new_id() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def handlers(
    engine: AsyncEngine, contacts_schema: str, key_encryption_key: str, new_id: str
) -> ContactHandlers:
    keys = SubjectKeyStore(contacts_schema, KeyEncryptionKey.from_base64(key_encryption_key))
    return ContactHandlers(EventStore(engine, contacts_schema), keys, new_id=lambda: new_id)


async def test_a_create_whose_stream_exists_is_a_conflict_and_keeps_nothing(
    handlers: ContactHandlers, engine: AsyncEngine, contacts_schema: str, new_id: str
) -> None:
    event = NewEvent("crm.contacts.contact.archived", 1, {}, new_id, new_id)
    await handlers.store.append(new_id, 0, [event], CALLER.event_metadata())

    with pytest.raises(ConcurrencyConflict) as raised:
        await handlers.create(ADA)

    assert (raised.value.expected_version, raised.value.actual_version) == (0, 1)
    assert await _kept(engine, contacts_schema, new_id) == (0, 0, 0, 1)


async def test_a_create_for_an_erased_subject_is_refused_and_keeps_nothing(
    handlers: ContactHandlers, engine: AsyncEngine, contacts_schema: str, new_id: str
) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            text(
                f'INSERT INTO "{contacts_schema}".erased_subjects (subject_id, tenant_id)'
                " VALUES (:id, :tenant)"
            ),
            {"id": new_id, "tenant": CALLER.tenant_id},
        )

    with pytest.raises(SealError):
        await handlers.create(ADA)

    assert await _kept(engine, contacts_schema, new_id) == (0, 0, 0, 0)


async def test_a_create_that_is_kept_writes_its_row_key_identifiers_and_event(
    handlers: ContactHandlers, engine: AsyncEngine, contacts_schema: str, new_id: str
) -> None:
    created = await handlers.create(ADA)

    assert created.contact_id == new_id
    assert await _kept(engine, contacts_schema, new_id) == (1, 1, 2, 1)


class ReplicaChangesFieldsAfterEachRead(EventStore):
    """The real store, with another replica defining a custom field every time this one has
    read the tenant's fields: between the read and the create's statement."""

    other: ContactHandlers
    reads = 0

    async def read_stream(self, stream_id: str, **options: Any) -> list[RecordedEvent]:
        history = await super().read_stream(stream_id, **options)
        if stream_id == catalogue_stream(CALLER.tenant_id):
            self.reads += 1
            label = f"Region {self.reads}"
            await self.other.define_field(DefineCustomField(CALLER, "region", label, "text"))
        return history


async def test_a_create_whose_custom_fields_keep_changing_gives_up_with_a_conflict(
    engine: AsyncEngine, contacts_schema: str, key_encryption_key: str
) -> None:
    keys = SubjectKeyStore(contacts_schema, KeyEncryptionKey.from_base64(key_encryption_key))
    store = ReplicaChangesFieldsAfterEachRead(engine, contacts_schema)
    store.other = ContactHandlers(EventStore(engine, contacts_schema), keys)
    handlers = ContactHandlers(store, keys)

    with pytest.raises(ConcurrencyConflict) as raised:
        await handlers.create(ADA)

    assert raised.value.stream_id == catalogue_stream(CALLER.tenant_id)
    assert store.reads == CATALOGUE_ATTEMPTS
    assert (raised.value.expected_version, raised.value.actual_version) == (4, 5)
    async with engine.connect() as connection:
        contacts = await connection.execute(text(f'SELECT 1 FROM "{contacts_schema}".contacts'))
        assert contacts.all() == []


async def _kept(engine: AsyncEngine, schema: str, contact_id: str) -> tuple[int, int, int, int]:
    """Rows of the contact, data keys, identifiers and events held for ``contact_id``."""
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    f'SELECT (SELECT count(*) FROM "{schema}".contacts WHERE contact_id = :id),'
                    f' (SELECT count(*) FROM "{schema}".subject_keys WHERE subject_id = :id),'
                    f' (SELECT count(*) FROM "{schema}".contact_identifiers'
                    " WHERE contact_id = :id),"
                    f' (SELECT count(*) FROM "{schema}".events WHERE stream_id = :id)'
                ),
                {"id": contact_id},
            )
        ).one()
    return (row[0], row[1], row[2], row[3])
