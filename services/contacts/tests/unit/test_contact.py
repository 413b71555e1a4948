"""The contact aggregate: normalises on the way in, records only real changes, stays archived."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from crm_contacts.domain.contact import Contact, ContactDetails
from crm_contacts.domain.errors import ContactIsArchived, InvalidValue
from crm_shared.contracts.contacts import (
    ContactArchived,
    ContactCreated,
    ContactMerged,
    ContactMergedInto,
    ContactUpdated,
)
from crm_shared.privacy import SubjectCipher, new_data_key


@cache
def cipher(contact_id: str) -> SubjectCipher:
    """Each contact's own key, the same for the whole test run."""
    return SubjectCipher(contact_id, new_data_key())


def personal(created: ContactCreated) -> Any:
    return cipher(created.contact_id).open(created.personal)


def create(contact_id: str, details: ContactDetails, **options: Any) -> Contact:
    return Contact.create(contact_id, details, cipher=cipher(contact_id), **options)


def ada() -> Contact:
    contact = create(
        "c-1",
        ContactDetails(
            last_name=" Lovelace ",
            first_name="Ada",
            emails=["Ada@Example.COM", "ada@example.com"],
            phones=["+44 20 7183 8750"],
            tags=["VIP", "vip", " math "],
        ),
    )
    return Contact.from_history("c-1", contact.pending, cipher("c-1"))


def test_creation_normalises_emails_phones_and_tags() -> None:
    [created] = create(
        "c-1",
        ContactDetails(
            last_name="Lovelace", emails=["Ada@Example.COM"], phones=["020 7183 8750"], tags=["VIP"]
        ),
        default_region="GB",
    ).pending
    assert isinstance(created, ContactCreated)
    assert [e["address"] for e in personal(created)["emails"]] == ["ada@example.com"]
    assert [p["number"] for p in personal(created)["phones"]] == ["+442071838750"]
    assert personal(created)["emails"][0]["primary"]
    assert created.tags == ["vip"]


def test_duplicate_emails_collapse_and_the_first_is_primary() -> None:
    contact = ada()
    assert contact.state["emails"] == [{"address": "ada@example.com", "primary": True}]
    assert contact.state["tags"] == ["math", "vip"]
    assert contact.version == 1


