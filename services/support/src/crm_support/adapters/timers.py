"""Durable SLA timers: every timer a case needs, kept with the case, fired exactly once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from crm_shared.sql import sql

CASE_LOCKS = 0x5C5E
"""Namespace of the per-case advisory locks (the second key is a hash of the case id)."""


async def lock_case(connection: AsyncConnection, case_id: str) -> None:
    """Hold the case until the transaction ends: every change of a case takes it first."""
    await connection.execute(
        sql(f"SELECT pg_advisory_xact_lock({CASE_LOCKS}, hashtext(:id))"), {"id": case_id}
    )


@dataclass(frozen=True)
class DueTimer:
    case_id: str
    kind: str
    tenant_id: str
    due_at: datetime


async def replace(
    connection: AsyncConnection,
    schema: str,
    tenant_id: str,
    case_id: str,
    timers: list[tuple[str, datetime]],
) -> None:
    """The case's unfired timers become ``timers``; one already fired is never set again."""
    await connection.execute(
        sql(f'DELETE FROM "{schema}".sla_timers WHERE case_id = :case AND fired_at IS NULL'),
        {"case": case_id},
    )
    if timers:
        await connection.execute(
            sql(
                f'INSERT INTO "{schema}".sla_timers (case_id, kind, tenant_id, due_at)'
                " VALUES (:case, :kind, :tenant, :due) ON CONFLICT DO NOTHING"
            ),
            [
                {"case": case_id, "kind": kind, "tenant": tenant_id, "due": due}
                for kind, due in timers
            ],
        )


async def claim_due(
    connection: AsyncConnection, schema: str, now: datetime, limit: int
) -> list[DueTimer]:
    """Due timers of cases no one else is changing, locked until the caller's transaction
    ends. The case lock (see ``lock_case``) keeps two replicas from firing two timers of one
    case at once, and a command on the case from waiting on a timer's rows while the timer
    waits on the command's append (a deadlock)."""
    result = await connection.execute(
        sql(
            f'SELECT case_id, kind, tenant_id, due_at FROM "{schema}".sla_timers'
            " WHERE fired_at IS NULL AND due_at <= :now"
            f" AND pg_try_advisory_xact_lock({CASE_LOCKS}, hashtext(case_id))"
            " ORDER BY due_at LIMIT :limit FOR UPDATE SKIP LOCKED"
        ),
        {"now": now, "limit": limit},
    )
    return [DueTimer(r.case_id, r.kind, r.tenant_id, r.due_at) for r in result]


async def mark_fired(
    connection: AsyncConnection, schema: str, timer: DueTimer, at: datetime
) -> None:
    await connection.execute(
        sql(
            f'UPDATE "{schema}".sla_timers SET fired_at = :at'
            " WHERE case_id = :case AND kind = :kind AND due_at = :due"
        ),
        {"at": at, "case": timer.case_id, "kind": timer.kind, "due": timer.due_at},
    )


async def next_due(connection: AsyncConnection, schema: str) -> datetime | None:
    found = await connection.scalar(
        sql(f'SELECT min(due_at) FROM "{schema}".sla_timers WHERE fired_at IS NULL')
    )
    return found if isinstance(found, datetime) else None


async def of_case(
    connection: AsyncConnection, schema: str, case_id: str
) -> list[dict[str, object]]:
    result = await connection.execute(
        sql(
            f'SELECT kind, due_at, fired_at FROM "{schema}".sla_timers'
            " WHERE case_id = :case ORDER BY due_at, kind"
        ),
        {"case": case_id},
    )
    return [dict(row._mapping) for row in result]
