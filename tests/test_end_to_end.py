"""The whole platform as it runs: every service and the gateway as processes of their own, on
the real broker and database, tokens from the OIDC issuer. Through the gateway only: an
organisation and a contact; a lead qualified and converted (sales calls contacts with its own
token), its opportunity won; a case opened, resolved and rated through the public survey
link; then the 360 view shows all of it, the KPIs count it, and erasing the person removes
their data from the view."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from crm_devstack.issuer import DevIssuer
from crm_devstack.platform import platform_processes
from crm_devstack.stack import Endpoints

pytestmark = pytest.mark.integration


@pytest.fixture
def platform(
    stack: Endpoints, dev_issuer: DevIssuer, tmp_path: Path, unique_name: str
) -> Iterator[dict[str, str]]:
    """Every service started as ``./crm up`` does, on topics and schemas of this test's own."""
    quick = {"SALES_CONVERSION_INTERVAL_S": "0.5", "ANALYTICS_GENERATION_POLL_S": "0.5"}
    with platform_processes(stack, dev_issuer, tmp_path, unique_name, quick) as urls:
        yield urls


async def eventually(
    api: httpx.AsyncClient, path: str, headers: dict[str, str], done: Any, within_s: float = 60
) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        answer = await api.get(path, headers=headers)
        if answer.status_code == 200 and done(answer.json()):
            body: dict[str, Any] = answer.json()
            return body
        assert asyncio.get_running_loop().time() < deadline, f"{path}: {answer.text}"
        await asyncio.sleep(0.3)


def ok(answer: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_a_customer_from_first_contact_to_erasure_through_the_gateway(
    platform: dict[str, str], dev_issuer: DevIssuer, unique_name: str
) -> None:
    tenant = unique_name
    admin = {"Authorization": f"Bearer {dev_issuer.mint('ada', tenant, ['admin'])}"}
    sales = {"Authorization": f"Bearer {dev_issuer.mint('sam', tenant, ['sales'])}"}
    support = {"Authorization": f"Bearer {dev_issuer.mint('sue', tenant, ['support'])}"}
    analyst = {"Authorization": f"Bearer {dev_issuer.mint('ann', tenant, ['analyst'])}"}
    async with httpx.AsyncClient(base_url=platform["gateway"], timeout=30) as api:
        navy = ok(await api.post("/accounts", json={"name": "US Navy"}, headers=admin), 201)
        grace = ok(
            await api.post(
                "/contacts", json={"first_name": "Grace", "last_name": "Hopper"}, headers=sales
            ),
            201,
        )
        linked = await api.put(
            f"/accounts/{navy['id']}/contacts/{grace['id']}",
            json={"role": "Rear admiral"},
            headers=sales,
        )
        assert [p["contact_id"] for p in ok(linked)] == [grace["id"]]

        stages = [
            {"stage_id": "qualify", "name": "Qualify", "probability": 10},
            {"stage_id": "commit", "name": "Commit", "probability": 90},
        ]
        ok(await api.put("/pipelines/new", json={"name": "New", "stages": stages}, headers=admin))
        captured = await api.post(
            "/leads",
            json={
                "first_name": "Peter",
                "last_name": "Gibbons",
                "email": "peter@initech.example",
                "company": "Initech",
            },
            headers=sales,
        )
        lead = ok(captured, 201)
        assigned = await api.post(
            f"/leads/{lead['id']}/assign",
            json={"owner_id": "sam"},
            headers={**sales, "If-Match": captured.headers["ETag"]},
        )
        qualified = await api.post(
            f"/leads/{lead['id']}/qualify",
            json={"authority": True, "need": "TPS reports"},
            headers={**sales, "If-Match": ok(assigned) and assigned.headers["ETag"]},
        )
        converted = await api.post(
            f"/leads/{lead['id']}/convert",
            json={
                "pipeline_id": "new",
                "amount": "12000.00",
                "currency": "EUR",
                "expected_close_date": "2027-06-30",
            },
            headers={**sales, "If-Match": ok(qualified) and qualified.headers["ETag"]},
        )
        conversion = ok(converted, 201)
        peter, deal = conversion["contact_id"], conversion["opportunity_id"]
        opportunity = await api.get(f"/opportunities/{deal}", headers=sales)
        won = await api.post(
            f"/opportunities/{deal}/won",
            json={"reason": "best fit"},
            headers={**sales, "If-Match": opportunity.headers["ETag"]},
        )
        ok(won)

        opened = await api.post(
            "/cases",
            json={"subject": "TPS report cover sheets", "contact_id": peter},
            headers=support,
        )
        case = ok(opened, 201)
        etag = opened.headers["ETag"]
        for status in ("open", "resolved"):
            moved = await api.post(
                f"/cases/{case['id']}/status",
                json={"status": status},
                headers={**support, "If-Match": etag},
            )
            ok(moved)
            etag = moved.headers["ETag"]
        link = ok(await api.post(f"/cases/{case['id']}/survey-link", headers=support))
        survey_path = "/public/surveys/" + link["url"].rsplit("/public/surveys/", 1)[1]
        ok(await api.post(survey_path, json={"score": 5, "comment": "Great"}), 201)  # no token

        def complete(view: dict[str, Any]) -> bool:
            cases = view.get("cases", {}).get("closed", [])
            return bool(
                view.get("opportunities", {}).get("closed")
                and cases
                and cases[0].get("satisfaction") == 5
            )

        view = await eventually(api, f"/customers/{peter}/360", sales, complete)
        assert view["record"]["last_name"] == "Gibbons"
        [won_deal] = view["opportunities"]["closed"]
        assert (won_deal["status"], won_deal["amount"]) == ("won", "12000.00")
        [rated] = view["cases"]["closed"]
        assert (rated["status"], rated["satisfaction"]) == ("resolved", 5)
        assert [o["account_name"] for o in view["organisations"]] == ["Initech"]
        whats = [e["what"] for e in view["timeline"]["items"]]
        for expected in ("lead converted", "opportunity won", "case resolved"):
            assert expected in whats
        assert view["missing"] == []

        today = datetime.now(UTC).date()
        period = {
            "since": (today - timedelta(days=1)).isoformat() + "T00:00:00Z",
            "until": (today + timedelta(days=2)).isoformat() + "T00:00:00Z",
            "period": "month",
        }
        [won_kpi] = ok(await api.get("/kpis/sales", params=period, headers=analyst))["items"]
        assert (won_kpi["won"], won_kpi["won_amount"]) == (1, "12000.00")
        [case_kpi] = ok(await api.get("/kpis/support", params=period, headers=analyst))["items"]
        assert (case_kpi["opened"], case_kpi["resolved"]) == (1, 1)
        assert case_kpi["satisfaction_average"] == 5.0

        ok(await api.post(f"/contacts/{peter}/erase", json={}, headers=admin))
        erased = await eventually(
            api,
            f"/customers/{peter}/360",
            admin,
            lambda v: v.get("profile", {}).get("erased") is True,
        )
        assert "Gibbons" not in str(erased)
        assert "Peter" not in str(erased)
        [still_won] = erased["opportunities"]["closed"]
        assert still_won["amount"] == "12000.00"  # the non-personal facts stay
