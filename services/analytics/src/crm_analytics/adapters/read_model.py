"""The analytics tables, written by the projection's changes and read by the 360 view.

Events about one customer arrive from several topics in any order: an opportunity may name a
contact not seen yet (its row appears when the contact's events come), and a reference to a
contact that was merged is read as the survivor, whichever came first.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from crm_analytics.domain.projection import (
    Change,
    Consent,
    EntityKind,
    Entry,
    Erasure,
    Facts,
    Membership,
    Merge,
)
from crm_shared.sql import DriverStatements, Reads, sql

MAX_MERGE_CHAIN = 32


async def apply(
    connection: AsyncConnection,
    schema: str,
    tenant_id: str,
    event_id: str,
    at: datetime,
    changes: list[Change],
) -> None:
    # The hot statements run on the driver, in the consumer's transaction.
    statements = await DriverStatements.of(connection)
    survivors = Survivors(statements, schema, tenant_id)
    for change in changes:
        if isinstance(change, Facts):
            await _facts(statements, schema, tenant_id, at, change, survivors)
        elif isinstance(change, Entry):
            await _entry(statements, schema, tenant_id, event_id, at, change, survivors)
        elif isinstance(change, Consent):
            await _consent(connection, schema, tenant_id, at, change, survivors)
        elif isinstance(change, Membership):
            await _membership(connection, schema, tenant_id, change, survivors)
        elif isinstance(change, Merge):
            await _merge(connection, schema, tenant_id, change)
            survivors.forget()
        elif isinstance(change, Erasure):
            await _erasure(statements, schema, tenant_id, at, change, survivors)


class Survivors:
    """``survivor`` looked up once per contact while one event is applied (an event's facts
    and its timeline entry name the same contact); a merge among its changes forgets them."""

    def __init__(self, reads: Reads, schema: str, tenant_id: str) -> None:
        self._reads, self._schema, self._tenant_id = reads, schema, tenant_id
        self._known: dict[str, str] = {}

    async def of(self, contact_id: str) -> str:
        if contact_id not in self._known:
            self._known[contact_id] = await survivor(
                self._reads, self._schema, self._tenant_id, contact_id
            )
        return self._known[contact_id]

    def forget(self) -> None:
        self._known.clear()


async def survivor(reads: Reads, schema: str, tenant_id: str, contact_id: str) -> str:
    """The contact ``contact_id`` now lives on as (itself, unless merged)."""
    current = contact_id
    for _ in range(MAX_MERGE_CHAIN):
        rows = await reads.fetch(
            f'SELECT survivor_id FROM "{schema}".merges'
            " WHERE tenant_id = :tenant AND merged_id = :id",
            {"tenant": tenant_id, "id": current},
        )
        if not rows:
            return current
        current = str(rows[0]["survivor_id"])
    return current


async def _facts(
    statements: DriverStatements,
    schema: str,
    tenant_id: str,
    at: datetime,
    facts: Facts,
    survivors: Survivors,
) -> None:
    contact_id = await survivors.of(facts.contact_id) if facts.contact_id else None
    await statements.execute(
        (
            f'INSERT INTO "{schema}".entities AS e (tenant_id, kind, entity_id, contact_id,'
            " account_id, data, updated_at) VALUES (:tenant, :kind, :id, :contact, :account,"
            " CAST(:data AS jsonb), :at) ON CONFLICT (tenant_id, kind, entity_id) DO UPDATE SET"
            " data = e.data || excluded.data,"
            " contact_id = COALESCE(excluded.contact_id, e.contact_id),"
            " account_id = COALESCE(excluded.account_id, e.account_id),"
            " updated_at = GREATEST(e.updated_at, excluded.updated_at)"
        ),
        {
            "tenant": tenant_id,
            "kind": facts.kind,
            "id": facts.entity_id,
            "contact": contact_id,
            "account": facts.account_id,
            "data": json.dumps(facts.values, default=str),
            "at": at,
        },
    )


async def customers_of(
    reads: Reads,
    schema: str,
    tenant_id: str,
    kind: EntityKind,
    entity_id: str,
    survivors: Survivors,
) -> list[str]:
    """The customers (contact and account ids) an entity concerns."""
    if kind == "contact":
        return [await survivors.of(entity_id)]
    if kind == "account":
        return [entity_id]
    rows = await reads.fetch(
        "SELECT contact_id, account_id, data->>'opportunity_id' AS opportunity_id"
        f' FROM "{schema}".entities'
        " WHERE tenant_id = :tenant AND kind = :kind AND entity_id = :id",
        {"tenant": tenant_id, "kind": kind, "id": entity_id},
    )
    if not rows:
        return []
    [row] = rows
    found = [i for i in (row["contact_id"], row["account_id"]) if i]
    if not found and row["opportunity_id"]:  # an activity about a deal: its customers
        return await customers_of(
            reads, schema, tenant_id, "opportunity", row["opportunity_id"], survivors
        )
    return found


async def _entry(
    statements: DriverStatements,
    schema: str,
    tenant_id: str,
    event_id: str,
    at: datetime,
    entry: Entry,
    survivors: Survivors,
) -> None:
    customers = await customers_of(
        statements, schema, tenant_id, entry.kind, entry.entity_id, survivors
    )
    if not customers:
        return
    await statements.execute_many(
        (
            f'INSERT INTO "{schema}".timeline (tenant_id, customer_id, event_id, at, kind,'
            " entity_id, what, details) VALUES (:tenant, :customer, :event, :at, :kind, :entity,"
            " :what, CAST(:details AS jsonb)) ON CONFLICT DO NOTHING"
        ),
        [
            {
                "tenant": tenant_id,
                "customer": customer,
                "event": event_id,
                "at": at,
                "kind": entry.kind,
                "entity": entry.entity_id,
                "what": entry.what,
                "details": json.dumps(entry.details, default=str),
            }
            for customer in customers
        ],
    )


async def _consent(
    connection: AsyncConnection,
    schema: str,
    tenant_id: str,
    at: datetime,
    consent: Consent,
    survivors: Survivors,
) -> None:
    contact_id = await survivors.of(consent.contact_id)
    await connection.execute(
        sql(
            f'INSERT INTO "{schema}".consents AS c (tenant_id, contact_id, channel, status,'
            " lawful_basis, source, at) VALUES (:tenant, :contact, :channel, :status, :basis,"
            " :source, :at) ON CONFLICT (tenant_id, contact_id, channel) DO UPDATE SET"
            " status = excluded.status, lawful_basis = excluded.lawful_basis,"
            " source = excluded.source, at = excluded.at WHERE c.at <= excluded.at"
        ),
        {
            "tenant": tenant_id,
            "contact": contact_id,
            "channel": consent.channel,
            "status": consent.status,
            "basis": consent.lawful_basis,
            "source": consent.source,
            "at": at,
        },
    )


async def _membership(
    connection: AsyncConnection,
    schema: str,
    tenant_id: str,
    membership: Membership,
    survivors: Survivors,
) -> None:
    contact_id = await survivors.of(membership.contact_id)
    keys = {"tenant": tenant_id, "account": membership.account_id, "contact": contact_id}
    if not membership.linked:
        await connection.execute(
            sql(
                f'DELETE FROM "{schema}".memberships WHERE tenant_id = :tenant'
                " AND account_id = :account AND contact_id = :contact"
            ),
            keys,
        )
        return
    await connection.execute(
        sql(
            f'INSERT INTO "{schema}".memberships (tenant_id, account_id, contact_id, role,'
            " is_primary) VALUES (:tenant, :account, :contact, :role, :primary)"
            " ON CONFLICT (tenant_id, account_id, contact_id) DO UPDATE SET role = excluded.role,"
            " is_primary = excluded.is_primary"
        ),
        {**keys, "role": membership.role, "primary": membership.primary},
    )


async def _merge(connection: AsyncConnection, schema: str, tenant_id: str, merge: Merge) -> None:
    """Whatever referred to the merged contact now refers to the survivor; its timeline joins
    the survivor's."""
    keys = {"tenant": tenant_id, "merged": merge.merged_id, "survivor": merge.survivor_id}
    await connection.execute(
        sql(
            f'INSERT INTO "{schema}".merges (tenant_id, merged_id, survivor_id)'
            " VALUES (:tenant, :merged, :survivor) ON CONFLICT DO NOTHING"
        ),
        keys,
    )
    statements = [
        f'UPDATE "{schema}".entities SET contact_id = :survivor'
        " WHERE tenant_id = :tenant AND contact_id = :merged",
        f'INSERT INTO "{schema}".timeline (tenant_id, customer_id, event_id, at, kind,'
        " entity_id, what, details) SELECT tenant_id, :survivor, event_id, at, kind, entity_id,"
        f' what, details FROM "{schema}".timeline WHERE tenant_id = :tenant'
        " AND customer_id = :merged ON CONFLICT DO NOTHING",
        f'DELETE FROM "{schema}".timeline WHERE tenant_id = :tenant AND customer_id = :merged',
        f'INSERT INTO "{schema}".memberships (tenant_id, account_id, contact_id, role,'
        " is_primary) SELECT tenant_id, account_id, :survivor, role, is_primary"
        f' FROM "{schema}".memberships WHERE tenant_id = :tenant AND contact_id = :merged'
        " ON CONFLICT DO NOTHING",
        f'DELETE FROM "{schema}".memberships WHERE tenant_id = :tenant AND contact_id = :merged',
        f'INSERT INTO "{schema}".consents (tenant_id, contact_id, channel, status, lawful_basis,'
        " source, at) SELECT tenant_id, :survivor, channel, status, lawful_basis, source, at"
        f' FROM "{schema}".consents WHERE tenant_id = :tenant AND contact_id = :merged'
        " ON CONFLICT DO NOTHING",
        f'DELETE FROM "{schema}".consents WHERE tenant_id = :tenant AND contact_id = :merged',
    ]
    for statement in statements:
        await connection.execute(sql(statement), keys)


