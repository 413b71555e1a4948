"""KPI queries over the read models, per period (day, week, month) and an optional dimension.

Amounts are summed as ``numeric`` per currency (never converted, never float); durations are
averaged in seconds. Periods are truncated in UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncConnection

from crm_shared.sql import sql

Period = Literal["day", "week", "month"]

SALES_DIMENSIONS = {"owner": "data->>'owner_id'", "pipeline": "data->>'pipeline_id'"}
SUPPORT_DIMENSIONS = {"queue": "data->>'queue_id'", "priority": "data->>'priority'"}


def _dimension(expressions: dict[str, str], group_by: str | None) -> str:
    return expressions[group_by] if group_by else "NULL::text"


async def sales(
    connection: AsyncConnection,
    schema: str,
    tenant_id: str,
    period: Period,
    since: datetime,
    until: datetime,
    group_by: str | None,
) -> list[dict[str, Any]]:
    """Per period (of closing) and currency: won and lost counts, win rate, won amount,
    average deal size and average sales cycle (opened to won)."""
    dimension = _dimension(SALES_DIMENSIONS, group_by)
    result = await connection.execute(
        sql(
            f"SELECT date_trunc(:period, (data->>'closed_at')::timestamptz, 'UTC') AS period,"
            f" {dimension} AS dimension, data->>'currency' AS currency,"
            " count(*) FILTER (WHERE data->>'status' = 'won') AS won,"
            " count(*) FILTER (WHERE data->>'status' = 'lost') AS lost,"
            " coalesce(sum((data->>'amount')::numeric)"
            "  FILTER (WHERE data->>'status' = 'won'), 0) AS won_amount,"
            " avg(extract(epoch FROM (data->>'closed_at')::timestamptz"
            "  - (data->>'opened_at')::timestamptz))"
            "  FILTER (WHERE data->>'status' = 'won') AS cycle_s"
            f" FROM \"{schema}\".entities WHERE tenant_id = :tenant AND kind = 'opportunity'"
            " AND data->>'status' IN ('won', 'lost')"
            " AND (data->>'closed_at')::timestamptz >= :since"
            " AND (data->>'closed_at')::timestamptz < :until"
            " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
        ),
        {"period": period, "tenant": tenant_id, "since": since, "until": until},
    )
    rows = []
    for r in result:
        closed = r.won + r.lost
        rows.append(
            {
                "period": r.period,
                group_by or "all": r.dimension,
                "currency": r.currency,
                "won": r.won,
                "lost": r.lost,
                "win_rate": round(r.won / closed, 4) if closed else None,
                "won_amount": str(r.won_amount),
                "average_deal_size": str(round(r.won_amount / r.won, 2)) if r.won else None,
                "average_sales_cycle_days": (
                    round(float(r.cycle_s) / 86400, 2) if r.cycle_s is not None else None
                ),
            }
        )
    return rows


async def pipeline(
    connection: AsyncConnection, schema: str, tenant_id: str, group_by: str | None
) -> list[dict[str, Any]]:
    """Open opportunities now, by pipeline and stage and currency: count, value, weighted."""
    dimension = _dimension(SALES_DIMENSIONS, group_by)
    result = await connection.execute(
        sql(
            "SELECT data->>'pipeline_id' AS pipeline_id, data->>'stage_id' AS stage_id,"
            f" {dimension} AS dimension, data->>'currency' AS currency, count(*) AS open,"
            " sum((data->>'amount')::numeric) AS value,"
            " sum((data->>'amount')::numeric * (data->>'probability')::numeric / 100) AS weighted"
            f" FROM \"{schema}\".entities WHERE tenant_id = :tenant AND kind = 'opportunity'"
            " AND data->>'status' = 'open' GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
        ),
        {"tenant": tenant_id},
    )
    return [
        {
            "pipeline_id": r.pipeline_id,
            "stage_id": r.stage_id,
            group_by or "all": r.dimension,
            "currency": r.currency,
            "open": r.open,
            "value": str(r.value),
            "weighted": str(round(r.weighted, 2)),
        }
        for r in result
    ]


async def support(
    connection: AsyncConnection,
    schema: str,
    tenant_id: str,
    period: Period,
    since: datetime,
    until: datetime,
    group_by: str | None,
) -> list[dict[str, Any]]:
    """Per period (of opening): case volume, resolved, average first response and resolution
    times, SLA compliance (resolved cases with no breach) and satisfaction."""
    dimension = _dimension(SUPPORT_DIMENSIONS, group_by)
    result = await connection.execute(
        sql(
            f"SELECT date_trunc(:period, (data->>'opened_at')::timestamptz, 'UTC') AS period,"
            f" {dimension} AS dimension, count(*) AS opened,"
            " count(*) FILTER (WHERE data ? 'resolved_at') AS resolved,"
            " avg(extract(epoch FROM (data->>'first_response_at')::timestamptz"
            "  - (data->>'opened_at')::timestamptz)) AS first_response_s,"
            " avg(extract(epoch FROM (data->>'resolved_at')::timestamptz"
            "  - (data->>'opened_at')::timestamptz)) AS resolution_s,"
            " count(*) FILTER (WHERE data ? 'resolved_at' AND"
            "  'breached' NOT IN (coalesce(data->>'sla_first_response', ''),"
            "  coalesce(data->>'sla_resolution', ''))) AS resolved_within_sla,"
            " count(data->'satisfaction') AS answers,"
            " avg((data->>'satisfaction')::numeric) AS satisfaction"
            f" FROM \"{schema}\".entities WHERE tenant_id = :tenant AND kind = 'case'"
            " AND (data->>'opened_at')::timestamptz >= :since"
            " AND (data->>'opened_at')::timestamptz < :until"
            " GROUP BY 1, 2 ORDER BY 1, 2"
        ),
        {"period": period, "tenant": tenant_id, "since": since, "until": until},
    )
    return [
        {
            "period": r.period,
            group_by or "all": r.dimension,
            "opened": r.opened,
            "resolved": r.resolved,
            "average_first_response_minutes": _minutes(r.first_response_s),
            "average_resolution_hours": (
                round(float(r.resolution_s) / 3600, 2) if r.resolution_s is not None else None
            ),
            "sla_compliance": round(r.resolved_within_sla / r.resolved, 4) if r.resolved else None,
            "satisfaction_answers": r.answers,
            "satisfaction_average": (
                round(float(r.satisfaction), 2) if r.satisfaction is not None else None
            ),
        }
        for r in result
    ]


async def customers(
    connection: AsyncConnection,
    schema: str,
    tenant_id: str,
    period: Period,
    since: datetime,
    until: datetime,
) -> list[dict[str, Any]]:
    """Per period: contacts created, leads converted, customers gained (a contact whose stage
    became customer) and lost (a customer archived or moved to another stage)."""
    result = await connection.execute(
        sql(
            "SELECT date_trunc(:period, at, 'UTC') AS period,"
            " count(*) FILTER (WHERE what = 'contact created') AS contacts_created,"
            " count(*) FILTER (WHERE what = 'lead converted') AS leads_converted,"
            " count(*) FILTER (WHERE what IN ('contact created', 'contact updated')"
            "  AND details->>'stage' = 'customer') AS customers_gained,"
            " count(*) FILTER (WHERE what = 'contact updated' AND details ? 'stage'"
            "  AND details->>'stage' <> 'customer' AND details->>'was' = 'customer')"
            "  AS customers_lost"
            f" FROM \"{schema}\".timeline WHERE tenant_id = :tenant AND kind = 'contact'"
            " AND customer_id = entity_id AND at >= :since AND at < :until"
            " GROUP BY 1 ORDER BY 1"
        ),
        {"period": period, "tenant": tenant_id, "since": since, "until": until},
    )
    return [dict(r._mapping) for r in result]


def _minutes(seconds: Any) -> float | None:
    return round(float(seconds) / 60, 2) if seconds is not None else None
