"""Queries: the current contact, a page of contacts, a contact's history and its past."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crm_contacts.adapters import read_model
from crm_contacts.adapters.custom_fields import load_catalogue
from crm_contacts.adapters.read_model import ContactFilter, ContactRow
from crm_contacts.domain.contact import Contact
from crm_contacts.domain.custom_fields import FieldDefinition
from crm_contacts.domain.duplicates import LikelyDuplicate, Profile, rank
from crm_shared.contracts.contacts import (
    REGISTRY,
    ConsentChanged,
    ContactArchived,
    ContactCreated,
    ContactMerged,
    ContactMergedInto,
    ContactUpdated,
)
from crm_shared.errors import NotFound
from crm_shared.eventstore import EventStore, RecordedEvent


@dataclass(frozen=True)
class ContactView:
    contact_id: str
    version: int
    details: dict[str, Any]
    archived: bool


@dataclass(frozen=True)
class ConsentRecord:
    channel: str
    status: str
    lawful_basis: str
    source: str
    actor: str
    at: datetime


@dataclass(frozen=True)
class Change:
    version: int
    event_type: str
    actor: str
    at: datetime
    changes: dict[str, dict[str, Any]]


class ContactQueries:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    async def get(self, tenant_id: str, contact_id: str) -> ContactRow:
        async with self.store.engine.connect() as connection:
            row = await read_model.get(connection, self.store.schema, tenant_id, contact_id)
        if row is None:
            raise NotFound(f"no contact {contact_id}")
        return row

    async def page(
        self, tenant_id: str, where: ContactFilter, limit: int, cursor: str | None
    ) -> tuple[list[ContactRow], str | None]:
        after = read_model.decode_cursor(cursor) if cursor else None
        async with self.store.engine.connect() as connection:
            rows = await read_model.page(
                connection, self.store.schema, tenant_id, where, limit + 1, after
            )
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, read_model.encode_cursor(rows[-1]) if more else None

    async def likely_duplicates(self, tenant_id: str, contact_id: str) -> list[LikelyDuplicate]:
        """Contacts that are probably the same person, best match first."""
        row = await self.get(tenant_id, contact_id)
        profile = profile_of(row)
        async with self.store.engine.connect() as connection:
            candidates = await read_model.duplicate_candidates(
                connection,
                self.store.schema,
                tenant_id,
                sorted(profile.emails),
                sorted(profile.phones),
                profile.last_name,
            )
        return rank(profile, [profile_of(c) for c in candidates])

    async def custom_fields(self, tenant_id: str) -> list[FieldDefinition]:
        async with self.store.unit_of_work() as uow:
            catalogue, _ = await load_catalogue(uow, tenant_id)
        return sorted(catalogue.fields.values(), key=lambda d: d.name)

    async def each(
        self, tenant_id: str, where: ContactFilter, page_size: int = 1000
    ) -> AsyncIterator[ContactRow]:
        """Every matching contact, fetched a page at a time."""
        cursor: str | None = None
        while True:
            rows, cursor = await self.page(tenant_id, where, page_size, cursor)
            for row in rows:
                yield row
            if cursor is None:
                return

    async def as_of(self, tenant_id: str, contact_id: str, moment: datetime) -> ContactView:
        """The contact as it was at ``moment``, rebuilt from its events."""
        history = await self._history(tenant_id, contact_id, moment)
        contact = Contact.from_history(
            contact_id,
            [REGISTRY.decode_data(e.event_type, e.schema_version, e.data) for e in history],
        )
        return ContactView(contact_id, contact.version, contact.state, contact.archived)

    async def history(self, tenant_id: str, contact_id: str) -> list[Change]:
        """Who changed what, when, with old and new values, oldest first."""
        changes = []
        for event in await self._history(tenant_id, contact_id, None):
            decoded = REGISTRY.decode_data(event.event_type, event.schema_version, event.data)
            if isinstance(decoded, ContactCreated):
                fields = decoded.model_dump(mode="json", exclude={"contact_id"})
                diff = {
                    k: {"old": None, "new": v} for k, v in fields.items() if v not in (None, [])
                }
            elif isinstance(decoded, ContactUpdated):
                diff = {k: c.model_dump(mode="json") for k, c in decoded.changes.items()}
            elif isinstance(decoded, ContactArchived):
                diff = {"archived": {"old": False, "new": True}}
            elif isinstance(decoded, ContactMerged):
                diff = {k: c.model_dump(mode="json") for k, c in decoded.changes.items()}
                diff["merged_contact_id"] = {"old": None, "new": decoded.merged_contact_id}
            elif isinstance(decoded, ContactMergedInto):
                diff = {"merged_into": {"old": None, "new": decoded.survivor_id}}
            elif isinstance(decoded, ConsentChanged):
                diff = {f"consent.{decoded.channel}": {"old": None, "new": decoded.status}}
            else:
                diff = {}
            changes.append(
                Change(
                    event.stream_version,
                    event.event_type,
                    event.metadata.actor,
                    event.recorded_at,
                    diff,
                )
            )
        return changes

    async def consents(self, tenant_id: str, contact_id: str) -> list[ConsentRecord]:
        """Every consent change of the contact, oldest first (the last per channel holds)."""
        records = []
        for event in await self._history(tenant_id, contact_id, None):
            decoded = REGISTRY.decode_data(event.event_type, event.schema_version, event.data)
            if isinstance(decoded, ConsentChanged):
                records.append(
                    ConsentRecord(
                        decoded.channel,
                        decoded.status,
                        decoded.lawful_basis,
                        decoded.source,
                        event.metadata.actor,
                        event.occurred_at,
                    )
                )
        return records

    async def _history(
        self, tenant_id: str, contact_id: str, moment: datetime | None
    ) -> list[RecordedEvent]:
        events = await self.store.read_stream(contact_id, as_of=moment)
        if moment is not None and not events:
            everything = await self.store.read_stream(contact_id)
            if everything and everything[0].metadata.tenant_id == tenant_id:
                raise NotFound(f"contact {contact_id} did not exist yet at {moment.isoformat()}")
        if (
            not events
            or events[0].metadata.tenant_id != tenant_id
            or events[0].event_type != ContactCreated.event_type
        ):
            raise NotFound(f"no contact {contact_id}")
        return events


def profile_of(row: ContactRow) -> Profile:
    details = row.details
    return Profile(
        row.contact_id,
        details.get("first_name"),
        details["last_name"],
        frozenset(e["address"] for e in details.get("emails", [])),
        frozenset(p["number"] for p in details.get("phones", [])),
    )
