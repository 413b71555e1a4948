"""The sales API on a real PostgreSQL: pipelines, opportunities, stage rules and history."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conftest import ADA, BOB, STAGES

pytestmark = pytest.mark.integration

DEAL = {
    "pipeline_id": "new",
    "name": "Acme renewal",
    "amount": "1250.50",
    "currency": "EUR",
    "expected_close_date": "2026-12-15",
    "owner_id": "user-1",
}


async def opened(api: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await api.post("/opportunities", json={**DEAL, **overrides}, headers=ADA)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def move(
    api: httpx.AsyncClient, deal: dict[str, Any], stage: str, version: int
) -> httpx.Response:
    return await api.post(
        f"/opportunities/{deal['id']}/stage",
        json={"stage_id": stage},
        headers={**ADA, "If-Match": f'"{version}"'},
    )


async def test_an_opportunity_opens_in_the_first_stage_with_exact_money(
    api: httpx.AsyncClient,
) -> None:
    response = await api.post("/opportunities", json=DEAL, headers=ADA)
    assert response.status_code == 201
    body = response.json()
    assert response.headers["ETag"] == '"1"'
    assert (body["stage_id"], body["probability"], body["status"]) == ("qualify", 10, "open")
    assert body["amount"] == "1250.5000"
    fetched = await api.get(f"/opportunities/{body['id']}", headers=ADA)
    assert fetched.json() == body


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"currency": "EURO"}, "currency"),
        ({"amount": "-5"}, "amount"),
        ({"stage_id": "nowhere"}, "stage_id"),
        ({"pipeline_id": "nope"}, "pipeline_id"),
        ({"owner_id": " "}, "owner_id"),
    ],
)
async def test_bad_input_is_a_422_naming_the_field(
    api: httpx.AsyncClient, overrides: dict[str, Any], field: str
) -> None:
    response = await api.post("/opportunities", json={**DEAL, **overrides}, headers=ADA)
    assert response.status_code == 422
    assert field in response.text


async def test_stage_moves_need_the_current_etag_and_closed_deals_do_not_move(
    api: httpx.AsyncClient,
) -> None:
    deal = await opened(api)
    assert (await move(api, deal, "propose", 1)).status_code == 200
    stale = await move(api, deal, "negotiate", 1)
    assert stale.status_code == 412
    assert stale.json()["actual_version"] == 2
    missing = await api.post(
        f"/opportunities/{deal['id']}/stage", json={"stage_id": "x"}, headers=ADA
    )
    assert missing.status_code == 428
    won = await api.post(
        f"/opportunities/{deal['id']}/won",
        json={"reason": "price"},
        headers={**ADA, "If-Match": '"2"'},
    )
    assert won.status_code == 200
    assert (won.json()["status"], won.json()["probability"]) == ("won", 100)
    assert (await move(api, deal, "qualify", 3)).status_code == 409
    lost = await api.post(
        f"/opportunities/{deal['id']}/lost",
        json={"reason": "x"},
        headers={**ADA, "If-Match": '"3"'},
    )
    assert lost.status_code == 409


async def test_the_stage_history_says_how_long_each_stage_lasted(api: httpx.AsyncClient) -> None:
    deal = await opened(api)
    await move(api, deal, "propose", 1)
    await move(api, deal, "qualify", 2)
    history = (await api.get(f"/opportunities/{deal['id']}/stages", headers=ADA)).json()
    assert [h["stage_id"] for h in history] == ["qualify", "propose", "qualify"]
    assert history[0]["left_at"] == history[1]["entered_at"]
    assert history[-1]["left_at"] is None
    assert all(h["seconds"] >= 0 for h in history)


async def test_a_lost_deal_keeps_its_reason_and_competitor(api: httpx.AsyncClient) -> None:
    deal = await opened(api)
    no_reason = await api.post(
        f"/opportunities/{deal['id']}/lost", json={"reason": ""}, headers={**ADA, "If-Match": '"1"'}
    )
    assert no_reason.status_code == 422
    lost = await api.post(
        f"/opportunities/{deal['id']}/lost",
        json={"reason": "price", "competitor": "Globex"},
        headers={**ADA, "If-Match": '"1"'},
    )
    assert (lost.json()["close_reason"], lost.json()["competitor"]) == ("price", "Globex")


async def test_lists_filter_and_page_with_a_cursor(api: httpx.AsyncClient) -> None:
    for index in range(5):
        await opened(api, owner_id="user-9", name=f"Deal {index}")
    await opened(api, owner_id="user-8")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"owner": "user-9", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await api.get("/opportunities", params=params, headers=ADA)).json()
        seen += [item["name"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == [f"Deal {i}" for i in range(5)]


async def test_pipelines_change_at_run_time_but_keep_stages_that_hold_deals(
    api: httpx.AsyncClient,
) -> None:
    deal = await opened(api)
    await move(api, deal, "propose", 1)
    current = await api.get("/pipelines/new", headers=ADA)
    version = current.headers["ETag"]
    without_propose = [s for s in STAGES if s["stage_id"] != "propose"]
    refused = await api.put(
        "/pipelines/new",
        json={"name": "New", "stages": without_propose},
        headers={**ADA, "If-Match": version},
    )
    assert refused.status_code == 409
    reweighted = [{**s, "probability": 20} if s["stage_id"] == "qualify" else s for s in STAGES]
    changed = await api.put(
        "/pipelines/new",
        json={"name": "New", "stages": reweighted},
        headers={**ADA, "If-Match": version},
    )
    assert changed.status_code == 200
    assert changed.json()["stages"][0]["probability"] == 20
    stale = await api.put(
        "/pipelines/new",
        json={"name": "Newer", "stages": STAGES},
        headers={**ADA, "If-Match": version},
    )
    assert stale.status_code == 412


async def test_other_tenants_see_nothing(api: httpx.AsyncClient) -> None:
    deal = await opened(api)
    assert (await api.get(f"/opportunities/{deal['id']}", headers=BOB)).status_code == 404
    assert (await api.get("/pipelines/new", headers=BOB)).status_code == 404
    foreign = await api.post("/opportunities", json=DEAL, headers=BOB)
    assert foreign.status_code == 422  # tenant B has no pipeline "new"
