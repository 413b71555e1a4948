"""The support tables: cases and their thread, queues, the SLA policy, mailboxes, articles."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from crm_shared.contracts.support import ArticlePublished, QueueDefined, SlaPolicyDefined
from crm_shared.sql import sql
from crm_support.domain.case import ERASED_WORDS, Case


async def next_case_number(connection: AsyncConnection, schema: str, tenant_id: str) -> int:
    number = await connection.scalar(
        sql(
            f'INSERT INTO "{schema}".case_numbers (tenant_id, last) VALUES (:tenant, 1)'
            " ON CONFLICT (tenant_id) DO UPDATE SET last = case_numbers.last + 1 RETURNING last"
        ),
        {"tenant": tenant_id},
    )
    return int(number)


async def save_case(
    connection: AsyncConnection, schema: str, tenant_id: str, case: Case, at: datetime
) -> None:
    state = case.state
    details = {
        **state,
        **(ERASED_WORDS if case.erased else {}),
        "clocks": [c.model_dump(mode="json") for c in case.clocks.values()],
    }
    await connection.execute(
        sql(
            f'INSERT INTO "{schema}".cases (case_id, tenant_id, number, version, status,'
            " priority, tier, channel, category, queue_id, assignee_id, contact_id, account_id,"
            " details, erased, created_at, updated_at) VALUES (:id, :tenant, :number, :version,"
            " :status, :priority, :tier, :channel, :category, :queue, :assignee, :contact,"
            " :account, CAST(:details AS jsonb), :erased, :at, :at)"
            " ON CONFLICT (case_id) DO UPDATE SET version = excluded.version,"
            " status = excluded.status, priority = excluded.priority,"
            " queue_id = excluded.queue_id, assignee_id = excluded.assignee_id,"
            " contact_id = excluded.contact_id, details = excluded.details,"
            " erased = excluded.erased, updated_at = excluded.updated_at"
        ),
        {
            "id": case.case_id,
            "tenant": tenant_id,
            "number": state["number"],
            "version": case.version,
            "status": case.status,
            "priority": state["priority"],
            "tier": state["tier"],
            "channel": state["channel"],
            "category": state.get("category"),
            "queue": state.get("queue_id"),
            "assignee": state.get("assignee_id"),
            "contact": state.get("contact_id"),
            "account": state.get("account_id"),
            "details": json.dumps(details, default=str),
            "erased": case.erased,
            "at": at,
        },
    )
    if case.erased:
        await connection.execute(
            sql(f'UPDATE "{schema}".interactions SET body = NULL WHERE case_id = :id'),
            {"id": case.case_id},
        )


async def save_interaction(
    connection: AsyncConnection,
    schema: str,
    tenant_id: str,
    case_id: str,
    interaction: dict[str, Any],
) -> None:
    await connection.execute(
        sql(
            f'INSERT INTO "{schema}".interactions (interaction_id, case_id, tenant_id, at,'
            " visibility, author, author_id, channel, body, attachments, message_id)"
            " VALUES (:id, :case, :tenant, :at, :visibility, :author, :author_id, :channel,"
            " :body, CAST(:attachments AS jsonb), :message_id)"
        ),
        {
            "id": interaction["interaction_id"],
            "case": case_id,
            "tenant": tenant_id,
            "at": interaction["at"],
            "visibility": interaction["visibility"],
            "author": interaction["author"],
            "author_id": interaction["author_id"],
            "channel": interaction["channel"],
            "body": interaction["body"],
            "attachments": json.dumps(interaction["attachments"]),
            "message_id": interaction.get("message_id"),
        },
    )


async def get_case(
    connection: AsyncConnection, schema: str, tenant_id: str, case_id: str
) -> dict[str, Any] | None:
    result = await connection.execute(
        sql(
            "SELECT case_id, number, version, status, details, erased, created_at, updated_at"
            f' FROM "{schema}".cases WHERE tenant_id = :tenant AND case_id = :id'
        ),
        {"tenant": tenant_id, "id": case_id},
    )
    row = result.one_or_none()
    return dict(row._mapping) if row else None


async def case_id_by_number(
    connection: AsyncConnection, schema: str, tenant_id: str, number: int
) -> str | None:
    found = await connection.scalar(
        sql(f'SELECT case_id FROM "{schema}".cases WHERE tenant_id = :tenant AND number = :n'),
        {"tenant": tenant_id, "n": number},
    )
    return str(found) if found else None


async def case_id_by_message(
    connection: AsyncConnection, schema: str, tenant_id: str, message_ids: tuple[str, ...]
) -> str | None:
    if not message_ids:
        return None
    found = await connection.scalar(
        sql(
            f'SELECT case_id FROM "{schema}".interactions'
            " WHERE tenant_id = :tenant AND message_id = ANY(:ids) ORDER BY at DESC LIMIT 1"
        ),
        {"tenant": tenant_id, "ids": list(message_ids)},
    )
    return str(found) if found else None


async def message_seen(
    connection: AsyncConnection, schema: str, tenant_id: str, message_id: str | None
) -> bool:
    if message_id is None:
        return False
    found = await connection.scalar(
        sql(
            f'SELECT 1 FROM "{schema}".interactions WHERE tenant_id = :tenant AND message_id = :id'
        ),
        {"tenant": tenant_id, "id": message_id},
    )
    return found is not None


async def thread(
    connection: AsyncConnection, schema: str, tenant_id: str, case_id: str, internal: bool
) -> list[dict[str, Any]]:
    result = await connection.execute(
        sql(
            "SELECT interaction_id, at, visibility, author, author_id, channel, body,"
            f' attachments, message_id FROM "{schema}".interactions'
            " WHERE tenant_id = :tenant AND case_id = :case"
            " AND (:internal OR visibility = 'public') ORDER BY at, interaction_id"
        ),
        {"tenant": tenant_id, "case": case_id, "internal": internal},
    )
    return [dict(row._mapping) for row in result]


async def page_cases(
    connection: AsyncConnection,
    schema: str,
    tenant_id: str,
    filters: dict[str, Any],
    limit: int,
    after: tuple[datetime, str] | None,
) -> list[dict[str, Any]]:
    where = ["tenant_id = :tenant"]
    params: dict[str, Any] = {"tenant": tenant_id, "limit": limit}
    for column in ("status", "priority", "queue_id", "assignee_id", "contact_id", "account_id"):
        if filters.get(column) is not None:
            where.append(f"{column} = :{column}")
            params[column] = filters[column]
    if filters.get("breached"):
        where.append('details @> \'{"clocks": [{"breached": true}]}\'::jsonb')
    if after is not None:
        where.append("(updated_at, case_id) < (:after_at, :after_id)")
        params.update(after_at=after[0], after_id=after[1])
    result = await connection.execute(
        sql(
            "SELECT case_id, number, version, status, details, erased, created_at, updated_at"
            f' FROM "{schema}".cases WHERE {" AND ".join(where)}'
            " ORDER BY updated_at DESC, case_id DESC LIMIT :limit"
        ),
        params,
    )
    return [dict(row._mapping) for row in result]


async def case_ids_of_contacts(
    connection: AsyncConnection, schema: str, tenant_id: str, contact_ids: list[str]
) -> list[str]:
    result = await connection.execute(
        sql(
            f'SELECT case_id FROM "{schema}".cases'
            " WHERE tenant_id = :tenant AND contact_id = ANY(:ids)"
        ),
        {"tenant": tenant_id, "ids": contact_ids},
    )
    return [row.case_id for row in result]


async def save_queue(
    connection: AsyncConnection, schema: str, queue: QueueDefined, version: int
) -> None:
    await connection.execute(
        sql(
            f'INSERT INTO "{schema}".queues (queue_id, tenant_id, version, definition)'
            " VALUES (:id, :tenant, :version, CAST(:definition AS jsonb))"
            " ON CONFLICT (tenant_id, queue_id) DO UPDATE SET version = excluded.version,"
            " definition = excluded.definition"
        ),
        {
            "id": queue.queue_id,
            "tenant": queue.tenant_id,
            "version": version,
            "definition": queue.model_dump_json(),
        },
    )


async def queues(
    connection: AsyncConnection, schema: str, tenant_id: str
) -> dict[str, tuple[QueueDefined, int]]:
    result = await connection.execute(
        sql(
            f'SELECT queue_id, version, definition FROM "{schema}".queues'
            " WHERE tenant_id = :tenant ORDER BY queue_id"
        ),
        {"tenant": tenant_id},
    )
    return {
        row.queue_id: (QueueDefined.model_validate(row.definition), row.version) for row in result
    }


async def take_turn(connection: AsyncConnection, schema: str, tenant_id: str, queue_id: str) -> int:
    """The queue's round-robin position, moved on by one (the row is locked till commit)."""
    turn = await connection.scalar(
        sql(
            f'UPDATE "{schema}".queues SET turn = turn + 1'
            " WHERE tenant_id = :tenant AND queue_id = :id RETURNING turn - 1"
        ),
        {"tenant": tenant_id, "id": queue_id},
    )
    return int(turn or 0)


