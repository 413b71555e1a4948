"""Personal data is sealed in every event; erasure destroys the key and the facts stay."""

from __future__ import annotations

import json

import pytest

from crm_contacts.domain.contact import Contact, ContactDetails
from crm_contacts.domain.errors import ContactIsArchived, ContactWasMerged
from crm_shared.contracts.contacts import REGISTRY, ContactCreated, ContactErased
from crm_shared.events import EventContract
from crm_shared.privacy import SubjectCipher, new_data_key

ADA_KEY = SubjectCipher("c-1", new_data_key())
ERASED = SubjectCipher("c-1", None, erased=True)


def ada_history() -> list[EventContract]:
    contact = Contact.create(
        "c-1",
        ContactDetails(
            last_name="Lovelace",
            first_name="Ada",
            emails=["ada@example.com"],
            phones=["+44 20 7183 8750"],
            addresses=[{"city": "London", "country": "GB"}],
            lifecycle_stage="customer",
            owner_id="owner-1",
            tags=["vip"],
        ),
        cipher=ADA_KEY,
    )
    contact.update({"first_name": "Augusta", "tags": ["vip", "patron"]})
    return contact.pending


def test_no_event_carries_personal_data_in_the_clear() -> None:
    written = json.dumps([REGISTRY.encode(event)[2] for event in ada_history()])
    for personal in ("Lovelace", "Ada", "Augusta", "ada@example.com", "+442071838750", "London"):
        assert personal not in written
    assert "customer" in written
    assert "owner-1" in written
    assert "patron" in written


def test_the_key_opens_what_was_sealed() -> None:
    contact = Contact.from_history("c-1", ada_history(), ADA_KEY)
    assert contact.state["first_name"] == "Augusta"
    assert contact.state["emails"] == [{"address": "ada@example.com", "primary": True}]


def test_without_the_key_the_person_replays_empty_and_the_facts_stay() -> None:
    contact = Contact.from_history("c-1", ada_history(), ERASED)
    assert contact.state["first_name"] is None
    assert contact.state["last_name"] is None
    assert contact.state["emails"] == []
    assert contact.state["addresses"] == []
    assert contact.state["lifecycle_stage"] == "customer"
    assert contact.state["tags"] == ["patron", "vip"]


def test_erasure_is_recorded_once_and_leaves_a_contact_that_accepts_no_change() -> None:
    contact = Contact.from_history("c-1", ada_history(), ADA_KEY)
    assert contact.erase() == ["c-1"]
    [erased] = contact.pending
    assert isinstance(erased, ContactErased)
    assert contact.erased
    assert contact.state["last_name"] is None
    assert contact.erase() == []  # a repeated request changes nothing
    with pytest.raises(ContactIsArchived):
        contact.update({"first_name": "Ada"})


def test_erasing_a_survivor_erases_the_contacts_merged_into_it() -> None:
    survivor = Contact.from_history("c-1", ada_history(), ADA_KEY)
    other_key = SubjectCipher("c-2", new_data_key())
    other = Contact.create("c-2", ContactDetails(last_name="Byron"), cipher=other_key)
    other = Contact.from_history("c-2", other.pending, other_key)
    survivor.merge(other)
    assert survivor.erase() == ["c-1", "c-2"]
    with pytest.raises(ContactWasMerged, match="c-1"):
        other.erase()


def test_events_from_before_sealing_read_in_the_clear_until_erased() -> None:
    legacy = {"contact_id": "c-1", "last_name": "Lovelace", "emails": [{"address": "a@b.org"}]}
    created = REGISTRY.decode_data("crm.contacts.contact.created", 1, legacy)
    assert isinstance(created, ContactCreated)
    assert created.personal.alg == "none"
    keyless = SubjectCipher("c-1", None)
    assert Contact.from_history("c-1", [created], keyless).state["last_name"] == "Lovelace"
    assert Contact.from_history("c-1", [created], ERASED).state["last_name"] is None
