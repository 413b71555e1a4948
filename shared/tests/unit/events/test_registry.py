"""The registry resolves, upcasts, decodes and encodes a service's event types."""

from __future__ import annotations

from typing import ClassVar

import pytest

from crm_shared.events import (
    EventContract,
    EventRegistry,
    MissingUpcaster,
    UnknownEventType,
    dataschema_for,
)

from .examples import ContactCreated, ContactCreatedV2, StageChanged, envelope, split_name


@pytest.fixture
def registry() -> EventRegistry:
    return EventRegistry(
        [ContactCreated, ContactCreatedV2, StageChanged],
        upcasters={("crm.contacts.contact.created", 1): split_name},
    )


def test_resolves_every_registered_version(registry: EventRegistry) -> None:
    assert registry.resolve("crm.contacts.contact.created", 1) is ContactCreated
    assert registry.latest("crm.contacts.contact.created") is ContactCreatedV2


def test_old_events_are_upcast_to_the_latest_version(registry: EventRegistry) -> None:
    decoded = registry.decode(envelope())
    assert decoded == ContactCreatedV2(
        contact_id="contact-1", given_name="Ada", family_name="Lovelace"
    )


def test_readers_ignore_fields_added_by_newer_producers(registry: EventRegistry) -> None:
    data = {"stage": "won", "amount": 10, "added_later": "ignored"}
    event = envelope(
        type="crm.sales.opportunity.stage_changed",
        dataschema=dataschema_for("crm.sales.opportunity.stage_changed", 1),
        data=data,
    )
    assert registry.decode(event) == StageChanged(stage="won", amount=10)


def test_a_version_newer_than_the_reader_knows_is_refused(registry: EventRegistry) -> None:
    event = envelope(dataschema=dataschema_for("crm.contacts.contact.created", 3))
    with pytest.raises(UnknownEventType, match="newer"):
        registry.decode(event)


def test_an_unknown_type_is_refused(registry: EventRegistry) -> None:
    with pytest.raises(UnknownEventType):
        registry.latest("crm.contacts.contact.exploded")


def test_a_version_without_an_upcaster_from_the_previous_one_is_refused() -> None:
    with pytest.raises(MissingUpcaster, match="v1"):
        EventRegistry([ContactCreated, ContactCreatedV2])


def test_encoding_gives_type_version_and_json_data(registry: EventRegistry) -> None:
    assert registry.encode(StageChanged(stage="lost", amount=3)) == (
        "crm.sales.opportunity.stage_changed",
        1,
        {"stage": "lost", "amount": 3},
    )


def test_contract_classes_must_follow_the_naming_convention() -> None:
    with pytest.raises(TypeError, match="naming"):

        class Badly(EventContract):
            event_type: ClassVar[str] = "ContactCreated"
            schema_version: ClassVar[int] = 1
