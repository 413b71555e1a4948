"""Accounts: organisations with a parent (never their own ancestor) and people in roles."""

from __future__ import annotations

import pytest

from crm_contacts.domain.account import Account
from crm_contacts.domain.errors import AccountIsArchived, InvalidValue
from crm_shared.contracts.contacts import AccountContactLinked, AccountUpdated


def acme(**details: object) -> Account:
    created = Account.create("a-1", {"name": " Acme ", **details}, [])
    return Account.from_history("a-1", created.pending)


def test_an_account_is_normalised() -> None:
    account = acme(domain="https://www.Acme.example/about", tags=["Key", "key"])
    assert account.state["name"] == "Acme"
    assert account.state["domain"] == "acme.example"
    assert account.state["tags"] == ["key"]


@pytest.mark.parametrize(
    ("details", "field"),
    [({"name": " "}, "name"), ({"name": "A", "domain": "not a domain"}, "domain")],
)
def test_bad_accounts_name_the_field(details: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        Account.create("a-1", details, [])
    assert refused.value.field == field


def test_an_organisation_cannot_be_its_own_ancestor() -> None:
    with pytest.raises(InvalidValue, match="ancestor"):
        Account.create("a-1", {"name": "A", "parent_account_id": "a-1"}, ["a-1"])
    account = acme()
    with pytest.raises(InvalidValue, match="ancestor"):
        account.update({"parent_account_id": "a-3"}, ["a-3", "a-2", "a-1"])
    account.update({"parent_account_id": "a-9"}, ["a-9"])
    [updated] = account.pending
    assert isinstance(updated, AccountUpdated)


def test_people_work_there_in_a_role_and_one_is_primary() -> None:
    account = acme()
    account.link("c-1", "CFO", primary=True)
    account.link("c-2", "CTO", primary=True)
    account.link("c-2", "CTO", primary=True)  # nothing new
    assert len(account.pending) == 2
    assert isinstance(account.pending[0], AccountContactLinked)
    assert account.people == {
        "c-1": {"role": "CFO", "primary": False},
        "c-2": {"role": "CTO", "primary": True},
    }
    with pytest.raises(InvalidValue, match="c-9"):
        account.unlink("c-9")
    account.archive(None)
    with pytest.raises(AccountIsArchived):
        account.link("c-3", None, primary=False)
