"""What the relay publishes is exactly the validated CloudEvent of the stored event."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from crm_shared.events import from_kafka_record, to_kafka_record
from crm_shared.eventstore import EventMetadata, NewEvent, RecordedEvent
from crm_shared.relay.records import envelope_for, kafka_record_for


def recorded(**overrides: object) -> RecordedEvent:
    values: dict[str, object] = {
        "global_position": 42,
        "event_id": uuid.uuid4(),
        "stream_id": "contact-1",
        "stream_version": 3,
        "event_type": "crm.contacts.contact.renamed",
        "schema_version": 2,
        "partition_key": "contact-1",
        "subject": "contact-1",
        "data": {"name": "Ada", "nested": {"ok": True}},
        "metadata": EventMetadata(
            "tenant-1",
            "user-1",
            "corr-1",
            causation_id="cmd-1",
            traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        ),
        "occurred_at": datetime(2026, 11, 24, 10, 0, tzinfo=timezone(timedelta(hours=1))),
        "recorded_at": datetime(2026, 11, 24, 9, 0, 1, tzinfo=UTC),
    }
    values.update(overrides)
    return RecordedEvent(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "event",
    [recorded(), recorded(subject=None, metadata=EventMetadata("t", "a", "c"))],
)
def test_the_fast_path_matches_the_validated_envelope(event: RecordedEvent) -> None:
    assert kafka_record_for(event, "/crm/contacts") == to_kafka_record(
        envelope_for(event, "/crm/contacts")
    )


def test_the_published_record_reads_back_with_the_stream_and_its_version() -> None:
    record = kafka_record_for(recorded(), "/crm/contacts")
    envelope = from_kafka_record(record.key, record.value, record.headers)
    assert (envelope.streamid, envelope.streamversion, envelope.schema_version) == (
        "contact-1",
        3,
        2,
    )
    assert envelope.time == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("field", "value", "complaint"),
    [
        ("event_type", "ContactRenamed", "crm.<service>"),
        ("schema_version", 0, "schema_version"),
        ("partition_key", "", "partition_key"),
        ("occurred_at", datetime(2026, 1, 1), "timezone"),
    ],
)
def test_a_new_event_is_checked_when_it_is_made(field: str, value: object, complaint: str) -> None:
    values: dict[str, object] = {
        "event_type": "crm.contacts.contact.renamed",
        "schema_version": 1,
        "data": {},
        "partition_key": "contact-1",
        field: value,
    }
    with pytest.raises(ValueError, match=complaint.replace(".", r"\.")):
        NewEvent(**values)  # type: ignore[arg-type]
