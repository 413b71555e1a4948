"""The lead conversion saga's bookkeeping: which conversions are unfinished, and when to try
a waiting one again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from crm_shared.sql import sql

SETTLING = timedelta(seconds=5)
"""A conversion just started is left to the request that started it for this long."""


@dataclass(frozen=True)
class Retry:
    retries: int
    last_error: str
    next_attempt_at: datetime


async def get(connection: AsyncConnection, schema: str, lead_id: str) -> Retry | None:
    result = await connection.execute(
        sql(
            "SELECT retries, last_error, next_attempt_at"
            f' FROM "{schema}".lead_conversion_retries WHERE lead_id = :id'
        ),
        {"id": lead_id},
    )
    row = result.one_or_none()
    return Retry(row.retries, row.last_error, row.next_attempt_at) if row else None


async def due(
    connection: AsyncConnection, schema: str, now: datetime, limit: int
) -> list[tuple[str, str]]:
    """(tenant, lead) of the unfinished conversions to advance now, oldest first."""
    result = await connection.execute(
        sql(
            f'SELECT l.tenant_id, l.lead_id FROM "{schema}".leads l'
            f' LEFT JOIN "{schema}".lead_conversion_retries r ON r.lead_id = l.lead_id'
            " WHERE l.status = 'converting' AND l.updated_at <= :settled"
            " AND (r.next_attempt_at IS NULL OR r.next_attempt_at <= :now)"
            " ORDER BY l.updated_at LIMIT :limit"
        ),
        {"now": now, "settled": now - SETTLING, "limit": limit},
    )
    return [(row.tenant_id, row.lead_id) for row in result]


async def postpone(
    connection: AsyncConnection,
    schema: str,
    tenant_id: str,
    lead_id: str,
    error: str,
    delay: Callable[[int], timedelta],
) -> None:
    """One more failed try: the next waits ``delay(retries so far)``."""
    current = await get(connection, schema, lead_id)
    retries = current.retries if current else 0
    await connection.execute(
        sql(
            f'INSERT INTO "{schema}".lead_conversion_retries'
            " (lead_id, tenant_id, retries, last_error, next_attempt_at)"
            " VALUES (:id, :tenant, :retries, :error, :next)"
            " ON CONFLICT (lead_id) DO UPDATE SET retries = excluded.retries,"
            " last_error = excluded.last_error, next_attempt_at = excluded.next_attempt_at"
        ),
        {
            "id": lead_id,
            "tenant": tenant_id,
            "retries": retries + 1,
            "error": error[:2000],
            "next": datetime.now(UTC) + delay(retries),
        },
    )


async def forget(connection: AsyncConnection, schema: str, lead_id: str) -> None:
    await connection.execute(
        sql(f'DELETE FROM "{schema}".lead_conversion_retries WHERE lead_id = :id'),
        {"id": lead_id},
    )
