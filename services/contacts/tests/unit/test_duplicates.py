"""Likely duplicates: the same email or phone, a similar name at the same organisation, or
(weakly) a very similar name."""

from __future__ import annotations

from crm_contacts.domain.duplicates import Profile, compare, rank


def person(
    contact_id: str,
    first: str,
    last: str,
    emails: tuple[str, ...] = (),
    phones: tuple[str, ...] = (),
    organisations: tuple[str, ...] = (),
) -> Profile:
    return Profile(
        contact_id, first, last, frozenset(emails), frozenset(phones), frozenset(organisations)
    )


def test_the_same_email_is_a_certain_match() -> None:
    found = compare(person("new", "A", "B", ("a@x.org",)), person("old", "Z", "Y", ("a@x.org",)))
    assert found is not None
    assert found.score == 1.0
    assert found.reasons == ("same email a@x.org",)


def test_the_same_phone_is_a_strong_match() -> None:
    found = compare(
        person("n", "A", "B", phones=("+44207",)), person("o", "Q", "R", phones=("+44207",))
    )
    assert found is not None
    assert found.score == 0.9


def test_a_similar_name_is_a_weaker_match() -> None:
    found = compare(person("n", "Ada", "Lovelace"), person("o", "Ada", "Lovelace."))
    assert found is not None
    assert 0.7 < found.score <= 0.8
    assert found.reasons[0].startswith("similar name")


def test_a_similar_name_at_the_same_organisation_is_a_strong_match() -> None:
    found = compare(
        person("n", "Jon", "Smith", organisations=("acme",)),
        person("o", "John", "Smith", organisations=("acme", "globex")),
    )
    assert found is not None
    assert found.score > 0.85
    assert found.reasons == ("similar name (95%) at the same organisation acme",)


def test_a_merely_similar_name_elsewhere_is_not_enough() -> None:
    at_acme = person("n", "Jon", "Smith", organisations=("acme",))
    assert compare(at_acme, person("o", "John", "Smith", organisations=("globex",))) is None


def test_different_people_are_not_matched() -> None:
    assert compare(person("n", "Ada", "Lovelace"), person("o", "Grace", "Hopper")) is None


def test_ranking_puts_the_best_first_and_never_the_contact_itself() -> None:
    new = person("new", "Ada", "Lovelace", ("ada@x.org",))
    ranked = rank(
        new,
        [
            new,
            person("by-name", "Ada", "Lovelace"),
            person("by-email", "A.", "L.", ("ada@x.org",)),
            person("stranger", "Bob", "Smith"),
        ],
    )
    assert [d.contact_id for d in ranked] == ["by-email", "by-name"]