async def _erasure(
    statements: DriverStatements,
    schema: str,
    tenant_id: str,
    at: datetime,
    erasure: Erasure,
    survivors: Survivors,
) -> None:
    """Nothing personal is held; the contacts are marked erased so the view can say so."""
    for contact_id in erasure.contact_ids:
        await _facts(
            statements,
            schema,
            tenant_id,
            at,
            Facts("contact", contact_id, {"erased": True, "erased_at": at.isoformat()}),
            survivors,
        )


async def entities_named(
    reads: Reads,
    schema: str,
    tenant_id: str,
    kinds: Sequence[str],
    entity_id: str,
) -> dict[str, dict[str, Any]]:
    """The entities called ``entity_id`` among ``kinds``, by kind (one query)."""
    rows = await reads.fetch(
        "SELECT kind, entity_id, contact_id, account_id, data, updated_at"
        f' FROM "{schema}".entities'
        " WHERE tenant_id = :tenant AND kind = ANY(:kinds) AND entity_id = :id",
        {"tenant": tenant_id, "kinds": list(kinds), "id": entity_id},
    )
    return {row["kind"]: dict(row) for row in rows}


async def related(
    reads: Reads,
    schema: str,
    tenant_id: str,
    kinds: Sequence[str],
    customer_column: str,
    customer_id: str,
    limit: int,
) -> dict[str, list[dict[str, Any]]]:
    """Entities of each of ``kinds`` linked to the customer, most recently changed first, at
    most ``limit`` of each kind (one query)."""
    assert customer_column in ("contact_id", "account_id")
    rows = await reads.fetch(
        (
            "SELECT kind, entity_id, contact_id, account_id, data, updated_at FROM ("
            " SELECT kind, entity_id, contact_id, account_id, data, updated_at, row_number()"
            " OVER (PARTITION BY kind ORDER BY updated_at DESC, entity_id) AS n"
            f' FROM "{schema}".entities WHERE tenant_id = :tenant AND kind = ANY(:kinds)'
            f" AND {customer_column} = :customer) AS linked"
            " WHERE n <= :limit ORDER BY kind, updated_at DESC, entity_id"
        ),
        {"tenant": tenant_id, "kinds": list(kinds), "customer": customer_id, "limit": limit},
    )
    found: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
    for row in rows:
        found[row["kind"]].append(dict(row))
    return found


