"""Leads over HTTP on the real database and broker: capture, routing, BANT, the public form,
and erasure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from .conftest import ADA, BOB

pytestmark = pytest.mark.integration

LEAD = {
    "first_name": "Grace",
    "last_name": "Hopper",
    "email": "grace@navy.mil",
    "company": "Navy",
    "country": "US",
}


async def teams_and_routing(api: httpx.AsyncClient) -> None:
    for team, members in (("dach", ["hans", "ute"]), ("inside", ["ann", "bob", "cat"])):
        answer = await api.put(
            f"/teams/{team}", json={"name": team, "members": members}, headers=ADA
        )
        assert answer.status_code == 200
    routing = await api.put(
        "/lead-routing",
        json={
            "rules": [
                {"country": "Germany", "team_id": "dach"},
                {"region": "Texas", "owner_id": "tex"},
            ],
            "default_team_id": "inside",
        },
        headers=ADA,
    )
    assert routing.status_code == 204, routing.text


async def captured(api: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    answer = await api.post("/leads", json={**LEAD, **overrides}, headers=ADA)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def test_leads_are_routed_by_territory_then_round_robin(api: httpx.AsyncClient) -> None:
    await teams_and_routing(api)
    german = await captured(api, country="DE")
    texan = await captured(api, region="Texas")
    others = [await captured(api, country="FR") for _ in range(4)]
    assert german["owner_id"] in {"hans", "ute"}
    assert german["team_id"] == "dach"
    assert texan["owner_id"] == "tex"
    assert [lead["owner_id"] for lead in others] == ["ann", "bob", "cat", "ann"]


async def test_a_lead_is_qualified_or_disqualified_with_bant(api: httpx.AsyncClient) -> None:
    lead = await captured(api)
    qualified = await api.post(
        f"/leads/{lead['id']}/qualify",
        json={
            "budget": "25000",
            "budget_currency": "USD",
            "authority": True,
            "need": "A CRM",
            "timing": "2027-03-01",
            "notes": "call after 5pm",
        },
        headers={**ADA, "If-Match": f'"{lead["version"]}"'},
    )
    assert qualified.status_code == 200, qualified.text
    body = qualified.json()
    assert body["status"] == "qualified"
    assert body["qualification"]["notes"] == "call after 5pm"
    other = await captured(api)
    bad = await api.post(
        f"/leads/{other['id']}/disqualify",
        json={"reason": "bored"},
        headers={**ADA, "If-Match": f'"{other["version"]}"'},
    )
    assert bad.status_code == 422
    done = await api.post(
        f"/leads/{other['id']}/disqualify",
        json={"reason": "no_budget", "explanation": "next year"},
        headers={**ADA, "If-Match": f'"{other["version"]}"'},
    )
    assert done.json()["disqualification"] == {"reason": "no_budget", "explanation": "next year"}
    again = await api.post(
        f"/leads/{other['id']}/assign",
        json={"owner_id": "zed"},
        headers={**ADA, "If-Match": done.headers["ETag"]},
    )
    assert again.status_code == 409
    assert (await api.get(f"/leads/{other['id']}", headers=BOB)).status_code == 404


async def test_bad_leads_are_a_422_naming_the_field(api: httpx.AsyncClient) -> None:
    answer = await api.post("/leads", json={"last_name": "X", "email": "nope"}, headers=ADA)
    assert answer.status_code == 422
    assert "email" in answer.text


async def test_the_public_form_takes_people_and_turns_bots_away(api: httpx.AsyncClient) -> None:
    assert (
        await api.put("/web-forms/contact-us", json={"name": "Contact us"}, headers=ADA)
    ).status_code == 204
    shown = (datetime.now(UTC) - timedelta(seconds=30)).isoformat()
    person = {"last_name": "Lamarr", "email": "hedy@example.org", "rendered_at": shown}

    accepted = await api.post("/public/web-forms/contact-us", json=person)
    assert accepted.status_code == 202
    page = (await api.get("/leads", params={"limit": 500}, headers=ADA)).json()
    assert [lead["source"] for lead in page["items"] if lead["last_name"] == "Lamarr"] == [
        "web_form:contact-us"
    ]

    bot = await api.post(
        "/public/web-forms/contact-us", json={**person, "last_name": "Bot", "website": "x"}
    )
    assert bot.status_code == 202  # told nothing...
    page = (await api.get("/leads", params={"limit": 500}, headers=ADA)).json()
    assert all(lead["last_name"] != "Bot" for lead in page["items"])  # ...and dropped

    hasty = {**person, "rendered_at": datetime.now(UTC).isoformat()}
    too_fast = await api.post("/public/web-forms/contact-us", json=hasty)
    assert too_fast.status_code == 422
    assert "rendered_at" in too_fast.text

    answers = [await api.post("/public/web-forms/contact-us", json=person) for _ in range(5)]
    assert answers[-1].status_code == 429
    assert (await api.post("/public/web-forms/nope", json=person)).status_code == 404


async def test_an_erased_lead_reveals_nobody(
    api: httpx.AsyncClient, engine: AsyncEngine, sales_schema: str
) -> None:
    lead = await captured(api, last_name="Lovelace-Erase", email="erase.me@example.org")
    erased = await api.post(f"/leads/{lead['id']}/erase", headers=ADA)
    assert erased.status_code == 200
    body = erased.json()
    assert (body["erased"], body["last_name"], body["email"]) == (True, None, None)
    assert body["company"] == "Navy"
    async with engine.connect() as connection:
        everything = await connection.scalar(
            text(
                f"SELECT string_agg(t::text, ' ') FROM (SELECT data FROM \"{sales_schema}\".events"
                f' UNION ALL SELECT details FROM "{sales_schema}".leads) t'
            )
        )
    assert "erase.me@example.org" not in everything
    assert "Lovelace-Erase" not in everything
