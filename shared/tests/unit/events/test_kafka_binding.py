"""Events travel as CloudEvents in Kafka's binary mode: data as the value, attributes as headers."""

from __future__ import annotations

import json

import pytest
from hypothesis import given

from crm_shared.events import EventEnvelope, InvalidEnvelope, from_kafka_record, to_kafka_record

from .examples import TRACEPARENT, envelope
from .strategies import envelopes

WIDE_DIGITS_TIME = "\uff12\uff10\uff12\uff16-11-24T09:30:00Z".encode()  # fullwidth "2026"


def headers_of(event: EventEnvelope) -> dict[str, bytes]:
    return dict(to_kafka_record(event).headers)


def test_the_value_is_the_compact_json_data_and_the_key_the_customer() -> None:
    record = to_kafka_record(envelope(data={"name": "Zoë", "n": 1}, partitionkey="contact-9"))
    assert record.value == '{"name":"Zoë","n":1}'.encode()
    assert record.key == b"contact-9"


def test_every_attribute_travels_as_a_ce_header() -> None:
    event = envelope()
    headers = headers_of(event)
    assert headers == {
        "content-type": b"application/json",
        "ce_id": event.id.encode(),
        "ce_source": b"/crm/contacts",
        "ce_type": b"crm.contacts.contact.created",
        "ce_specversion": b"1.0",
        "ce_time": b"2026-11-24T09:30:00Z",
        "ce_subject": b"contact-1",
        "ce_dataschema": b"urn:crm:schema:crm.contacts.contact.created:v1",
        "ce_tenantid": b"tenant-1",
        "ce_actor": b"user-7",
        "ce_correlationid": b"corr-1",
        "ce_causationid": b"cmd-1",
        "ce_traceparent": TRACEPARENT.encode(),
        "ce_tracestate": b"vendor=opaque",
        "ce_streamid": b"contact-1",
        "ce_streamversion": b"1",
        "ce_partitionkey": b"contact-1",
        "traceparent": TRACEPARENT.encode(),
        "tracestate": b"vendor=opaque",
    }


def test_the_time_keeps_its_fraction_of_a_second_in_rfc_3339() -> None:
    event = envelope(time="2026-11-24T10:30:00.123456+01:00")
    assert headers_of(event)["ce_time"] == b"2026-11-24T09:30:00.123456Z"


def test_the_trace_context_is_also_a_plain_w3c_header_for_propagators() -> None:
    headers = headers_of(envelope())
    assert headers["traceparent"] == headers["ce_traceparent"]
    assert headers["tracestate"] == headers["ce_tracestate"]


def test_unset_optional_attributes_are_left_out() -> None:
    event = envelope(subject=None, causationid=None, traceparent=None, tracestate=None)
    headers = headers_of(event)
    for name in ("ce_subject", "ce_causationid", "ce_traceparent", "traceparent", "tracestate"):
        assert name not in headers


def test_a_record_reads_back_as_the_same_envelope() -> None:
    original = envelope()
    record = to_kafka_record(original)
    assert from_kafka_record(record.key, record.value, record.headers) == original


@given(original=envelopes())
def test_any_envelope_survives_the_round_trip(original: EventEnvelope) -> None:
    record = to_kafka_record(original)
    assert from_kafka_record(record.key, record.value, record.headers) == original


def test_unknown_headers_and_extensions_are_ignored() -> None:
    original = envelope()
    record = to_kafka_record(original)
    extra = [("ce_otherext", b"x"), ("x-retry", b"3"), ("dlq_error_type", b"KeyError")]
    assert from_kafka_record(record.key, record.value, [*record.headers, *extra]) == original


def test_header_names_are_read_in_any_case() -> None:
    original = envelope()
    record = to_kafka_record(original)
    shouted = [(name.upper(), value) for name, value in record.headers]
    assert from_kafka_record(record.key, record.value, shouted) == original