async def consents(
    reads: Reads, schema: str, tenant_id: str, contact_id: str
) -> list[dict[str, Any]]:
    rows = await reads.fetch(
        (
            "SELECT channel, status, lawful_basis, source, at"
            f' FROM "{schema}".consents WHERE tenant_id = :tenant AND contact_id = :contact'
            " ORDER BY channel"
        ),
        {"tenant": tenant_id, "contact": contact_id},
    )
    return [dict(row) for row in rows]


async def memberships(
    reads: Reads, schema: str, tenant_id: str, column: str, customer_id: str
) -> list[dict[str, Any]]:
    assert column in ("contact_id", "account_id")
    rows = await reads.fetch(
        (
            "SELECT m.account_id, m.contact_id, m.role, m.is_primary,"
            " a.data->>'name' AS account_name, p.data->>'lifecycle_stage' AS lifecycle_stage"
            f' FROM "{schema}".memberships m'
            f' LEFT JOIN "{schema}".entities a ON a.tenant_id = m.tenant_id'
            " AND a.kind = 'account' AND a.entity_id = m.account_id"
            f' LEFT JOIN "{schema}".entities p ON p.tenant_id = m.tenant_id'
            " AND p.kind = 'contact' AND p.entity_id = m.contact_id"
            f" WHERE m.tenant_id = :tenant AND m.{column} = :customer"
            " ORDER BY m.is_primary DESC, m.account_id, m.contact_id"
        ),
        {"tenant": tenant_id, "customer": customer_id},
    )
    return [dict(row) for row in rows]


async def timeline(
    reads: Reads,
    schema: str,
    tenant_id: str,
    customer_id: str,
    limit: int,
    before: tuple[datetime, str] | None,
) -> list[dict[str, Any]]:
    """Newest first; ``before``: the (time, event id) of the last entry of the previous page."""
    where = "tenant_id = :tenant AND customer_id = :customer"
    params: dict[str, Any] = {"tenant": tenant_id, "customer": customer_id, "limit": limit}
    if before is not None:
        where += " AND (at, event_id) < (:at, :event)"
        params |= {"at": before[0], "event": before[1]}
    rows = await reads.fetch(
        f'SELECT event_id, at, kind, entity_id, what, details FROM "{schema}".timeline'
        f" WHERE {where} ORDER BY at DESC, event_id DESC LIMIT :limit",
        params,
    )
    return [dict(row) for row in rows]


async def is_known(reads: Reads, schema: str, tenant_id: str, customer_id: str) -> bool:
    rows = await reads.fetch(
        f'SELECT EXISTS (SELECT 1 FROM "{schema}".entities WHERE tenant_id = :tenant'
        " AND (entity_id = :id AND kind IN ('contact', 'account') OR contact_id = :id"
        " OR account_id = :id)) AS known",
        {"tenant": tenant_id, "id": customer_id},
    )
    return bool(rows[0]["known"])