async def open_cases_per_assignee(
    connection: AsyncConnection, schema: str, tenant_id: str, users: list[str]
) -> dict[str, int]:
    result = await connection.execute(
        sql(
            f'SELECT assignee_id, count(*) AS open FROM "{schema}".cases'
            " WHERE tenant_id = :tenant AND assignee_id = ANY(:users)"
            " AND status NOT IN ('resolved', 'closed') GROUP BY assignee_id"
        ),
        {"tenant": tenant_id, "users": users},
    )
    return {row.assignee_id: row.open for row in result}


async def save_policy(
    connection: AsyncConnection, schema: str, policy: SlaPolicyDefined, version: int
) -> None:
    await connection.execute(
        sql(
            f'INSERT INTO "{schema}".sla_policies (tenant_id, version, definition)'
            " VALUES (:tenant, :version, CAST(:definition AS jsonb))"
            " ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version,"
            " definition = excluded.definition"
        ),
        {"tenant": policy.tenant_id, "version": version, "definition": policy.model_dump_json()},
    )


async def policy(
    connection: AsyncConnection, schema: str, tenant_id: str
) -> tuple[SlaPolicyDefined | None, int]:
    result = await connection.execute(
        sql(f'SELECT version, definition FROM "{schema}".sla_policies WHERE tenant_id = :t'),
        {"t": tenant_id},
    )
    row = result.one_or_none()
    if row is None:
        return None, 0
    return SlaPolicyDefined.model_validate(row.definition), row.version


