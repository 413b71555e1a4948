"""The registry resolves, upcasts, decodes and encodes a service's event types."""

from __future__ import annotations

from typing import Any

import pytest

from crm_shared.events import (
    EventContract,
    EventRegistry,
    InvalidEventData,
    InvalidRegistry,
    MissingUpcaster,
    UnknownEventType,
    UnknownSchemaVersion,
    dataschema_for,
)

from .examples import (
    ContactCreated,
    ContactCreatedV2,
    EmailAddress,
    StageChanged,
    envelope,
    envelope_of,
    split_name,
)

CREATED = "crm.contacts.contact.created"


@pytest.fixture
def registry() -> EventRegistry:
    return EventRegistry(
        [ContactCreated, ContactCreatedV2, StageChanged], upcasters={ContactCreated: split_name}
    )


class TestResolving:
    def test_resolves_every_registered_version(self, registry: EventRegistry) -> None:
        assert registry.resolve(CREATED, 1) is ContactCreated
        assert registry.resolve(CREATED, 2) is ContactCreatedV2

    def test_the_latest_version_is_the_highest(self, registry: EventRegistry) -> None:
        assert registry.latest(CREATED) is ContactCreatedV2

    def test_lists_types_versions_and_contracts_in_order(self, registry: EventRegistry) -> None:
        assert registry.event_types() == [CREATED, "crm.sales.opportunity.stage_changed"]
        assert registry.versions(CREATED) == [1, 2]
        assert list(registry) == [ContactCreated, ContactCreatedV2, StageChanged]
        assert (CREATED, 2) in registry
        assert len(registry) == 3

    def test_an_unknown_type_is_refused(self, registry: EventRegistry) -> None:
        with pytest.raises(UnknownEventType, match=r"crm\.contacts\.contact\.exploded"):
            registry.latest("crm.contacts.contact.exploded")

    def test_a_version_newer_than_the_reader_knows_says_to_upgrade(
        self, registry: EventRegistry
    ) -> None:
        with pytest.raises(UnknownSchemaVersion, match="newer than v2"):
            registry.resolve(CREATED, 3)


class TestDecoding:
    def test_the_latest_version_decodes_as_is(self, registry: EventRegistry) -> None:
        event = ContactCreatedV2(contact_id="c-1", given_name="Ada", family_name="Lovelace")
        assert registry.decode(envelope_of(event)) == event

    def test_old_events_are_upcast_to_the_latest_version(self, registry: EventRegistry) -> None:
        decoded = registry.decode(envelope())
        assert decoded == ContactCreatedV2(
            contact_id="contact-1", given_name="Ada", family_name="Lovelace"
        )

    def test_upcasting_leaves_the_envelope_untouched(self, registry: EventRegistry) -> None:
        original = envelope(data={"contact_id": "c", "name": "A B", "email": {"address": "a@x"}})
        registry.decode(original)
        assert original.data == {"contact_id": "c", "name": "A B", "email": {"address": "a@x"}}

    def test_upcasters_chain_from_any_old_version(self) -> None:
        class V3(EventContract):
            event_type = CREATED
            schema_version = 3
            contact_id: str
            display_name: str

        def join(data: dict[str, Any]) -> dict[str, Any]:
            return {
                "contact_id": data["contact_id"],
                "display_name": f"{data['family_name']}, {data['given_name']}",
            }

        registry = EventRegistry(
            [ContactCreated, ContactCreatedV2, V3],
            upcasters={ContactCreated: split_name, ContactCreatedV2: join},
        )
        assert registry.decode(envelope()) == V3(
            contact_id="contact-1", display_name="Lovelace, Ada"
        )

    def test_readers_ignore_fields_added_by_newer_producers(self, registry: EventRegistry) -> None:
        data = {"stage": "won", "amount": 10, "added_later": "ignored"}
        event = envelope(
            type=StageChanged.event_type, dataschema=StageChanged.dataschema(), data=data
        )
        assert registry.decode(event) == StageChanged(stage="won", amount=10)

    def test_a_version_newer_than_the_reader_knows_is_refused(
        self, registry: EventRegistry
    ) -> None:
        with pytest.raises(UnknownSchemaVersion, match="newer"):
            registry.decode(envelope(dataschema=dataschema_for(CREATED, 3)))

    def test_data_its_contract_rejects_is_refused_with_type_and_version(
        self, registry: EventRegistry
    ) -> None:
        event = envelope(
            type=StageChanged.event_type,
            dataschema=StageChanged.dataschema(),
            data={"stage": "dreaming", "amount": 1},
        )
        with pytest.raises(InvalidEventData, match=r"(?s)stage_changed v1 data read as v1.*stage"):
            registry.decode(event)

    def test_stored_data_decodes_by_type_and_version(self, registry: EventRegistry) -> None:
        decoded = registry.decode_data(CREATED, 1, {"contact_id": "c", "name": "Ada L"})
        assert isinstance(decoded, ContactCreatedV2)


