"""The account aggregate: an organisation, its place in a group (its parent), and the people
who work there, each in a role."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from crm_contacts.domain.contact import normalised_addresses
from crm_contacts.domain.errors import AccountIsArchived, InvalidValue
from crm_shared.contracts.contacts import (
    AccountArchived,
    AccountContactLinked,
    AccountContactUnlinked,
    AccountCreated,
    AccountUpdated,
    FieldChange,
)
from crm_shared.events import EventContract

UPDATABLE = ("name", "domain", "industry", "owner_id", "tags", "addresses", "parent_account_id")
HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


@dataclass
class Account:
    account_id: str
    version: int = 0
    state: dict[str, Any] = field(default_factory=dict)
    archived: bool = False
    people: dict[str, dict[str, Any]] = field(default_factory=dict)
    """contact id -> {role, primary}."""
    pending: list[EventContract] = field(default_factory=list)

    @classmethod
    def from_history(cls, account_id: str, history: list[EventContract]) -> Account:
        account = cls(account_id)
        for event in history:
            account._apply(event)
            account.version += 1
        return account

    @classmethod
    def create(cls, account_id: str, details: dict[str, Any], ancestors: list[str]) -> Account:
        """``ancestors``: the parent's chain up to its root (the parent first), for cycles."""
        account = cls(account_id)
        fields = _normalised(details)
        _check_parent(account_id, fields["parent_account_id"], ancestors)
        account._record(AccountCreated(account_id=account_id, **fields))
        return account

    def update(self, changes: dict[str, Any], ancestors: list[str]) -> None:
        self._check_not_archived()
        unknown = sorted(set(changes) - set(UPDATABLE))
        if unknown:
            raise InvalidValue(unknown[0], "cannot be changed")
        proposed = _normalised({**self.state, **changes})
        if "parent_account_id" in changes:
            _check_parent(self.account_id, proposed["parent_account_id"], ancestors)
        diff = {
            name: FieldChange(old=self.state.get(name), new=value)
            for name, value in proposed.items()
            if name in changes and value != self.state.get(name)
        }
        if diff:
            self._record(AccountUpdated(account_id=self.account_id, changes=diff))

    def archive(self, reason: str | None) -> None:
        self._check_not_archived()
        self._record(AccountArchived(account_id=self.account_id, reason=reason))

    def link(self, contact_id: str, role: str | None, primary: bool) -> None:
        """The person works here in ``role``; linked again with another role, it changes."""
        self._check_not_archived()
        role = (role or "").strip() or None
        if self.people.get(contact_id) == {"role": role, "primary": primary}:
            return
        self._record(
            AccountContactLinked(
                account_id=self.account_id, contact_id=contact_id, role=role, primary=primary
            )
        )

    def unlink(self, contact_id: str) -> None:
        if contact_id not in self.people:
            raise InvalidValue("contact_id", f"{contact_id} does not work at {self.account_id}")
        self._record(AccountContactUnlinked(account_id=self.account_id, contact_id=contact_id))

    def _check_not_archived(self) -> None:
        if self.archived:
            raise AccountIsArchived(f"account {self.account_id} is archived")

    def _record(self, event: EventContract) -> None:
        self._apply(event)
        self.pending.append(event)

    def _apply(self, event: EventContract) -> None:
        if isinstance(event, AccountCreated):
            self.state = event.model_dump(mode="json", exclude={"account_id"})
        elif isinstance(event, AccountUpdated):
            for name, change in event.changes.items():
                self.state[name] = change.new
        elif isinstance(event, AccountArchived):
            self.archived = True
        elif isinstance(event, AccountContactLinked):
            if event.primary:
                for person in self.people.values():
                    person["primary"] = False
            self.people[event.contact_id] = {"role": event.role, "primary": event.primary}
        elif isinstance(event, AccountContactUnlinked):
            self.people.pop(event.contact_id, None)


def _check_parent(account_id: str, parent_id: str | None, ancestors: list[str]) -> None:
    if parent_id is None:
        return
    if parent_id == account_id or account_id in ancestors:
        raise InvalidValue("parent_account_id", "an organisation cannot be its own ancestor")


def _normalised(details: dict[str, Any]) -> dict[str, Any]:
    name = str(details.get("name") or "").strip()
    if not name:
        raise InvalidValue("name", "must not be empty")
    domain = str(details.get("domain") or "").strip().lower() or None
    if domain:
        host = urlsplit(domain if "//" in domain else f"//{domain}").hostname or ""
        host = host.removeprefix("www.")
        if not HOST.match(host):
            raise InvalidValue("domain", f"{domain!r} is not a web domain")
        domain = host
    return {
        "name": name,
        "domain": domain,
        "industry": str(details.get("industry") or "").strip() or None,
        "owner_id": details.get("owner_id") or None,
        "tags": sorted(
            {str(t).strip().lower() for t in details.get("tags") or [] if str(t).strip()}
        ),
        "addresses": normalised_addresses(
            [{k: v for k, v in a.items() if k != "primary"} for a in details.get("addresses") or []]
        ),
        "parent_account_id": details.get("parent_account_id") or None,
    }