@pytest.mark.parametrize(
    ("details", "field"),
    [
        (ContactDetails(last_name="X", emails=["not an email"]), "email"),
        (ContactDetails(last_name="X", phones=["12"]), "phone"),
        (ContactDetails(last_name="  "), "last_name"),
        (ContactDetails(last_name="X", lifecycle_stage="vip"), "lifecycle_stage"),
    ],
)
def test_bad_values_are_refused_naming_the_field(details: ContactDetails, field: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        create("c-1", details)
    assert refused.value.field == field
    assert refused.value.status_code == 422


def test_an_update_records_old_and_new_values_of_what_changed_only() -> None:
    contact = ada()
    contact.update(
        {"first_name": "Augusta", "last_name": "Lovelace", "lifecycle_stage": "customer"}
    )
    [updated] = contact.pending
    assert isinstance(updated, ContactUpdated)
    assert set(updated.changes) == {"lifecycle_stage"}
    assert updated.personal_changes is not None
    assert cipher("c-1").open(updated.personal_changes) == {
        "first_name": {"old": "Ada", "new": "Augusta"}
    }


def test_an_update_that_changes_nothing_records_nothing() -> None:
    contact = ada()
    contact.update({"emails": ["ADA@example.com"]})
    assert contact.pending == []


def test_a_field_that_cannot_be_changed_is_refused() -> None:
    with pytest.raises(InvalidValue, match="contact_id"):
        ada().update({"contact_id": "other"})


def test_a_contacts_identifiers_change_only_with_its_emails_phones_and_last_name() -> None:
    contact = ada()
    name = ("last_name", contact.state["last_name"])
    loaded = {("email", "ada@example.com"), ("phone", "+442071838750"), name}
    assert contact.stored_identifiers == contact.identifiers() == loaded
    contact.update({"lifecycle_stage": "customer", "tags": ["vip"]})
    assert contact.identifiers() == contact.stored_identifiers
    contact.update({"emails": ["ada@lovelace.org"]})
    assert contact.identifiers() == {
        ("email", "ada@lovelace.org"),
        ("phone", "+442071838750"),
        name,
    }
    assert contact.stored_identifiers == loaded  # until stored
    contact.update({"last_name": "King"})
    assert ("last_name", "King") in contact.identifiers()


def test_an_archived_contact_has_no_identifiers_and_a_new_one_none_stored() -> None:
    contact = ada()
    contact.archive("duplicate")
    assert contact.identifiers() == frozenset()
    new = create("c-2", ContactDetails(last_name="Byron", emails=["lord@byron.org"]))
    assert new.stored_identifiers == frozenset()
    assert new.identifiers() == {("email", "lord@byron.org"), ("last_name", "Byron")}


def test_an_archived_contact_cannot_be_changed_or_archived_again() -> None:
    contact = ada()
    contact.archive("duplicate")
    assert isinstance(contact.pending[-1], ContactArchived)
    with pytest.raises(ContactIsArchived):
        contact.update({"first_name": "Late"})
    with pytest.raises(ContactIsArchived):
        contact.archive()


def test_consent_changes_are_recorded_per_channel_and_repeats_are_ignored() -> None:
    contact = ada()
    contact.change_consent("email", "granted", "consent", "web form")
    contact.change_consent("email", "granted", "consent", "web form again")
    contact.change_consent("sms", "withdrawn", "consent", "reply STOP")
    assert [type(e).__name__ for e in contact.pending] == ["ConsentChanged", "ConsentChanged"]
    assert contact.consents["email"]["status"] == "granted"
    assert contact.consents["sms"]["status"] == "withdrawn"


@pytest.mark.parametrize(
    ("channel", "status", "basis", "field"),
    [
        ("fax", "granted", "consent", "channel"),
        ("email", "maybe", "consent", "status"),
        ("email", "granted", "whim", "lawful_basis"),
    ],
)
def test_a_consent_outside_the_allowed_values_names_the_field(
    channel: str, status: str, basis: str, field: str
) -> None:
    with pytest.raises(InvalidValue) as refused:
        ada().change_consent(channel, status, basis, "form")
    assert refused.value.field == field


def test_a_merge_fills_gaps_unites_channels_and_archives_the_duplicate() -> None:
    survivor = ada()
    duplicate = Contact.from_history(
        "c-2",
        cipher=cipher("c-2"),
        history=create(
            "c-2",
            ContactDetails(
                last_name="Lovelace",
                first_name="Augusta",
                emails=["countess@example.org"],
                phones=["+1 650 253 0000"],
                lifecycle_stage="customer",
                owner_id="owner-9",
                tags=["Patron"],
            ),
        ).pending,
    )
    survivor.merge(duplicate)
    [merged] = survivor.pending
    [merged_into] = duplicate.pending
    assert isinstance(merged, ContactMerged)
    assert merged.merged_contact_id == "c-2"
    assert merged.winners["first_name"] == "survivor"  # both had one: the survivor's stays
    assert merged.winners["owner_id"] == "merged"  # the survivor had none
    assert merged.winners["lifecycle_stage"] == "merged"  # customer is further than lead
    assert [e["address"] for e in survivor.state["emails"]] == [
        "ada@example.com",
        "countess@example.org",
    ]
    assert survivor.state["emails"][0]["primary"]
    assert survivor.state["tags"] == ["math", "patron", "vip"]
    assert isinstance(merged_into, ContactMergedInto)
    assert duplicate.archived
    with pytest.raises(ContactIsArchived):
        duplicate.update({"first_name": "Again"})


def test_a_contact_cannot_be_merged_into_itself() -> None:
    contact = ada()
    with pytest.raises(InvalidValue, match="itself"):
        contact.merge(Contact.from_history("c-1", [], cipher("c-1")))


def test_addresses_get_iso_3166_country_codes_from_codes_or_names() -> None:
    [created] = create(
        "c-9",
        ContactDetails(
            last_name="Curie",
            addresses=[
                {"line1": " 11 rue Pierre et Marie Curie ", "city": "Paris", "country": "France"},
                {"city": "Warsaw", "country": "pol"},
                {"city": "Paris", "line1": "11 rue Pierre et Marie Curie", "country": "FR"},
            ],
        ),
    ).pending
    assert isinstance(created, ContactCreated)
    addresses = personal(created)["addresses"]
    assert [(a["city"], a["country"], a["primary"]) for a in addresses] == [
        ("Paris", "FR", True),
        ("Warsaw", "PL", False),
    ]
    assert addresses[0]["line1"] == "11 rue Pierre et Marie Curie"


@pytest.mark.parametrize(
    ("address", "field"),
    [
        ({"city": "Atlantis", "country": "Atlantis"}, "addresses[0].country"),
        ({"city": "Nowhere"}, "addresses[0].country"),
        ({"country": "GB", "planet": "Earth"}, "addresses[0].planet"),
    ],
)
def test_a_bad_address_names_the_part(address: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        create("c-9", ContactDetails(last_name="X", addresses=[address]))
    assert refused.value.field == field
