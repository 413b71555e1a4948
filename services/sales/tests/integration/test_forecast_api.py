"""Forecasts: weighted pipeline and categories per owner or team, now or as of any moment."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from .conftest import ADA
from .test_opportunities_api import move, opened

pytestmark = pytest.mark.integration


def line(forecast: dict[str, Any], group: str) -> dict[str, Any]:
    [found] = [entry for entry in forecast["lines"] if entry["group"] == group]
    return found


async def test_a_forecast_weighs_open_deals_and_sums_categories_and_wins(
    api: httpx.AsyncClient,
) -> None:
    a = await opened(api, owner_id="ann", amount="1000")
    b = await opened(api, owner_id="ann", amount="200.10")
    await move(api, b, "negotiate", 1)  # commit, 80 %
    c = await opened(api, owner_id="ann", amount="50")
    await api.post(f"/opportunities/{c['id']}/won", json={}, headers={**ADA, "If-Match": '"1"'})
    await opened(api, owner_id="ben", amount="300", expected_close_date="2027-01-10")
    assert a["probability"] == 10

    forecast = (await api.get("/forecast", params={"period": "2026-Q4"}, headers=ADA)).json()

    ann = line(forecast, "ann")
    assert ann["open_count"] == 2
    assert Decimal(ann["pipeline"]) == Decimal("1200.10")
    assert Decimal(ann["weighted"]) == Decimal("100.00") + Decimal("160.08")
    assert Decimal(ann["commit"]) == Decimal("200.10")
    assert Decimal(ann["best_case"]) == Decimal("200.10")
    assert Decimal(ann["closed_won"]) == Decimal("50")
    assert [entry["group"] for entry in forecast["lines"]] == ["ann"]  # ben closes in 2027


async def test_a_forecast_as_of_a_past_moment_shows_the_deals_as_they_were(
    api: httpx.AsyncClient,
) -> None:
    deal = await opened(api, owner_id="cat", amount="1000")
    await asyncio.sleep(0.05)
    before = datetime.now(UTC)
    await asyncio.sleep(0.05)
    await move(api, deal, "negotiate", 1)

    then = await api.get(
        "/forecast", params={"period": "2026-12", "as_of": before.isoformat()}, headers=ADA
    )
    now = await api.get("/forecast", params={"period": "2026-12"}, headers=ADA)

    assert Decimal(line(then.json(), "cat")["weighted"]) == Decimal("100.00")
    assert Decimal(line(now.json(), "cat")["weighted"]) == Decimal("800.00")
    assert Decimal(line(then.json(), "cat")["commit"]) == 0


async def test_a_forecast_by_team_sums_its_members(api: httpx.AsyncClient) -> None:
    await opened(api, owner_id="dan", amount="10")
    await opened(api, owner_id="eve", amount="20")
    await opened(api, owner_id="fay", amount="40")
    team = await api.put(
        "/teams/north", json={"name": "North", "members": ["dan", "eve"]}, headers=ADA
    )
    assert team.status_code == 200
    forecast = (
        await api.get("/forecast", params={"period": "2026", "group_by": "team"}, headers=ADA)
    ).json()
    assert Decimal(line(forecast, "north")["pipeline"]) == Decimal("30")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"period": "2026-Q9"}, "period"),
        ({}, "period"),
        ({"closing_from": "2026-12-01", "closing_to": "2026-01-01"}, "closing_to"),
        ({"period": "2026", "as_of": "2026-11-01T00:00:00"}, "as_of"),
    ],
)
async def test_a_bad_forecast_request_names_the_field(
    api: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    response = await api.get("/forecast", params=params, headers=ADA)
    assert response.status_code == 422
    assert field in response.text
