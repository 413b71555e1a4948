"""Account commands: organisations, their parents, and the people who work at them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from crm_contacts.adapters import accounts_read_model as accounts
from crm_contacts.adapters import idempotency, read_model
from crm_contacts.application.handlers import Written
from crm_contacts.domain.account import Account
from crm_contacts.domain.errors import InvalidValue
from crm_shared.caller import Caller
from crm_shared.contracts.contacts import REGISTRY, AccountCreated
from crm_shared.errors import ConcurrencyConflict, NotFound
from crm_shared.eventstore import EventStore, UnitOfWork, new_events


class AccountHandlers:
    def __init__(
        self, store: EventStore, new_id: Callable[[], str] = lambda: str(uuid.uuid4())
    ) -> None:
        self.store = store
        self.new_id = new_id

    async def create(
        self, caller: Caller, details: dict[str, Any], idempotency_key: str | None = None
    ) -> Written:
        """A new organisation; a retry with the same ``idempotency_key`` raises
        ``AlreadyCreated`` naming the first one."""
        async with self.store.unit_of_work() as uow:
            schema = self.store.schema
            await idempotency.check_unused(
                uow.connection, schema, caller.tenant_id, idempotency_key
            )
            account_id = self.new_id()
            chain = await self._parent_chain(uow, caller, details.get("parent_account_id"))
            account = Account.create(account_id, details, chain)
            written = await self.save(uow, caller, account, 0)
            await idempotency.remember(
                uow.connection, schema, caller.tenant_id, idempotency_key, account_id
            )
            return written

    async def change(
        self,
        caller: Caller,
        account_id: str,
        expected_version: int,
        decide: Callable[[Account, list[str]], None],
        parent_id: str | None = None,
    ) -> Written:
        """Load, check the version, let ``decide`` act (given the new parent's chain), save."""
        async with self.store.unit_of_work() as uow:
            account = await self.load(uow, caller, account_id)
            if account.version != expected_version:
                raise ConcurrencyConflict(account_id, expected_version, account.version)
            chain = await self._parent_chain(uow, caller, parent_id)
            decide(account, chain)
            return await self.save(uow, caller, account, expected_version)

    async def link(
        self,
        caller: Caller,
        account_id: str,
        expected_version: int | None,
        contact_id: str,
        role: str | None,
        primary: bool,
    ) -> Written:
        async with self.store.unit_of_work() as uow:
            return await self.link_in(
                uow, caller, account_id, expected_version, contact_id, role, primary
            )

    async def link_in(
        self,
        uow: UnitOfWork,
        caller: Caller,
        account_id: str,
        expected_version: int | None,
        contact_id: str,
        role: str | None,
        primary: bool,
    ) -> Written:
        """Link inside ``uow`` (also used when a contact is created at an organisation)."""
        account = await self.load(uow, caller, account_id)
        if expected_version is not None and account.version != expected_version:
            raise ConcurrencyConflict(account_id, expected_version, account.version)
        contact = await read_model.get(uow, self.store.schema, caller.tenant_id, contact_id)
        if contact is None:
            raise NotFound(f"no contact {contact_id}")
        version = account.version
        account.link(contact_id, role, primary)
        return await self.save(uow, caller, account, version)

    async def load(self, uow: UnitOfWork, caller: Caller, account_id: str) -> Account:
        history = await uow.read_stream(account_id)
        if (
            not history
            or history[0].metadata.tenant_id != caller.tenant_id
            or history[0].event_type != AccountCreated.event_type
        ):
            raise NotFound(f"no account {account_id}")
        return Account.from_history(
            account_id,
            [REGISTRY.decode_data(e.event_type, e.schema_version, e.data) for e in history],
        )

    async def save(
        self, uow: UnitOfWork, caller: Caller, account: Account, expected_version: int
    ) -> Written:
        if not account.pending:
            return Written(account.account_id, account.version)
        now = datetime.now(UTC)
        encoded = new_events(REGISTRY, account.pending, account.account_id, account.account_id, now)
        await uow.append(account.account_id, expected_version, encoded, caller.event_metadata())
        account.version = expected_version + len(encoded)
        account.pending.clear()
        await accounts.save(uow.connection, self.store.schema, caller.tenant_id, account, now)
        return Written(account.account_id, account.version)

    async def _parent_chain(self, uow: UnitOfWork, caller: Caller, parent_id: Any) -> list[str]:
        if not parent_id:
            return []
        parent = await accounts.get(
            uow.connection, self.store.schema, caller.tenant_id, str(parent_id)
        )
        if parent is None:
            raise InvalidValue("parent_account_id", f"no account {parent_id}")
        return await accounts.ancestors(
            uow.connection, self.store.schema, caller.tenant_id, str(parent_id)
        )
