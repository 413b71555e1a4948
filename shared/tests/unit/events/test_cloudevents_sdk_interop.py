"""Any CloudEvents consumer reads our records; we read what the official SDK writes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from cloudevents.core.bindings import kafka as sdk
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from crm_shared.events import from_kafka_record, to_kafka_record
from crm_shared.events.envelope import EXTENSIONS

from .examples import TRACEPARENT, envelope

EVENT_ID = "6f1c8e2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b"


def sdk_event(**extensions: Any) -> CloudEvent:
    return CloudEvent(
        attributes={
            "id": EVENT_ID,
            "source": "/other/system",
            "type": "crm.contacts.contact.created",
            "specversion": "1.0",
            "time": datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
            "subject": "contact-9",
            "datacontenttype": "application/json",
            "dataschema": "urn:crm:schema:crm.contacts.contact.created:v1",
            "tenantid": "tenant-9",
            "actor": "system",
            "correlationid": "corr-9",
            "traceparent": TRACEPARENT,
            "streamid": "contact-9",
            "streamversion": 3,
            "partitionkey": "contact-9",
            **extensions,
        },
        data={"contact_id": "contact-9", "name": "Grace Hopper", "tags": ["vip"]},
    )


def test_the_official_sdk_reads_what_we_write() -> None:
    original = envelope(data={"contact_id": "contact-1", "name": "Ada", "score": 1.5})
    record = to_kafka_record(original)
    message = sdk.KafkaMessage(headers=dict(record.headers), key=record.key, value=record.value)

    event = sdk.from_kafka(message, JSONFormat(), CloudEvent)

    assert isinstance(event, CloudEvent)
    assert event.get_id() == original.id
    assert event.get_type() == original.type
    assert event.get_source() == original.source
    assert event.get_specversion() == "1.0"
    assert event.get_time() == original.time
    assert event.get_subject() == original.subject
    assert event.get_dataschema() == original.dataschema
    assert event.get_datacontenttype() == "application/json"
    assert event.get_data() == original.data
    for name in EXTENSIONS:
        expected = getattr(original, name)
        assert event.get_extension(name) == (None if expected is None else str(expected))


def test_we_read_what_the_official_sdk_writes_in_binary_mode() -> None:
    message = sdk.to_binary(sdk_event(), JSONFormat())
    assert isinstance(message.key, str)  # the SDK keys by the partitionkey extension

    read = from_kafka_record(message.key.encode(), message.value, list(message.headers.items()))

    assert read.id == EVENT_ID
    assert (read.type, read.source, read.subject) == (
        "crm.contacts.contact.created",
        "/other/system",
        "contact-9",
    )
    assert read.time == datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    assert (read.tenantid, read.actor, read.correlationid) == ("tenant-9", "system", "corr-9")
    assert (read.streamid, read.streamversion, read.partitionkey) == ("contact-9", 3, "contact-9")
    assert read.traceparent == TRACEPARENT
    assert read.data == {"contact_id": "contact-9", "name": "Grace Hopper", "tags": ["vip"]}


def test_we_also_read_the_sdks_structured_mode() -> None:
    message = sdk.to_structured(sdk_event(), JSONFormat())
    assert message.headers == {"content-type": b"application/cloudevents+json"}

    read = from_kafka_record(b"contact-9", message.value, list(message.headers.items()))

    binary = sdk.to_binary(sdk_event(), JSONFormat())
    assert read == from_kafka_record(b"contact-9", binary.value, list(binary.headers.items()))


def test_an_sdk_event_lacking_our_extensions_is_refused_by_name() -> None:
    event = sdk_event()
    attributes = {k: v for k, v in event.get_attributes().items() if k != "tenantid"}
    message = sdk.to_binary(CloudEvent(attributes=attributes, data=event.get_data()), JSONFormat())
    with pytest.raises(ValueError, match="ce_tenantid is missing"):
        from_kafka_record(b"contact-9", message.value, list(message.headers.items()))
