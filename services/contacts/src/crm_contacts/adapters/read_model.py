"""The contacts table: written in the command's transaction, read by the queries."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from crm_contacts.domain.contact import ERASED, Contact
from crm_shared.eventstore import StreamStart, UnitOfWork
from crm_shared.privacy.keystore import NewSubjectKey
from crm_shared.sql import Reads, sql


def _primary(items: list[dict[str, Any]], key: str) -> str | None:
    return next((item[key] for item in items if item.get("primary")), None)


_INSERT_ROW = (
    'INSERT INTO "{schema}".contacts (contact_id, tenant_id, version, first_name,'
    " last_name, primary_email, primary_phone, lifecycle_stage, owner_id, tags, details,"
    " archived, created_at, updated_at) VALUES (:id, :tenant, :version, :first, :last,"
    " :email, :phone, :stage, :owner, :tags, CAST(:details AS jsonb), :archived, :at, :at)"
)
_ROW_COLUMNS = "contact_id, version, details, archived, created_at, updated_at"
IDENTIFIER_VALUE = "CASE WHEN k = 'last_name' THEN lower(v) ELSE v END"
"""The stored value of identifier ``k`` given as ``v``: last names compare case-insensitively
(PostgreSQL's ``lower``, as the look-up's)."""
_INSERT_IDENTIFIERS = (
    'INSERT INTO "{schema}".contact_identifiers (tenant_id, kind, value, contact_id)'
    f" SELECT :tenant, k, {IDENTIFIER_VALUE}, :id FROM unnest(CAST(:kinds AS text[]),"
    " CAST(:values AS text[])) AS t(k, v) ON CONFLICT DO NOTHING"
)


def _identifier_params(identifiers: frozenset[tuple[str, str]]) -> dict[str, list[str]]:
    ordered = sorted(identifiers)
    return {"kinds": [kind for kind, _ in ordered], "values": [value for _, value in ordered]}


def _row_params(tenant_id: str, contact: Contact, at: datetime) -> dict[str, Any]:
    state = contact.state
    return {
        "id": contact.contact_id,
        "tenant": tenant_id,
        "version": contact.version,
        "first": state.get("first_name"),
        "last": state["last_name"],
        "email": _primary(state.get("emails", []), "address"),
        "phone": _primary(state.get("phones", []), "number"),
        "stage": state["lifecycle_stage"],
        "owner": state.get("owner_id"),
        "tags": state.get("tags", []),
        "details": json.dumps({**state, "consents": contact.consents, "erased": contact.erased}),
        "archived": contact.archived,
        "at": at,
    }


async def save(
    uow: UnitOfWork, schema: str, tenant_id: str, contact: Contact, at: datetime
) -> ContactRow:
    """Write the contact's row; returns it as stored (its first creation time kept)."""
    [row] = await uow.fetch(
        _INSERT_ROW.format(schema=schema)
        + " ON CONFLICT (contact_id) DO UPDATE SET version = excluded.version,"
        " first_name = excluded.first_name, last_name = excluded.last_name,"
        " primary_email = excluded.primary_email, primary_phone = excluded.primary_phone,"
        " lifecycle_stage = excluded.lifecycle_stage, owner_id = excluded.owner_id,"
        " tags = excluded.tags, details = excluded.details, archived = excluded.archived,"
        f" updated_at = excluded.updated_at RETURNING {_ROW_COLUMNS}",
        _row_params(tenant_id, contact, at),
    )
    return _row(row)


@dataclass(frozen=True)
class DuplicateLookup:
    """What a contact is compared on with the existing ones (see ``duplicate_candidates``)."""

    emails: list[str]
    phones: list[str]
    last_name: str
    accounts: list[str]

    def params(self) -> dict[str, Any]:
        return {
            "last": self.last_name,
            "emails": self.emails,
            "phones": self.phones,
            "accounts": self.accounts,
            "most": CANDIDATES,
        }


@dataclass(frozen=True)
class NewContactWritten:
    """What ``insert_new``'s one statement wrote and found."""

    row: ContactRow
    candidates: list[ContactRow]
    """Existing contacts it may duplicate, strongest match first."""


Fetch = Callable[[str, Mapping[str, Any]], Awaitable[list[Any]]]
"""Runs a statement (``:name`` parameters): ``UnitOfWork.fetch`` in a transaction, or
``EventStore.fetch_as_transaction`` as one of its own."""


