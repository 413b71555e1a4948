"""The activities table (calendars, due tasks) and calendar feed tokens."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from crm_sales.domain.activity import ERASED_WORDS, Activity
from crm_shared.sql import sql


async def save_activity(
    connection: AsyncConnection, schema: str, tenant_id: str, activity: Activity, at: datetime
) -> None:
    state = activity.state
    related = state["related"]
    starts_at = state.get("due_at") or state.get("starts_at") or state.get("at")
    ends_at = state.get("ends_at")
    if activity.kind == "call":
        ends_at = state["at"] + timedelta(minutes=max(1, state["duration_minutes"]))
    words = ERASED_WORDS if activity.erased else {k: state.get(k) for k in ERASED_WORDS}
    await connection.execute(
        sql(
            f'INSERT INTO "{schema}".activities (activity_id, tenant_id, version, kind, status,'
            " owner_id, attendees, contact_id, account_id, lead_id, opportunity_id, starts_at,"
            " ends_at, time_zone, reminder_at, reminded, overdue, details, erased, updated_at)"
            " VALUES (:id, :tenant, :version, :kind, :status, :owner, :attendees, :contact,"
            " :account, :lead, :opportunity, :starts, :ends, :zone, :reminder, :reminded,"
            " :overdue, CAST(:details AS jsonb), :erased, :at)"
            " ON CONFLICT (activity_id) DO UPDATE SET version = excluded.version,"
            " status = excluded.status, reminded = excluded.reminded,"
            " overdue = excluded.overdue, details = excluded.details,"
            " erased = excluded.erased, updated_at = excluded.updated_at"
        ),
        {
            "id": activity.activity_id,
            "tenant": tenant_id,
            "version": activity.version,
            "kind": activity.kind,
            "status": activity.status,
            "owner": state["owner_id"],
            "attendees": state.get("attendees") or [state["owner_id"]],
            "contact": related.get("contact_id"),
            "account": related.get("account_id"),
            "lead": related.get("lead_id"),
            "opportunity": related.get("opportunity_id"),
            "starts": starts_at,
            "ends": ends_at,
            "zone": state.get("time_zone"),
            "reminder": state.get("reminder_at"),
            "reminded": bool(state.get("reminded")),
            "overdue": bool(state.get("overdue")),
            "details": json.dumps({**words, "related": related}, default=str),
            "erased": activity.erased,
            "at": at,
        },
    )


_COLUMNS = (
    "activity_id, version, kind, status, owner_id, attendees, contact_id, account_id, lead_id,"
    " opportunity_id, starts_at, ends_at, time_zone, reminder_at, overdue, details, erased"
)


async def get_activity(
    connection: AsyncConnection, schema: str, tenant_id: str, activity_id: str
) -> dict[str, Any] | None:
    result = await connection.execute(
        sql(
            f'SELECT {_COLUMNS} FROM "{schema}".activities'
            " WHERE tenant_id = :tenant AND activity_id = :id"
        ),
        {"tenant": tenant_id, "id": activity_id},
    )
    row = result.one_or_none()
    return dict(row._mapping) if row else None


async def calendar(
    connection: AsyncConnection,
    schema: str,
    tenant_id: str,
    users: list[str],
    start: datetime,
    end: datetime,
) -> list[dict[str, Any]]:
    """Everything on these users' calendars that overlaps [start, end), cancelled excluded."""
    result = await connection.execute(
        sql(
            f'SELECT {_COLUMNS} FROM "{schema}".activities WHERE tenant_id = :tenant'
            " AND attendees && CAST(:users AS text[]) AND status <> 'cancelled'"
            " AND starts_at < :end AND coalesce(ends_at, starts_at) >= :start"
            " ORDER BY starts_at, activity_id"
        ),
        {"tenant": tenant_id, "users": users, "start": start, "end": end},
    )
    return [dict(row._mapping) for row in result]


async def tasks_needing_attention(
    connection: AsyncConnection, schema: str, now: datetime, limit: int
) -> list[tuple[str, str]]:
    """(tenant, task id) of open tasks past their reminder or due time, not yet marked."""
    result = await connection.execute(
        sql(
            f'SELECT tenant_id, activity_id FROM "{schema}".activities'
            " WHERE kind = 'task' AND status = 'open' AND ("
            " (NOT overdue AND starts_at <= :now)"
            " OR (NOT reminded AND reminder_at <= :now)) ORDER BY starts_at LIMIT :limit"
        ),
        {"now": now, "limit": limit},
    )
    return [(row.tenant_id, row.activity_id) for row in result]


async def activity_ids_about_contacts(
    connection: AsyncConnection, schema: str, tenant_id: str, contact_ids: list[str]
) -> list[str]:
    result = await connection.execute(
        sql(
            f'SELECT activity_id FROM "{schema}".activities WHERE tenant_id = :tenant'
            " AND contact_id = ANY(:ids) AND NOT erased ORDER BY activity_id"
        ),
        {"tenant": tenant_id, "ids": contact_ids},
    )
    return [row.activity_id for row in result]


async def save_feed(
    connection: AsyncConnection,
    schema: str,
    token_hash: str,
    tenant_id: str,
    user_id: str | None,
    team_id: str | None,
) -> None:
    await connection.execute(
        sql(
            f'INSERT INTO "{schema}".calendar_feeds (token_hash, tenant_id, user_id, team_id)'
            " VALUES (:hash, :tenant, :user, :team)"
        ),
        {"hash": token_hash, "tenant": tenant_id, "user": user_id, "team": team_id},
    )


async def feed(
    connection: AsyncConnection, schema: str, token_hash: str
) -> tuple[str, str | None, str | None] | None:
    result = await connection.execute(
        sql(
            f'SELECT tenant_id, user_id, team_id FROM "{schema}".calendar_feeds'
            " WHERE token_hash = :hash"
        ),
        {"hash": token_hash},
    )
    row = result.one_or_none()
    return (row.tenant_id, row.user_id, row.team_id) if row else None
