"""Idempotency keys of creating requests, kept in the transaction that creates."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from crm_shared.errors import PlatformError
from crm_shared.sql import sql


class AlreadyCreated(Exception):
    """The key was used before: ``resource_id`` is what that request created."""

    def __init__(self, resource_id: str) -> None:
        super().__init__(resource_id)
        self.resource_id = resource_id


class InvalidIdempotencyKey(PlatformError):
    status_code = 422
    code = "validation_failed"


async def check_unused(
    connection: AsyncConnection, schema: str, tenant_id: str, key: str | None
) -> None:
    """Raise ``AlreadyCreated`` when ``key`` was used by an earlier request."""
    if key is None:
        return
    if not 1 <= len(key) <= 200:
        raise InvalidIdempotencyKey(
            "Idempotency-Key: 1 to 200 characters",
            fields=[{"field": "Idempotency-Key", "reason": "1 to 200 characters"}],
        )
    found = await connection.scalar(
        sql(
            f'SELECT resource_id FROM "{schema}".idempotency_keys'
            " WHERE tenant_id = :tenant AND key = :key"
        ),
        {"tenant": tenant_id, "key": key},
    )
    if found is not None:
        raise AlreadyCreated(str(found))


async def remember(
    connection: AsyncConnection, schema: str, tenant_id: str, key: str | None, resource_id: str
) -> None:
    """Tie ``key`` to what this request created; a concurrent request with the same key that
    got there first wins (``AlreadyCreated``: the caller's transaction rolls back)."""
    if key is None:
        return
    taken = await connection.scalar(
        sql(
            f'INSERT INTO "{schema}".idempotency_keys (tenant_id, key, resource_id)'
            " VALUES (:tenant, :key, :id) ON CONFLICT DO NOTHING RETURNING resource_id"
        ),
        {"tenant": tenant_id, "key": key, "id": resource_id},
    )
    if taken is None:
        winner = await connection.scalar(
            sql(
                f'SELECT resource_id FROM "{schema}".idempotency_keys'
                " WHERE tenant_id = :tenant AND key = :key"
            ),
            {"tenant": tenant_id, "key": key},
        )
        raise AlreadyCreated(str(winner))