async def insert_new(
    fetch: Fetch,
    schema: str,
    tenant_id: str,
    contact: Contact,
    at: datetime,
    lookup: DuplicateLookup,
    key: NewSubjectKey,
    start: StreamStart,
    unchanged: str,
    unchanged_params: Mapping[str, Any],
) -> NewContactWritten:
    """Everything a new contact writes, in one statement: its data key, row, identifiers and
    first events; with the existing contacts it may duplicate (as ``duplicate_candidates``
    finds them, the new one not among them: the statement reads the tables as they were
    before it). The statement is ``Refused`` and keeps nothing unless the key and every event
    were written and the requirement ``unchanged`` (with its parameters: what the contact was
    validated against is as it was) holds: it may run as a transaction of its own."""
    identifiers = contact.identifiers()
    rows = await fetch(
        f"WITH candidates AS ({_candidates_query(schema)}),"
        f" saved AS ({_INSERT_ROW.format(schema=schema)} RETURNING {_ROW_COLUMNS}),"
        f" identifiers AS ({_INSERT_IDENTIFIERS.format(schema=schema)}),"
        f" keyed AS ({key.statement}),"
        f" started AS ({start.statement})"
        f" SELECT 0 AS n, {_ROW_COLUMNS}, {key.requirement('keyed')}"
        f" AND {start.requirement('started')} AND {unchanged} AS kept FROM saved"
        f" UNION ALL SELECT n, {_ROW_COLUMNS}, NULL FROM candidates ORDER BY n",
        {
            **_row_params(tenant_id, contact, at),
            **lookup.params(),
            **_identifier_params(identifiers),
            **key.params,
            **start.params,
            **unchanged_params,
        },
    )
    contact.stored_identifiers = identifiers
    return NewContactWritten(_row(rows[0]), [_row(row) for row in rows[1:]])


async def scrub(
    connection: AsyncConnection, schema: str, tenant_id: str, contact_ids: list[str]
) -> None:
    """Remove every personal value of erased contacts; the non-personal facts stay."""
    await connection.execute(
        sql(
            f'UPDATE "{schema}".contacts SET first_name = NULL, last_name = NULL,'
            " primary_email = NULL, primary_phone = NULL, erased = true, archived = true,"
            " details = details || CAST(:erased AS jsonb)"
            " WHERE tenant_id = :tenant AND contact_id = ANY(:ids)"
        ),
        {"tenant": tenant_id, "ids": contact_ids, "erased": json.dumps({**ERASED, "erased": True})},
    )
    await connection.execute(
        sql(f'DELETE FROM "{schema}".contact_identifiers WHERE contact_id = ANY(:ids)'),
        {"ids": contact_ids},
    )


async def save_identifiers(uow: UnitOfWork, schema: str, tenant_id: str, contact: Contact) -> None:
    """Store the contact's emails and phones for duplicate look-ups, when they changed since
    they were last stored (most changes, a stage or an owner, leave them as they are)."""
    identifiers = contact.identifiers()
    if identifiers == contact.stored_identifiers:
        return
    if contact.stored_identifiers:
        await uow.execute(
            f'DELETE FROM "{schema}".contact_identifiers WHERE contact_id = :id',
            {"id": contact.contact_id},
        )
    if identifiers:
        await uow.execute(
            _INSERT_IDENTIFIERS.format(schema=schema),
            {"tenant": tenant_id, "id": contact.contact_id, **_identifier_params(identifiers)},
        )
    contact.stored_identifiers = identifiers


CANDIDATES = 200
"""The most existing contacts one duplicate check compares (each is decoded and scored)."""


async def duplicate_candidates(
    reads: Reads,
    schema: str,
    tenant_id: str,
    emails: list[str],
    phones: list[str],
    last_name: str,
    accounts: list[str] | None = None,
) -> list[ContactRow]:
    """Active contacts sharing an email or phone, the last name (case-insensitive), or one of
    ``accounts`` (organisations they work at): at most ``CANDIDATES``, the strongest kinds of
    match first, so that a switchboard number or a common name shared by thousands never
    crowds out the contact with the same email."""
    lookup = DuplicateLookup(emails, phones, last_name, accounts or [])
    rows = await reads.fetch(_candidates_query(schema), {"tenant": tenant_id, **lookup.params()})
    return [_row(row) for row in rows]


