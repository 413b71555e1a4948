"""Events travel as CloudEvents in Kafka's binary content mode, readable by any consumer."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from cloudevents.core.bindings import kafka as sdk
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from hypothesis import given
from hypothesis import strategies as st

from crm_shared.events import InvalidEnvelope, from_kafka_record, to_kafka_record

from .examples import envelope


def test_the_value_is_the_json_data_and_the_key_the_customer() -> None:
    record = to_kafka_record(envelope())
    assert json.loads(record.value) == {"contact_id": "contact-1", "name": "Ada Lovelace"}
    assert record.key == b"contact-1"


def test_attributes_and_extensions_travel_as_ce_headers() -> None:
    headers = dict(to_kafka_record(envelope()).headers)
    assert headers["content-type"] == b"application/json"
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_type"] == b"crm.contacts.contact.created"
    assert headers["ce_time"] == b"2026-11-24T09:30:00Z"
    assert headers["ce_dataschema"] == b"urn:crm:schema:crm.contacts.contact.created:v1"
    for extension in ("tenantid", "actor", "correlationid", "causationid", "streamid"):
        assert f"ce_{extension}" in headers
    assert headers["ce_streamversion"] == b"1"


def test_the_trace_context_is_also_a_plain_w3c_header_for_propagators() -> None:
    headers = dict(to_kafka_record(envelope()).headers)
    assert headers["traceparent"] == headers["ce_traceparent"]


def test_unset_optional_attributes_are_left_out() -> None:
    headers = dict(to_kafka_record(envelope(subject=None, causationid=None)).headers)
    assert "ce_subject" not in headers
    assert "ce_causationid" not in headers


def test_a_record_reads_back_as_the_same_envelope() -> None:
    original = envelope()
    record = to_kafka_record(original)
    assert from_kafka_record(record.key, record.value, record.headers) == original


@given(
    data=st.dictionaries(
        st.text(min_size=1, max_size=10),
        st.one_of(st.integers(), st.text(), st.booleans(), st.none()),
        max_size=5,
    ),
    name=st.text(min_size=1, max_size=40),
    version=st.integers(min_value=1, max_value=10**6),
)
def test_any_envelope_survives_the_round_trip(
    data: dict[str, object], name: str, version: int
) -> None:
    original = envelope(data=data, actor=name, streamversion=version, partitionkey=name)
    record = to_kafka_record(original)
    assert from_kafka_record(record.key, record.value, record.headers) == original


def test_the_official_sdk_reads_what_we_write() -> None:
    original = envelope()
    record = to_kafka_record(original)
    message = sdk.KafkaMessage(headers=dict(record.headers), key=record.key, value=record.value)
    event = sdk.from_kafka(message, JSONFormat(), CloudEvent)
    assert event.get_id() == original.id
    assert event.get_type() == original.type
    assert event.get_source() == original.source
    assert event.get_time() == original.time
    assert event.get_dataschema() == original.dataschema
    assert event.get_data() == original.data
    assert event.get_extension("tenantid") == "tenant-1"
    assert event.get_extension("partitionkey") == "contact-1"
    assert str(event.get_extension("streamversion")) == "1"


def test_we_read_what_the_official_sdk_writes() -> None:
    event = CloudEvent(
        attributes={
            "id": "e-1",
            "source": "/other/system",
            "type": "crm.contacts.contact.created",
            "specversion": "1.0",
            "time": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            "datacontenttype": "application/json",
            "dataschema": "urn:crm:schema:crm.contacts.contact.created:v1",
            "tenantid": "tenant-9",
            "actor": "system",
            "correlationid": "c",
            "streamid": "contact-9",
            "streamversion": "3",
            "partitionkey": "contact-9",
        },
        data={"contact_id": "contact-9", "name": "Grace"},
    )
    message = sdk.to_binary(event, JSONFormat())
    headers = list(message.headers.items())
    key = message.key.encode() if isinstance(message.key, str) else message.key
    read = from_kafka_record(key, message.value, headers)
    assert (read.id, read.tenantid, read.streamversion) == ("e-1", "tenant-9", 3)
    assert read.data == {"contact_id": "contact-9", "name": "Grace"}


@pytest.mark.parametrize(
    ("headers", "value", "complaint"),
    [
        ([("ce_type", b"crm.a.b.c")], b"{}", "ce_id is missing"),
        (None, b"{}", "ce_id is missing"),
        ("valid", b"not json", "not JSON"),
        ("valid", b"[1, 2]", "JSON object"),
    ],
)
def test_a_bad_record_is_refused_with_the_reason(
    headers: object, value: bytes, complaint: str
) -> None:
    if headers == "valid":
        headers = to_kafka_record(envelope()).headers
    with pytest.raises(InvalidEnvelope, match=complaint):
        from_kafka_record(b"k", value, headers)  # type: ignore[arg-type]


def test_a_bad_attribute_is_named() -> None:
    headers = [
        (k, b"zero" if k == "ce_streamversion" else v)
        for k, v in to_kafka_record(envelope()).headers
    ]
    with pytest.raises(InvalidEnvelope, match="streamversion"):
        from_kafka_record(b"k", b"{}", headers)


def test_event_types_follow_the_naming_convention() -> None:
    with pytest.raises(ValueError, match=r"crm\.<service>"):
        envelope(type="ContactCreated")