class TestEncoding:
    def test_encoding_gives_type_version_and_json_data(self, registry: EventRegistry) -> None:
        assert registry.encode_data(StageChanged(stage="lost", amount=3)) == (
            "crm.sales.opportunity.stage_changed",
            1,
            {"stage": "lost", "amount": 3},
        )

    def test_an_older_registered_version_may_still_be_written(
        self, registry: EventRegistry
    ) -> None:
        event = ContactCreated(contact_id="c", name="Ada", email=EmailAddress(address="a@x"))
        assert registry.encode_data(event) == (
            CREATED,
            1,
            {
                "contact_id": "c",
                "name": "Ada",
                "email": {"address": "a@x", "primary": False},
            },
        )

    def test_an_unregistered_contract_is_refused(self) -> None:
        with pytest.raises(UnknownEventType, match="StageChanged"):
            EventRegistry([ContactCreated]).encode_data(StageChanged(stage="won", amount=1))

    def test_encoded_data_decodes_to_an_equal_event(self, registry: EventRegistry) -> None:
        event = ContactCreatedV2(contact_id="c", given_name="A", family_name="B")
        assert registry.decode_data(*registry.encode_data(event)) == event


class TestBuilding:
    def test_a_version_without_an_upcaster_from_the_previous_one_is_refused(self) -> None:
        with pytest.raises(MissingUpcaster, match="from v1 to v2"):
            EventRegistry([ContactCreated, ContactCreatedV2])

    def test_upcasters_may_be_keyed_by_type_and_version(self) -> None:
        registry = EventRegistry(
            [ContactCreated, ContactCreatedV2], upcasters={(CREATED, 1): split_name}
        )
        assert isinstance(registry.decode(envelope()), ContactCreatedV2)

    def test_every_older_version_must_stay_registered(self) -> None:
        with pytest.raises(InvalidRegistry, match=r"versions \[1\] are not registered"):
            EventRegistry([ContactCreatedV2], upcasters={(CREATED, 1): split_name})

    def test_the_same_type_and_version_cannot_be_registered_twice(self) -> None:
        class Again(ContactCreated):
            pass

        with pytest.raises(InvalidRegistry, match=r"both crm\.contacts\.contact\.created v1"):
            EventRegistry([ContactCreated, Again])

    def test_an_upcaster_leading_nowhere_is_refused(self) -> None:
        with pytest.raises(InvalidRegistry, match="no v2 is registered"):
            EventRegistry([ContactCreated], upcasters={ContactCreated: split_name})

    def test_an_abstract_base_cannot_be_registered(self) -> None:
        class ContactsEvent(EventContract):
            contact_id: str

        with pytest.raises(InvalidRegistry, match="declares no event_type"):
            EventRegistry([ContactsEvent])

    def test_registries_are_independent_values(self) -> None:
        assert len(EventRegistry([ContactCreated])) == 1
        assert len(EventRegistry([StageChanged])) == 1