def _candidates_query(schema: str) -> str:
    """``duplicate_candidates``' rows, numbered (``n`` from 1) strongest match first."""
    # Look-ups by key (identifiers, memberships), never a scan of the tenant. The last name is
    # an identifier too: as an index of the contacts table beside (tenant, updated_at), the
    # planner took the wrong one for a tenant newer than the table's statistics and filtered
    # the whole tenant on every create (measured: 5 to 37 ms a statement, 13,000 contacts).
    return (
        "SELECT row_number() OVER (ORDER BY m.strength, c.updated_at DESC) AS n,"
        " c.contact_id, c.version, c.details, c.archived, c.created_at, c.updated_at"
        " FROM (SELECT contact_id, min(strength) AS strength FROM ("
        f' SELECT contact_id, 0 AS strength FROM "{schema}".contact_identifiers'
        " WHERE tenant_id = :tenant AND kind = 'email' AND value = ANY(:emails)"
        " UNION ALL"
        f' SELECT contact_id, 1 FROM "{schema}".contact_identifiers'
        " WHERE tenant_id = :tenant AND kind = 'phone' AND value = ANY(:phones)"
        " UNION ALL"
        f' SELECT contact_id, 2 FROM "{schema}".account_contacts'
        " WHERE tenant_id = :tenant AND account_id = ANY(:accounts)"
        " UNION ALL"
        f' SELECT contact_id, 3 FROM "{schema}".contact_identifiers'
        " WHERE tenant_id = :tenant AND kind = 'last_name' AND value = lower(:last)"
        ") AS matches GROUP BY contact_id) AS m"
        f' JOIN "{schema}".contacts AS c ON c.contact_id = m.contact_id AND NOT c.archived'
        " ORDER BY m.strength, c.updated_at DESC LIMIT :most"
    )


@dataclass(frozen=True)
class ContactRow:
    contact_id: str
    version: int
    details: dict[str, Any]
    archived: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ContactFilter:
    lifecycle_stage: str | None = None
    owner_id: str | None = None
    tag: str | None = None
    updated_since: datetime | None = None
    search: str | None = None
    include_archived: bool = False
    custom: tuple[tuple[str, str], ...] = ()
    """Custom field values to match, as text."""


def _row(row: Any) -> ContactRow:
    """A row of SQLAlchemy's (read through its mapping) or of the driver's (read by name)."""
    columns = getattr(row, "_mapping", row)
    return ContactRow(
        columns["contact_id"],
        columns["version"],
        columns["details"],
        columns["archived"],
        columns["created_at"],
        columns["updated_at"],
    )


async def get(reads: Reads, schema: str, tenant_id: str, contact_id: str) -> ContactRow | None:
    rows = await reads.fetch(
        "SELECT contact_id, version, details, archived, created_at, updated_at"
        f' FROM "{schema}".contacts WHERE tenant_id = :tenant AND contact_id = :id',
        {"tenant": tenant_id, "id": contact_id},
    )
    return _row(rows[0]) if rows else None


def encode_cursor(row: ContactRow) -> str:
    raw = json.dumps([row.updated_at.isoformat(), row.contact_id]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    updated_at, contact_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    return datetime.fromisoformat(updated_at), str(contact_id)


async def page(
    connection: AsyncConnection,
    schema: str,
    tenant_id: str,
    where: ContactFilter,
    limit: int,
    after: tuple[datetime, str] | None,
) -> list[ContactRow]:
    """Contacts by (updated_at, id), after the cursor's position: stable under writes."""
    clauses = ["tenant_id = :tenant"]
    params: dict[str, Any] = {"tenant": tenant_id, "limit": limit}
    if not where.include_archived:
        clauses.append("NOT archived")
    if where.lifecycle_stage:
        clauses.append("lifecycle_stage = :stage")
        params["stage"] = where.lifecycle_stage
    if where.owner_id:
        clauses.append("owner_id = :owner")
        params["owner"] = where.owner_id
    if where.tag:
        clauses.append(":tag = ANY(tags)")
        params["tag"] = where.tag.lower()
    if where.updated_since:
        clauses.append("updated_at >= :since")
        params["since"] = where.updated_since
    if where.search:
        clauses.append(
            "(concat_ws(' ', first_name, last_name) ILIKE :q OR primary_email ILIKE :q"
            " OR primary_phone LIKE :q OR details::text ILIKE :q OR contact_id IN ("
            f' SELECT ac.contact_id FROM "{schema}".account_contacts ac'
            f' JOIN "{schema}".accounts a ON a.account_id = ac.account_id'
            " WHERE a.tenant_id = :tenant AND a.name ILIKE :q))"
        )
        params["q"] = f"%{where.search.replace('%', '').replace('_', '')}%"
    for index, (name, value) in enumerate(where.custom):
        clauses.append(f"details->'custom_fields'->>:cf_name{index} = :cf_value{index}")
        params[f"cf_name{index}"], params[f"cf_value{index}"] = name, value
    if after:
        clauses.append("(updated_at, contact_id) > (:after_at, :after_id)")
        params["after_at"], params["after_id"] = after
    result = await connection.execute(
        sql(
            "SELECT contact_id, version, details, archived, created_at, updated_at"
            f' FROM "{schema}".contacts WHERE {" AND ".join(clauses)}'
            " ORDER BY updated_at, contact_id LIMIT :limit"
        ),
        params,
    )
    return [_row(row) for row in result]