def test_the_record_key_stands_in_for_a_missing_partitionkey_header() -> None:
    record = to_kafka_record(envelope(partitionkey="contact-3"))
    headers = [(n, v) for n, v in record.headers if n != "ce_partitionkey"]
    assert from_kafka_record(b"contact-3", record.value, headers).partitionkey == "contact-3"


def test_a_content_type_with_parameters_is_json() -> None:
    record = to_kafka_record(envelope())
    headers = [
        (n, b"application/json; charset=utf-8" if n == "content-type" else v)
        for n, v in record.headers
    ]
    assert from_kafka_record(record.key, record.value, headers).data == json.loads(record.value)


def without(name: str) -> list[tuple[str, bytes]]:
    return [(n, v) for n, v in to_kafka_record(envelope()).headers if n != name]


def replaced(name: str, value: bytes) -> list[tuple[str, bytes]]:
    return [(n, value if n == name else v) for n, v in to_kafka_record(envelope()).headers]


@pytest.mark.parametrize(
    "attribute",
    [
        "id",
        "source",
        "type",
        "specversion",
        "time",
        "dataschema",
        "tenantid",
        "actor",
        "correlationid",
        "streamid",
        "streamversion",
    ],
)
def test_a_missing_attribute_is_named(attribute: str) -> None:
    with pytest.raises(InvalidEnvelope, match=f"header ce_{attribute} is missing") as caught:
        from_kafka_record(b"k", b"{}", without(f"ce_{attribute}"))
    assert caught.value.attribute == attribute


def test_a_record_without_key_or_partitionkey_is_refused() -> None:
    with pytest.raises(InvalidEnvelope, match="ce_partitionkey is missing"):
        from_kafka_record(None, b"{}", without("ce_partitionkey"))


@pytest.mark.parametrize(
    ("header", "value", "complaint"),
    [
        ("ce_streamversion", b"zero", "header ce_streamversion: Input should be a valid integer"),
        ("ce_streamversion", b"0", "header ce_streamversion: Input should be greater than"),
        ("ce_time", b"1764000000", "header ce_time must be an RFC 3339 timestamp"),
        ("ce_time", b"2026-11-24T09:30:00", "header ce_time must be an RFC 3339 timestamp"),
        ("ce_time", b"2026-13-24T09:30:00Z", "header ce_time is not a valid time"),
        ("ce_time", WIDE_DIGITS_TIME, "header ce_time must be an RFC 3339 timestamp"),
        ("ce_specversion", b"0.3", "header ce_specversion: Input should be '1.0'"),
        ("ce_type", b"ContactCreated", "header ce_type: event type 'ContactCreated' must"),
        ("ce_traceparent", b"nonsense", "header ce_traceparent: must be a W3C traceparent"),
        ("ce_id", b"\xff\xfe", "header ce_id is not UTF-8"),
        ("content-type", b"text/plain", "header content-type is 'text/plain'"),
    ],
)
def test_a_bad_attribute_is_named_with_the_reason(
    header: str, value: bytes, complaint: str
) -> None:
    with pytest.raises(InvalidEnvelope, match=complaint):
        from_kafka_record(b"k", b"{}", replaced(header, value))


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        (None, "has no value"),
        (b"not json", "not JSON"),
        (b"\xff", "not JSON"),
        (b"[1, 2]", "must be a JSON object"),
    ],
)
def test_a_value_that_is_not_a_json_object_is_refused(value: bytes | None, complaint: str) -> None:
    with pytest.raises(InvalidEnvelope, match=complaint) as caught:
        from_kafka_record(b"k", value, to_kafka_record(envelope()).headers)
    assert caught.value.attribute == "data"


def test_a_record_without_headers_is_refused() -> None:
    with pytest.raises(InvalidEnvelope, match="ce_id is missing"):
        from_kafka_record(b"k", b"{}", None)


def test_null_header_values_count_as_absent() -> None:
    headers: list[tuple[str, bytes | None]] = [*without("ce_actor"), ("ce_actor", None)]
    with pytest.raises(InvalidEnvelope, match="ce_actor is missing"):
        from_kafka_record(b"k", b"{}", headers)
