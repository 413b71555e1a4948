"""The accounts HTTP API: organisations, their groups, and the people who work there."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from crm_contacts.adapters import accounts_read_model as accounts
from crm_contacts.adapters.accounts_read_model import AccountFilter, AccountRow, Employment
from crm_contacts.adapters.idempotency import AlreadyCreated
from crm_contacts.application.accounts import AccountHandlers
from crm_contacts.application.handlers import Written
from crm_contacts.domain.account import Account
from crm_contacts.entrypoints.schemas import AddressIn
from crm_shared import pagination
from crm_shared.errors import NotFound
from crm_shared.eventstore import EventStore
from crm_shared.http.requests import Expected, MaybeExpected, Who, etag, stale_as_412

STALE: dict[int | str, dict[str, Any]] = {
    412: {"description": "Stale If-Match"},
    428: {"description": "If-Match missing"},
}


class AccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=300)
    domain: str | None = Field(None, description="Web domain or site, e.g. example.com")
    industry: str | None = None
    owner_id: str | None = None
    tags: list[str] = Field(default_factory=list, max_length=100)
    addresses: list[AddressIn] = Field(default_factory=list, max_length=10)
    parent_account_id: str | None = Field(None, description="The group it belongs to")


class AccountPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    domain: str | None = None
    industry: str | None = None
    owner_id: str | None = None
    tags: list[str] | None = None
    addresses: list[AddressIn] | None = None
    parent_account_id: str | None = None


class AccountRead(BaseModel):
    id: str
    version: int
    archived: bool
    name: str
    domain: str | None
    industry: str | None
    owner_id: str | None
    tags: list[str]
    addresses: list[dict[str, Any]]
    parent_account_id: str | None
    created_at: datetime
    updated_at: datetime


class AccountPage(BaseModel):
    items: list[AccountRead]
    next_cursor: str | None


class ArchiveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = None


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str | None = Field(None, max_length=200, description="e.g. CFO")
    primary: bool = Field(False, description="The organisation's main contact")


class EmploymentRead(BaseModel):
    account_id: str
    account_name: str
    contact_id: str
    role: str | None
    primary: bool


def account_body(row: AccountRow) -> AccountRead:
    return AccountRead(
        id=row.account_id,
        version=row.version,
        archived=row.archived,
        created_at=row.created_at,
        updated_at=row.updated_at,
        **{k: row.details.get(k) for k in ("name", "domain", "industry", "owner_id")},
        tags=row.details.get("tags", []),
        addresses=row.details.get("addresses", []),
        parent_account_id=row.details.get("parent_account_id"),
    )


def employment_body(found: Employment) -> EmploymentRead:
    return EmploymentRead(
        account_id=found.account_id,
        account_name=found.account_name,
        contact_id=found.contact_id,
        role=found.role,
        primary=found.primary,
    )


def accounts_router(handlers: AccountHandlers, store: EventStore) -> APIRouter:
    router = APIRouter(tags=["accounts"])

    async def read(tenant_id: str, account_id: str) -> AccountRow:
        async with store.engine.connect() as connection:
            row = await accounts.get(connection, store.schema, tenant_id, account_id)
        if row is None:
            raise NotFound(f"no account {account_id}")
        return row

    async def answered(
        who: Any, account_id: str, write: Awaitable[Written], response: Response
    ) -> AccountRead:
        with stale_as_412():
            await write
        row = await read(who.tenant_id, account_id)
        response.headers["ETag"] = etag(row.version)
        return account_body(row)

    @router.post(
        "/accounts",
        status_code=status.HTTP_201_CREATED,
        response_model=AccountRead,
        responses={200: {"description": "Idempotency-Key seen before: the account it made"}},
    )
    async def create_account(
        body: AccountIn,
        who: Who,
        response: Response,
        idempotency_key: Annotated[
            str | None, Header(description="Retries with the same key create nothing new")
        ] = None,
    ) -> AccountRead:
        """An organisation; ``parent_account_id`` places it in a group (no cycles)."""
        try:
            account_id = (await handlers.create(who, body.model_dump(), idempotency_key)).contact_id
        except AlreadyCreated as replay:
            account_id = replay.resource_id
            response.status_code = status.HTTP_200_OK
        response.headers["Location"] = f"/accounts/{account_id}"
        row = await read(who.tenant_id, account_id)
        response.headers["ETag"] = etag(row.version)
        return account_body(row)

    @router.get("/accounts/{account_id}", response_model=AccountRead)
    async def get_account(account_id: str, who: Who, response: Response) -> AccountRead:
        row = await read(who.tenant_id, account_id)
        response.headers["ETag"] = etag(row.version)
        return account_body(row)

    @router.patch("/accounts/{account_id}", response_model=AccountRead, responses=STALE)
    async def update_account(
        account_id: str, body: AccountPatch, who: Who, version: Expected, response: Response
    ) -> AccountRead:
        changes = body.model_dump(exclude_unset=True)

        def decide(account: Account, chain: list[str]) -> None:
            account.update(changes, chain)

        write = handlers.change(who, account_id, version, decide, changes.get("parent_account_id"))
        return await answered(who, account_id, write, response)

    @router.post("/accounts/{account_id}/archive", response_model=AccountRead, responses=STALE)
    async def archive_account(
        account_id: str, body: ArchiveIn, who: Who, version: Expected, response: Response
    ) -> AccountRead:
        def decide(account: Account, _: list[str]) -> None:
            account.archive(body.reason)

        return await answered(
            who, account_id, handlers.change(who, account_id, version, decide), response
        )

    @router.get("/accounts", response_model=AccountPage)
    async def list_accounts(
        who: Who,
        owner: str | None = None,
        tag: str | None = None,
        parent: str | None = None,
        q: Annotated[str | None, Query(min_length=2, description="Name or domain")] = None,
        include_archived: bool = False,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: str | None = None,
    ) -> AccountPage:
        after = pagination.decode_cursor(cursor) if cursor else None
        where = AccountFilter(owner, tag, parent, q, include_archived)
        async with store.engine.connect() as connection:
            rows = await accounts.page(
                connection, store.schema, who.tenant_id, where, limit + 1, after
            )
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = (
            pagination.encode_cursor(rows[-1].updated_at, rows[-1].account_id) if more else None
        )
        return AccountPage(items=[account_body(r) for r in rows], next_cursor=next_cursor)

    @router.get("/accounts/{account_id}/children", response_model=list[AccountRead])
    async def children(account_id: str, who: Who) -> list[AccountRead]:
        """The organisations whose parent this one is."""
        await read(who.tenant_id, account_id)
        async with store.engine.connect() as connection:
            rows = await accounts.page(
                connection,
                store.schema,
                who.tenant_id,
                AccountFilter(parent_account_id=account_id),
                500,
                None,
            )
        return [account_body(r) for r in rows]

    @router.put(
        "/accounts/{account_id}/contacts/{contact_id}",
        response_model=list[EmploymentRead],
        responses=STALE,
    )
    async def link_contact(
        account_id: str, contact_id: str, body: LinkIn, who: Who, version: MaybeExpected
    ) -> list[EmploymentRead]:
        """The person works here in ``role`` (again: the role changes). ``If-Match`` with the
        account's ETag guards against concurrent changes when given."""
        with stale_as_412():
            await handlers.link(who, account_id, version, contact_id, body.role, body.primary)
        return await people(account_id, who)

    @router.delete(
        "/accounts/{account_id}/contacts/{contact_id}", status_code=status.HTTP_204_NO_CONTENT
    )
    async def unlink_contact(account_id: str, contact_id: str, who: Who) -> None:
        async with store.engine.connect() as connection:
            row = await accounts.get(connection, store.schema, who.tenant_id, account_id)
        if row is None:
            raise NotFound(f"no account {account_id}")

        def decide(account: Account, _: list[str]) -> None:
            account.unlink(contact_id)

        await handlers.change(who, account_id, row.version, decide)

    @router.get("/accounts/{account_id}/contacts", response_model=list[EmploymentRead])
    async def people(account_id: str, who: Who) -> list[EmploymentRead]:
        """The people who work here, with their roles."""
        await read(who.tenant_id, account_id)
        async with store.engine.connect() as connection:
            found = await accounts.people_of(connection, store.schema, who.tenant_id, account_id)
        return [employment_body(e) for e in found]

    @router.get("/contacts/{contact_id}/accounts", response_model=list[EmploymentRead])
    async def employers(contact_id: str, who: Who) -> list[EmploymentRead]:
        """The organisations the person works at, with their role at each."""
        async with store.engine.connect() as connection:
            found = await accounts.employers_of(connection, store.schema, who.tenant_id, contact_id)
        return [employment_body(e) for e in found]

    return router
