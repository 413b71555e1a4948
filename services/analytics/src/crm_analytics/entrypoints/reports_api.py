"""KPI reports over HTTP, as JSON or CSV (``format=csv``), with a period and filters."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse

from crm_analytics.adapters.kpis import Period
from crm_analytics.application.reports import Reports, Rows, as_csv
from crm_shared.http.requests import Who

Format = Literal["json", "csv"]
Since = Annotated[datetime, Query(description="Start of the range, inclusive (with offset)")]
Until = Annotated[datetime, Query(description="End of the range, exclusive (with offset)")]


def _answer(rows: Rows, form: Format, name: str) -> Any:
    if form == "csv":
        return PlainTextResponse(
            as_csv(rows),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return {"items": rows}


def reports_router(reports: Reports) -> APIRouter:
    router = APIRouter(prefix="/kpis", tags=["kpis"])

    @router.get("/sales")
    async def sales_kpis(
        who: Who,
        since: Since,
        until: Until,
        period: Period = "month",
        group_by: Literal["owner", "pipeline"] | None = None,
        format: Format = "json",
    ) -> Any:
        """Per period of closing and currency: won, lost, win rate, won amount, average deal
        size, average sales cycle in days."""
        rows = await reports.sales(who.tenant_id, period, since, until, group_by)
        return _answer(rows, format, "sales")

    @router.get("/pipeline")
    async def pipeline_kpis(
        who: Who,
        group_by: Literal["owner", "pipeline"] | None = None,
        format: Format = "json",
    ) -> Any:
        """Open opportunities now by pipeline, stage and currency: count, value, weighted."""
        return _answer(await reports.pipeline(who.tenant_id, group_by), format, "pipeline")

    @router.get("/support")
    async def support_kpis(
        who: Who,
        since: Since,
        until: Until,
        period: Period = "week",
        group_by: Literal["queue", "priority"] | None = None,
        format: Format = "json",
    ) -> Any:
        """Per period of opening: cases opened and resolved, average first response and
        resolution, SLA compliance, satisfaction (CSAT)."""
        rows = await reports.support(who.tenant_id, period, since, until, group_by)
        return _answer(rows, format, "support")

    @router.get("/customers")
    async def customer_kpis(
        who: Who,
        since: Since,
        until: Until,
        period: Period = "month",
        format: Format = "json",
    ) -> Any:
        """Per period: contacts created, leads converted, customers gained and lost."""
        rows = await reports.customers(who.tenant_id, period, since, until)
        return _answer(rows, format, "customers")

    return router
