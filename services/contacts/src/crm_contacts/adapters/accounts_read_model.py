"""The accounts table and who works where: written in the command's transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from crm_contacts.domain.account import Account
from crm_shared.sql import sql


async def save(
    connection: AsyncConnection, schema: str, tenant_id: str, account: Account, at: datetime
) -> None:
    state = account.state
    await connection.execute(
        sql(
            f'INSERT INTO "{schema}".accounts (account_id, tenant_id, version, name, domain,'
            " owner_id, tags, parent_account_id, details, archived, created_at, updated_at)"
            " VALUES (:id, :tenant, :version, :name, :domain, :owner, :tags, :parent,"
            " CAST(:details AS jsonb), :archived, :at, :at)"
            " ON CONFLICT (account_id) DO UPDATE SET version = excluded.version,"
            " name = excluded.name, domain = excluded.domain, owner_id = excluded.owner_id,"
            " tags = excluded.tags, parent_account_id = excluded.parent_account_id,"
            " details = excluded.details, archived = excluded.archived,"
            " updated_at = excluded.updated_at"
        ),
        {
            "id": account.account_id,
            "tenant": tenant_id,
            "version": account.version,
            "name": state["name"],
            "domain": state.get("domain"),
            "owner": state.get("owner_id"),
            "tags": state.get("tags", []),
            "parent": state.get("parent_account_id"),
            "details": json.dumps(state),
            "archived": account.archived,
            "at": at,
        },
    )
    await connection.execute(
        sql(f'DELETE FROM "{schema}".account_contacts WHERE account_id = :id'),
        {"id": account.account_id},
    )
    if account.people:
        ids = sorted(account.people)
        await connection.execute(
            sql(
                f'INSERT INTO "{schema}".account_contacts (tenant_id, account_id, contact_id,'
                " role, is_primary) SELECT :tenant, :id, c, r, p FROM unnest("
                " CAST(:contacts AS text[]), CAST(:roles AS text[]), CAST(:primary AS boolean[]))"
                " AS t(c, r, p)"
            ),
            {
                "tenant": tenant_id,
                "id": account.account_id,
                "contacts": ids,
                "roles": [account.people[c]["role"] for c in ids],
                "primary": [account.people[c]["primary"] for c in ids],
            },
        )


@dataclass(frozen=True)
class AccountRow:
    account_id: str
    version: int
    details: dict[str, Any]
    archived: bool
    created_at: datetime
    updated_at: datetime


def _row(row: Any) -> AccountRow:
    return AccountRow(
        row.account_id, row.version, row.details, row.archived, row.created_at, row.updated_at
    )


_COLUMNS = "account_id, version, details, archived, created_at, updated_at"


async def get(
    connection: AsyncConnection, schema: str, tenant_id: str, account_id: str
) -> AccountRow | None:
    result = await connection.execute(
        sql(
            f'SELECT {_COLUMNS} FROM "{schema}".accounts'
            " WHERE tenant_id = :tenant AND account_id = :id"
        ),
        {"tenant": tenant_id, "id": account_id},
    )
    row = result.one_or_none()
    return _row(row) if row else None


async def ancestors(
    connection: AsyncConnection, schema: str, tenant_id: str, account_id: str | None
) -> list[str]:
    """``account_id`` and its parents up to the root (bounded, in case of bad data)."""
    if account_id is None:
        return []
    result = await connection.execute(
        sql(
            f"WITH RECURSIVE chain(id, depth) AS (SELECT CAST(:id AS text), 0 UNION ALL"
            f' SELECT a.parent_account_id, chain.depth + 1 FROM "{schema}".accounts a'
            " JOIN chain ON a.account_id = chain.id WHERE a.tenant_id = :tenant"
            " AND a.parent_account_id IS NOT NULL AND chain.depth < 100)"
            " SELECT id FROM chain ORDER BY depth"
        ),
        {"tenant": tenant_id, "id": account_id},
    )
    return [row.id for row in result]


@dataclass(frozen=True)
class AccountFilter:
    owner_id: str | None = None
    tag: str | None = None
    parent_account_id: str | None = None
    search: str | None = None
    include_archived: bool = False


async def page(
    connection: AsyncConnection,
    schema: str,
    tenant_id: str,
    where: AccountFilter,
    limit: int,
    after: tuple[datetime, str] | None,
) -> list[AccountRow]:
    clauses = ["tenant_id = :tenant"]
    params: dict[str, Any] = {"tenant": tenant_id, "limit": limit}
    if not where.include_archived:
        clauses.append("NOT archived")
    if where.owner_id:
        clauses.append("owner_id = :owner")
        params["owner"] = where.owner_id
    if where.tag:
        clauses.append(":tag = ANY(tags)")
        params["tag"] = where.tag.lower()
    if where.parent_account_id:
        clauses.append("parent_account_id = :parent")
        params["parent"] = where.parent_account_id
    if where.search:
        clauses.append("(name ILIKE :q OR domain ILIKE :q)")
        params["q"] = f"%{where.search.replace('%', '').replace('_', '')}%"
    if after:
        clauses.append("(updated_at, account_id) > (:after_at, :after_id)")
        params["after_at"], params["after_id"] = after
    result = await connection.execute(
        sql(
            f'SELECT {_COLUMNS} FROM "{schema}".accounts WHERE {" AND ".join(clauses)}'
            " ORDER BY updated_at, account_id LIMIT :limit"
        ),
        params,
    )
    return [_row(row) for row in result]


@dataclass(frozen=True)
class Employment:
    account_id: str
    contact_id: str
    role: str | None
    primary: bool
    account_name: str


async def people_of(
    connection: AsyncConnection, schema: str, tenant_id: str, account_id: str
) -> list[Employment]:
    return await _employments(connection, schema, tenant_id, "ac.account_id = :id", account_id)


async def employers_of(
    connection: AsyncConnection, schema: str, tenant_id: str, contact_id: str
) -> list[Employment]:
    return await _employments(connection, schema, tenant_id, "ac.contact_id = :id", contact_id)


async def _employments(
    connection: AsyncConnection, schema: str, tenant_id: str, where: str, value: str
) -> list[Employment]:
    result = await connection.execute(
        sql(
            "SELECT ac.account_id, ac.contact_id, ac.role, ac.is_primary, a.name"
            f' FROM "{schema}".account_contacts ac JOIN "{schema}".accounts a'
            f" ON a.account_id = ac.account_id WHERE ac.tenant_id = :tenant AND {where}"
            " ORDER BY a.name, ac.contact_id"
        ),
        {"tenant": tenant_id, "id": value},
    )
    return [Employment(r.account_id, r.contact_id, r.role, r.is_primary, r.name) for r in result]


async def organisations_of(
    connection: AsyncConnection, schema: str, tenant_id: str, contact_ids: list[str]
) -> dict[str, frozenset[str]]:
    """The accounts each contact works at (for duplicate detection)."""
    result = await connection.execute(
        sql(
            f'SELECT contact_id, array_agg(account_id) AS accounts FROM "{schema}".account_contacts'
            " WHERE tenant_id = :tenant AND contact_id = ANY(:ids) GROUP BY contact_id"
        ),
        {"tenant": tenant_id, "ids": contact_ids},
    )
    return {row.contact_id: frozenset(row.accounts) for row in result}
