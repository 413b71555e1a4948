"""The analytics tables, written by the projection's changes and read by the 360 view.

Events about one customer arrive from several topics in any order: an opportunity may name a
contact not seen yet (its row appears when the contact's events come), and a reference to a
contact that was merged is read as the survivor, whichever came first.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
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


@dataclass(frozen=True)
class CustomerFacts:
    """What the read models hold about one customer, read in one statement (one snapshot)."""

    current: str
    """The customer as it now lives on: itself, or the survivor of its merges."""
    named: dict[str, dict[str, Any]]
    """Its own rows, by kind (``contact``, ``account``); empty if none has been seen."""
    known: bool
    """Whether anything names it (its own row, or a record linked to it)."""
    related: dict[str, list[dict[str, Any]]]
    """The records linked to it, by kind, most recently changed first."""
    members: list[dict[str, Any]]
    """Its organisations (a contact's) or its people (an account's)."""
    consents: list[dict[str, Any]]
    timeline: list[dict[str, Any]]
    """Newest first."""

    @property
    def is_account(self) -> bool:
        return "account" in self.named


# A contact is linked to records by their contact_id, an organisation by their account_id: of
# each pair of branches below, the one-time filter on ``customer.is_account`` runs only one.
# ``customer`` is MATERIALIZED: inlined, each of the dozen uses of ``customer.id`` below became
# a sub-plan of its own finding the end of the merge chain again (PostgreSQL's CPU a statement
# 110-117 -> 97-103 us, the same answers).
_CUSTOMER_FACTS = """
WITH RECURSIVE chain (id, depth) AS (
    SELECT CAST(:id AS text), 0
    UNION ALL
    SELECT m.survivor_id, chain.depth + 1 FROM chain
    JOIN "{s}".merges m ON m.tenant_id = :tenant AND m.merged_id = chain.id
    WHERE chain.depth < {max_chain}
),
named AS (
    SELECT e.kind, e.data FROM "{s}".entities e
    WHERE e.tenant_id = :tenant AND e.kind IN ('contact', 'account')
    AND e.entity_id = (SELECT id FROM chain ORDER BY depth DESC LIMIT 1)
),
customer AS MATERIALIZED (
    SELECT (SELECT id FROM chain ORDER BY depth DESC LIMIT 1) AS id,
    EXISTS (SELECT 1 FROM named WHERE kind = 'account') AS is_account,
    EXISTS (SELECT 1 FROM named) AS has_row
)
SELECT customer.id AS current,
    (SELECT json_object_agg(kind, data) FROM named) AS named,
    customer.has_row OR {known} AS known,
    (SELECT json_agg(linked ORDER BY kind, updated_at DESC, entity_id) FROM (
        SELECT kind, entity_id, contact_id, account_id, data, updated_at, row_number()
            OVER (PARTITION BY kind ORDER BY updated_at DESC, entity_id) AS n
        FROM (
            SELECT * FROM "{s}".entities WHERE NOT customer.is_account
            AND tenant_id = :tenant AND contact_id = customer.id AND kind = ANY(:kinds)
            UNION ALL
            SELECT * FROM "{s}".entities WHERE customer.is_account
            AND tenant_id = :tenant AND account_id = customer.id AND kind = ANY(:kinds)
        ) AS candidates
    ) AS linked WHERE n <= :related_limit) AS related,
    (SELECT json_agg(members ORDER BY is_primary DESC, account_id, contact_id) FROM (
        SELECT m.account_id, m.contact_id, m.role, m.is_primary,
            a.data->>'name' AS account_name, p.data->>'lifecycle_stage' AS lifecycle_stage
        FROM (
            SELECT * FROM "{s}".memberships WHERE NOT customer.is_account
            AND tenant_id = :tenant AND contact_id = customer.id
            UNION ALL
            SELECT * FROM "{s}".memberships WHERE customer.is_account
            AND tenant_id = :tenant AND account_id = customer.id
        ) AS m
        LEFT JOIN "{s}".entities a ON a.tenant_id = m.tenant_id
            AND a.kind = 'account' AND a.entity_id = m.account_id
        LEFT JOIN "{s}".entities p ON p.tenant_id = m.tenant_id
            AND p.kind = 'contact' AND p.entity_id = m.contact_id
    ) AS members) AS members,
    (SELECT json_agg(c ORDER BY channel) FROM (
        SELECT channel, status, lawful_basis, source, at FROM "{s}".consents
        WHERE NOT customer.is_account AND tenant_id = :tenant AND contact_id = customer.id
    ) AS c) AS consents,
    (SELECT json_agg(t ORDER BY at DESC, event_id DESC) FROM (
        SELECT event_id, at, kind, entity_id, what, details FROM "{s}".timeline
        WHERE tenant_id = :tenant AND customer_id = customer.id
        ORDER BY at DESC, event_id DESC LIMIT :timeline_limit
    ) AS t) AS timeline
FROM customer
"""


async def customer_facts(
    reads: Reads,
    schema: str,
    tenant_id: str,
    customer_id: str,
    related_kinds: Sequence[str],
    related_limit: int,
    timeline_limit: int,
) -> CustomerFacts:
    """Everything the 360 view reads about ``customer_id`` (followed to its survivor), in one
    statement: one round trip and one snapshot, where a statement per part took six of each.
    At most ``related_limit`` linked records of each of ``related_kinds`` (the newest), and the
    newest ``timeline_limit`` entries of its timeline."""
    (row,) = await reads.fetch(
        _customer_facts_statement(schema),
        {
            "tenant": tenant_id,
            "id": customer_id,
            "kinds": list(related_kinds),
            "related_limit": related_limit,
            "timeline_limit": timeline_limit,
        },
    )
    related: dict[str, list[dict[str, Any]]] = {kind: [] for kind in related_kinds}
    for record in row["related"] or []:
        del record["n"]
        related[record["kind"]].append(record)
    return CustomerFacts(
        current=row["current"],
        named=row["named"] or {},
        known=row["known"],
        related=related,
        members=row["members"] or [],
        consents=[_with_time(c, "at") for c in row["consents"] or []],
        timeline=[_with_time(t, "at") for t in row["timeline"] or []],
    )


@lru_cache(maxsize=64)
def _customer_facts_statement(schema: str) -> str:
    """The statement for ``schema`` (a read model generation's), built once: formatting its
    text on every view cost 8.5 us of the view's ~850."""
    return _CUSTOMER_FACTS.format(
        s=schema, max_chain=MAX_MERGE_CHAIN, known=_known(schema, "customer.id")
    )


def _with_time(record: dict[str, Any], name: str) -> dict[str, Any]:
    """JSON carries a timestamp as text: back to the UTC datetime a column read gives."""
    record[name] = datetime.fromisoformat(record[name]).astimezone(UTC)
    return record


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
        f"SELECT {_known(schema, ':id')} AS known", {"tenant": tenant_id, "id": customer_id}
    )
    return bool(rows[0]["known"])


def _known(schema: str, customer: str) -> str:
    """Whether anything names the customer (the SQL expression ``customer``): its own row,
    or a record linked to it."""
    return (
        f'EXISTS (SELECT 1 FROM "{schema}".entities WHERE tenant_id = :tenant'
        f" AND (entity_id = {customer} AND kind IN ('contact', 'account')"
        f" OR contact_id = {customer} OR account_id = {customer}))"
    )
