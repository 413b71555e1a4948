"""KPI reports: the figures of each department over a time range, as rows for JSON or CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crm_analytics.adapters import kpis
from crm_analytics.application.generations import LiveGeneration
from crm_shared.errors import InvalidValue

Rows = list[dict[str, Any]]


class Reports:
    def __init__(self, engine: AsyncEngine, live: LiveGeneration) -> None:
        self.engine = engine
        self.live = live

    @property
    def schema(self) -> str:
        return self.live.schema

    async def _run(self, query: Callable[[AsyncConnection], Awaitable[Rows]]) -> Rows:
        async with self.engine.connect() as connection:
            return await query(connection)

    async def sales(
        self,
        tenant_id: str,
        period: kpis.Period,
        since: datetime,
        until: datetime,
        group_by: str | None,
    ) -> Rows:
        _check_range(since, until)
        _check_dimension(group_by, kpis.SALES_DIMENSIONS)
        return await self._run(
            lambda c: kpis.sales(c, self.schema, tenant_id, period, since, until, group_by)
        )

    async def pipeline(self, tenant_id: str, group_by: str | None) -> Rows:
        _check_dimension(group_by, kpis.SALES_DIMENSIONS)
        return await self._run(lambda c: kpis.pipeline(c, self.schema, tenant_id, group_by))

    async def support(
        self,
        tenant_id: str,
        period: kpis.Period,
        since: datetime,
        until: datetime,
        group_by: str | None,
    ) -> Rows:
        _check_range(since, until)
        _check_dimension(group_by, kpis.SUPPORT_DIMENSIONS)
        return await self._run(
            lambda c: kpis.support(c, self.schema, tenant_id, period, since, until, group_by)
        )

    async def customers(
        self, tenant_id: str, period: kpis.Period, since: datetime, until: datetime
    ) -> Rows:
        _check_range(since, until)
        return await self._run(
            lambda c: kpis.customers(c, self.schema, tenant_id, period, since, until)
        )


def _check_range(since: datetime, until: datetime) -> None:
    if since.tzinfo is None or until.tzinfo is None:
        raise InvalidValue("since", "give times with their offset, e.g. 2026-11-01T00:00:00Z")
    if since >= until:
        raise InvalidValue("until", "must be after since")


def _check_dimension(group_by: str | None, allowed: dict[str, str]) -> None:
    if group_by is not None and group_by not in allowed:
        raise InvalidValue("group_by", f"one of {', '.join(sorted(allowed))}")


def as_csv(rows: Rows) -> str:
    """One header line of the rows' keys, then one line per row (times in ISO 8601)."""
    if not rows:
        return ""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}
        )
    return out.getvalue()
