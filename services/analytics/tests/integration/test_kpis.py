"""KPIs from the same read models: sales, pipeline, support and customers, as JSON and CSV."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_shared.contracts import sales as s

from .conftest import ADA, BOB, T0, Events, Topics, consume
from .test_customer_360 import CASE, DEAL, story

pytestmark = pytest.mark.integration
NOVEMBER = {"since": "2026-11-01T00:00:00Z", "until": "2026-12-01T00:00:00Z"}


async def test_the_kpis_count_what_happened(
    api: httpx.AsyncClient, engine: AsyncEngine, analytics_schema: str, topics: Topics
) -> None:
    events = Events()
    streams = story(events)
    open_deal = events(
        "sales",
        "o-open",
        s.OpportunityOpened(
            opportunity_id="o-open",
            pipeline_id="default",
            name="Manuals",
            stage_id="propose",
            probability=40,
            forecast_category="pipeline",
            amount=Decimal("1000"),
            currency="EUR",
            expected_close_date=T0.date() + timedelta(days=30),
            owner_id="user-bob",
        ),
    )
    everything = [*(e for stream in streams for e in stream), open_deal]
    await topics.publish(everything)
    await consume(engine, analytics_schema, topics, "analytics-kpis", len(everything))
    [deal_opened, *_, deal_won] = next(st for st in streams if st[0].partitionkey == DEAL)
    [case_opened, *_] = next(st for st in streams if st[0].partitionkey == CASE)

    sales = await api.get("/kpis/sales", params={**NOVEMBER, "group_by": "owner"}, headers=ADA)
    assert sales.status_code == 200, sales.text
    [row] = sales.json()["items"]
    cycle_days = round((deal_won.time - deal_opened.time).total_seconds() / 86400, 2)
    assert row == {
        "period": "2026-11-01T00:00:00Z",
        "owner": "user-ada",
        "currency": "EUR",
        "won": 1,
        "lost": 0,
        "win_rate": 1.0,
        "won_amount": "1200.50",
        "average_deal_size": "1200.50",
        "average_sales_cycle_days": cycle_days,
    }

    pipeline = (await api.get("/kpis/pipeline", headers=ADA)).json()["items"]
    assert pipeline == [
        {
            "pipeline_id": "default",
            "stage_id": "propose",
            "all": None,
            "currency": "EUR",
            "open": 1,
            "value": "1000",
            "weighted": "400.00",
        }
    ]

    support = (
        await api.get("/kpis/support", params={**NOVEMBER, "period": "month"}, headers=ADA)
    ).json()
    [cases] = support["items"]
    first_response = (T0 + timedelta(hours=1) - case_opened.time).total_seconds() / 60
    assert cases["opened"] == cases["resolved"] == 1
    assert cases["average_first_response_minutes"] == round(first_response, 2)
    assert cases["sla_compliance"] == 0.0  # its resolution breached
    assert (cases["satisfaction_answers"], cases["satisfaction_average"]) == (1, 4.0)

    customers = (await api.get("/kpis/customers", params=NOVEMBER, headers=ADA)).json()
    [month] = customers["items"]
    assert (month["contacts_created"], month["customers_gained"]) == (1, 0)

    as_csv = await api.get("/kpis/sales", params={**NOVEMBER, "format": "csv"}, headers=ADA)
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.text.splitlines()[0] == (
        "period,all,currency,won,lost,win_rate,won_amount,average_deal_size,"
        "average_sales_cycle_days"
    )
    assert as_csv.text.splitlines()[1].startswith("2026-11-01T00:00:00+00:00,,EUR,1,0,1.0,1200.50")

    assert (await api.get("/kpis/sales", params=NOVEMBER, headers=BOB)).json()["items"] == []


async def test_bad_report_parameters_name_the_field(api: httpx.AsyncClient) -> None:
    backwards = await api.get(
        "/kpis/sales",
        params={"since": NOVEMBER["until"], "until": NOVEMBER["since"]},
        headers=ADA,
    )
    assert backwards.status_code == 422
    assert backwards.json()["fields"][0]["field"] == "until"
    naive = await api.get(
        "/kpis/support",
        params={"since": "2026-11-01T00:00", "until": "2026-12-01T00:00"},
        headers=ADA,
    )
    assert naive.status_code == 422
    assert naive.json()["fields"][0]["field"] == "since"
    unknown = await api.get("/kpis/support", params={**NOVEMBER, "group_by": "planet"}, headers=ADA)
    assert unknown.status_code == 422
    assert unknown.json()["fields"][0]["field"] == "group_by"
