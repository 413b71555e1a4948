"""An envelope made for an event without an event store reads back as the same event."""

from __future__ import annotations

from datetime import UTC, datetime

from crm_shared.contracts import contacts
from crm_shared.events import envelope_for_event, from_kafka_record, to_kafka_record

KEYED = {"source": "/crm/contacts", "tenant_id": "acme", "stream_id": "acc-1", "actor": "ada"}


def test_an_envelope_made_for_an_event_carries_it_keyed_by_its_stream() -> None:
    at = datetime(2026, 11, 24, 12, tzinfo=UTC)
    event = contacts.AccountCreated(account_id="acc-1", name="US Navy")
    made = envelope_for_event(contacts.REGISTRY, event, **KEYED, stream_version=2, time=at)
    record = to_kafka_record(made)
    assert record.key == b"acc-1"
    read = from_kafka_record(record.key, record.value, record.headers)
    assert contacts.REGISTRY.decode(read) == event
    assert (read.tenantid, read.actor, read.streamversion, read.time) == ("acme", "ada", 2, at)
    again = envelope_for_event(contacts.REGISTRY, event, **KEYED)
    assert again.id != made.id
    assert again.correlationid != made.correlationid