async def save_mailbox(
    connection: AsyncConnection, schema: str, tenant_id: str, address: str, settings: dict[str, Any]
) -> None:
    await connection.execute(
        sql(
            f'INSERT INTO "{schema}".mailboxes (address, tenant_id, queue_id, priority, category)'
            " VALUES (:address, :tenant, :queue, :priority, :category)"
            " ON CONFLICT (address) DO UPDATE SET queue_id = excluded.queue_id,"
            " priority = excluded.priority, category = excluded.category"
            " WHERE mailboxes.tenant_id = excluded.tenant_id"
        ),
        {
            "address": address,
            "tenant": tenant_id,
            "queue": settings.get("queue_id"),
            "priority": settings.get("priority") or "normal",
            "category": settings.get("category"),
        },
    )


async def mailbox(
    connection: AsyncConnection, schema: str, addresses: list[str]
) -> dict[str, Any] | None:
    result = await connection.execute(
        sql(
            "SELECT address, tenant_id, queue_id, priority, category"
            f' FROM "{schema}".mailboxes WHERE address = ANY(:addresses) LIMIT 1'
        ),
        {"addresses": addresses},
    )
    row = result.one_or_none()
    return dict(row._mapping) if row else None


async def save_article(
    connection: AsyncConnection,
    schema: str,
    tenant_id: str,
    article: ArticlePublished,
    at: datetime,
) -> None:
    await connection.execute(
        sql(
            f'INSERT INTO "{schema}".articles (article_id, tenant_id, version, title, body,'
            " tags, updated_at) VALUES (:id, :tenant, :version, :title, :body, :tags, :at)"
            " ON CONFLICT (tenant_id, article_id) DO UPDATE SET version = excluded.version,"
            " title = excluded.title, body = excluded.body, tags = excluded.tags,"
            " updated_at = excluded.updated_at"
        ),
        {
            "id": article.article_id,
            "tenant": tenant_id,
            "version": article.version,
            "title": article.title,
            "body": article.body,
            "tags": article.tags,
            "at": at,
        },
    )


async def get_article(
    connection: AsyncConnection, schema: str, tenant_id: str, article_id: str
) -> dict[str, Any] | None:
    result = await connection.execute(
        sql(
            "SELECT article_id, version, title, body, tags, updated_at"
            f' FROM "{schema}".articles WHERE tenant_id = :tenant AND article_id = :id'
        ),
        {"tenant": tenant_id, "id": article_id},
    )
    row = result.one_or_none()
    return dict(row._mapping) if row else None


async def search_articles(
    connection: AsyncConnection, schema: str, tenant_id: str, text: str, limit: int
) -> list[dict[str, Any]]:
    result = await connection.execute(
        sql(
            "SELECT article_id, version, title, body, tags, updated_at,"
            " ts_rank(search, query) AS rank"
            f" FROM \"{schema}\".articles, websearch_to_tsquery('english', :text) query"
            " WHERE tenant_id = :tenant AND search @@ query"
            " ORDER BY rank DESC, article_id LIMIT :limit"
        ),
        {"tenant": tenant_id, "text": text, "limit": limit},
    )
    return [dict(row._mapping) for row in result]


async def link_article(
    connection: AsyncConnection, schema: str, tenant_id: str, article_id: str, case_id: str
) -> bool:
    result = await connection.execute(
        sql(
            f'INSERT INTO "{schema}".article_cases (article_id, case_id, tenant_id)'
            " VALUES (:article, :case, :tenant) ON CONFLICT DO NOTHING"
        ),
        {"article": article_id, "case": case_id, "tenant": tenant_id},
    )
    return bool(result.rowcount)


async def cases_of_article(
    connection: AsyncConnection, schema: str, tenant_id: str, article_id: str
) -> list[str]:
    result = await connection.execute(
        sql(
            f'SELECT case_id FROM "{schema}".article_cases'
            " WHERE tenant_id = :tenant AND article_id = :id ORDER BY case_id"
        ),
        {"tenant": tenant_id, "id": article_id},
    )
    return [row.case_id for row in result]
