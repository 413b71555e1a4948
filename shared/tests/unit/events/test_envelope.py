"""The envelope is a CloudEvent 1.0 with our extensions, valid by construction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from crm_shared.events import EventEnvelope, dataschema_for

from .examples import envelope


def test_a_complete_envelope_carries_the_cloudevents_defaults() -> None:
    event = envelope()
    assert event.specversion == "1.0"
    assert event.datacontenttype == "application/json"
    assert event.schema_version == 1


def test_the_optional_attributes_may_be_left_out() -> None:
    event = envelope(subject=None, causationid=None, traceparent=None, tracestate=None)
    assert (event.subject, event.causationid, event.traceparent) == (None, None, None)


def test_the_envelope_is_immutable() -> None:
    event = envelope()
    with pytest.raises(ValidationError, match="frozen"):
        event.actor = "someone else"  # type: ignore[misc]


def test_the_id_is_a_uuid_kept_in_canonical_form() -> None:
    assert envelope(id="0AF76519-16CD-43DD-8448-EB211C80319C").id == (
        "0af76519-16cd-43dd-8448-eb211c80319c"
    )
    with pytest.raises(ValidationError, match="UUID"):
        envelope(id="event-1")


def test_the_time_is_normalised_to_utc() -> None:
    paris = timezone(timedelta(hours=1))
    event = envelope(time=datetime(2026, 1, 1, 10, 0, tzinfo=paris))
    assert event.time == datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
    assert event.time.tzinfo is UTC


def test_a_time_without_a_time_zone_is_refused() -> None:
    with pytest.raises(ValidationError, match="time zone"):
        envelope(time=datetime(2026, 1, 1, 10, 0))


@pytest.mark.parametrize(
    "event_type",
    [
        "ContactCreated",
        "crm.contacts.created",
        "crm.Contacts.contact.created",
        "crm.a.b.c.d",
        "crm.contacts.contact.created\n",
    ],
)
def test_event_types_follow_the_naming_convention(event_type: str) -> None:
    with pytest.raises(ValidationError, match=r"crm\.<service>\.<entity>\.<verb_past_tense>"):
        envelope(type=event_type, dataschema=f"urn:crm:schema:{event_type}:v1")


def test_event_types_may_use_underscores_within_segments() -> None:
    event_type = "crm.sales.opportunity_line.stage_changed"
    assert envelope(type=event_type, dataschema=dataschema_for(event_type, 1)).type == event_type


def test_the_dataschema_must_be_a_crm_urn() -> None:
    with pytest.raises(ValidationError, match="urn:crm:schema"):
        envelope(dataschema="https://example.com/schemas/contact.json")


def test_the_dataschema_must_name_the_event_type() -> None:
    with pytest.raises(ValidationError, match=r"dataschema names crm\.sales\.deal\.won"):
        envelope(dataschema=dataschema_for("crm.sales.deal.won", 1))


@pytest.mark.parametrize(
    "attribute",
    ["tenantid", "actor", "correlationid", "streamid", "partitionkey", "subject", "causationid"],
)
def test_ids_and_names_may_not_be_empty(attribute: str) -> None:
    with pytest.raises(ValidationError, match=attribute):
        envelope(**{attribute: ""})


@pytest.mark.parametrize("attribute", ["tenantid", "actor", "correlationid", "streamid"])
def test_the_platform_extensions_are_required(attribute: str) -> None:
    values = envelope().model_dump()
    del values[attribute]
    with pytest.raises(ValidationError, match=attribute):
        EventEnvelope(**values)


def test_stream_versions_start_at_one() -> None:
    with pytest.raises(ValidationError, match="streamversion"):
        envelope(streamversion=0)


@pytest.mark.parametrize(
    "traceparent",
    [
        "0af7651916cd43dd8448eb211c80319c",
        "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\n",
    ],
)
def test_a_traceparent_must_follow_w3c_trace_context(traceparent: str) -> None:
    with pytest.raises(ValidationError, match="W3C traceparent"):
        envelope(traceparent=traceparent)


def test_the_source_is_a_uri_reference() -> None:
    assert envelope(source="https://crm.example.com/contacts").source.startswith("https:")
    with pytest.raises(ValidationError, match="URI-reference"):
        envelope(source="crm contacts")


@pytest.mark.parametrize(
    ("data", "complaint"),
    [
        ({"amount": float("nan")}, "data.amount is nan"),
        ({"at": datetime(2026, 1, 1, tzinfo=UTC)}, "data.at is a datetime"),
        ({"pair": (1, 2)}, r"data.pair is a tuple"),
        ({"nested": [{"bad": {1, 2}}]}, r"data.nested\[0\].bad is a set"),
    ],
)
def test_the_data_must_be_plain_json(data: dict[str, object], complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint):
        envelope(data=data)


def test_unknown_attributes_are_refused_when_building_an_envelope() -> None:
    with pytest.raises(ValidationError, match="tenant_id"):
        envelope(tenant_id="t")
