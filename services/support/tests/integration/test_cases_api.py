"""The cases API on a real PostgreSQL: opening and routing, the life cycle with optimistic
concurrency, the thread, filters, history, tenants apart."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conftest import ADA, BOB

pytestmark = pytest.mark.integration

POLICY = {
    "calendar": {"time_zone": "UTC", "hours": []},
    "rules": [
        {
            "priority": "normal",
            "tier": "standard",
            "first_response_minutes": 60,
            "resolution_minutes": 480,
            "warn_before_minutes": 15,
        },
        {
            "priority": "high",
            "tier": "standard",
            "first_response_minutes": 30,
            "resolution_minutes": 240,
            "warn_before_minutes": 10,
        },
    ],
}


async def setup(api: httpx.AsyncClient, strategy: str = "round_robin") -> None:
    queue = await api.put(
        "/queues/tier1",
        json={
            "name": "Tier 1",
            "strategy": strategy,
            "members": [
                {"user_id": "ann", "skills": ["billing"]},
                {"user_id": "bob", "skills": ["billing", "german"]},
                {"user_id": "cat", "skills": ["german"]},
            ],
        },
        headers=ADA,
    )
    assert queue.status_code == 200, queue.text
    policy = await api.put("/sla-policy", json=POLICY, headers=ADA)
    assert policy.status_code == 200, policy.text


async def opened(api: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    answer = await api.post(
        "/cases", json={"subject": "Cannot log in", "queue_id": "tier1", **fields}, headers=ADA
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


async def test_cases_are_numbered_routed_and_held_to_the_policy(api: httpx.AsyncClient) -> None:
    await setup(api)
    cases = [await opened(api, skill="billing") for _ in range(3)]

    assert [c["number"] for c in cases] == [1, 2, 3]
    assert [c["assignee_id"] for c in cases] == ["ann", "bob", "ann"]
    sla = {clock["target"]: clock for clock in cases[0]["sla"]}
    assert sla["first_response"]["budget_s"] == 3600
    assert sla["resolution"]["deadline"] is not None
    german = await opened(api, skill="german", priority="high")
    assert german["assignee_id"] in {"bob", "cat"}
    assert {c["target"]: c["budget_s"] for c in german["sla"]}["first_response"] == 1800


async def test_least_load_gives_the_case_to_the_least_busy(api: httpx.AsyncClient) -> None:
    await setup(api, "least_load")
    first = await opened(api)
    second = await opened(api)
    third = await opened(api)
    assert [first["assignee_id"], second["assignee_id"], third["assignee_id"]] == [
        "ann",
        "bob",
        "cat",
    ]
    resolved = await api.post(
        f"/cases/{second['id']}/status",
        json={"status": "resolved"},
        headers={**ADA, "If-Match": f'"{second["version"]}"'},
    )
    assert resolved.status_code == 200, resolved.text
    assert (await opened(api))["assignee_id"] == "bob"


async def test_the_life_cycle_answers_412_409_and_422(api: httpx.AsyncClient) -> None:
    await setup(api)
    case = await opened(api)
    etag = f'"{case["version"]}"'
    to_open = await api.post(
        f"/cases/{case['id']}/status", json={"status": "open"}, headers={**ADA, "If-Match": etag}
    )
    assert to_open.status_code == 200
    stale = await api.post(
        f"/cases/{case['id']}/status", json={"status": "pending"}, headers={**ADA, "If-Match": etag}
    )
    assert stale.status_code == 412
    no_etag = await api.post(f"/cases/{case['id']}/status", json={"status": "pending"}, headers=ADA)
    assert no_etag.status_code == 428
    closed = await api.post(
        f"/cases/{case['id']}/status",
        json={"status": "closed"},
        headers={**ADA, "If-Match": to_open.headers["ETag"]},
    )
    assert closed.status_code == 409
    assert closed.json()["error"] == "not_allowed_now"
    bad = await api.post(
        f"/cases/{case['id']}/status",
        json={"status": "lost"},
        headers={**ADA, "If-Match": to_open.headers["ETag"]},
    )
    assert bad.status_code == 422
    assert bad.json()["fields"][0]["field"] == "status"
    missing = await api.post("/cases", json={"subject": ""}, headers=ADA)
    assert missing.status_code == 422
    assert missing.json()["fields"][0]["field"] == "subject"
    unknown_queue = await api.post("/cases", json={"subject": "x", "queue_id": "nope"}, headers=ADA)
    assert unknown_queue.status_code == 422
    assert unknown_queue.json()["fields"][0]["field"] == "queue_id"


async def test_the_thread_and_the_first_response(api: httpx.AsyncClient) -> None:
    await setup(api)
    case = await opened(api)
    note = await api.post(
        f"/cases/{case['id']}/messages",
        json={"body": "Customer is a VIP", "visibility": "internal"},
        headers=ADA,
    )
    assert note.status_code == 201, note.text
    reply = await api.post(
        f"/cases/{case['id']}/messages",
        json={
            "body": "Please reset your password",
            "attachments": [
                {"filename": "howto.pdf", "content_type": "application/pdf", "size_bytes": 2048}
            ],
        },
        headers=ADA,
    )
    assert reply.status_code == 201
    after = (await api.get(f"/cases/{case['id']}", headers=ADA)).json()
    assert after["status"] == "open"
    assert after["responded_at"] is not None
    first = {c["target"]: c for c in after["sla"]}["first_response"]
    assert first["met_at"] is not None
    public = await api.get(
        f"/cases/{case['id']}/messages", params={"include_internal": "false"}, headers=ADA
    )
    assert [m["body"] for m in public.json()] == ["Please reset your password"]
    assert public.json()[0]["attachments"][0]["filename"] == "howto.pdf"
    everything = await api.get(f"/cases/{case['id']}/messages", headers=ADA)
    assert len(everything.json()) == 2


async def test_reassignment_is_kept_in_the_history(api: httpx.AsyncClient) -> None:
    await setup(api)
    case = await opened(api)
    moved = await api.post(
        f"/cases/{case['id']}/assign",
        json={"assignee_id": "cat"},
        headers={**ADA, "If-Match": f'"{case["version"]}"'},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["assignee_id"] == "cat"
    history = (await api.get(f"/cases/{case['id']}/history", headers=ADA)).json()
    assignments = [h for h in history if h["type"] == "crm.support.case.assigned"]
    assert [(a["data"]["assignee_id"], a["data"]["rule"]) for a in assignments] == [
        ("ann", "round_robin"),
        ("cat", "manual"),
    ]
    assert assignments[1]["data"]["previous_assignee_id"] == "ann"
    assert assignments[1]["actor"] == "user-ada"
    assert all("personal" not in h["data"] for h in history)


async def test_filters_pages_and_tenants(api: httpx.AsyncClient) -> None:
    await setup(api)
    ids = [(await opened(api, priority=p))["id"] for p in ("normal", "high", "high")]
    high = await api.get("/cases", params={"priority": "high", "limit": 1}, headers=ADA)
    page = high.json()
    assert len(page["items"]) == 1
    rest = await api.get(
        "/cases", params={"priority": "high", "cursor": page["next_cursor"]}, headers=ADA
    )
    assert {page["items"][0]["id"], rest.json()["items"][0]["id"]} == set(ids[1:])
    assert (await api.get(f"/cases/{ids[0]}", headers=BOB)).status_code == 404
    assert (await api.get("/cases", headers=BOB)).json()["items"] == []
    unknown = await api.get("/cases", params={"status": "lost"}, headers=ADA)
    assert unknown.status_code == 422
    assert unknown.json()["fields"][0]["field"] == "status"


async def test_a_queue_of_the_same_name_in_another_tenant_is_another_queue(
    api: httpx.AsyncClient,
) -> None:
    await setup(api)
    theirs = await api.put(
        "/queues/tier1",
        json={"name": "B's Tier 1", "members": [{"user_id": "zed"}]},
        headers=BOB,
    )
    assert theirs.status_code == 200, theirs.text
    assert theirs.json()["version"] == 1
    ours = {q["id"]: q for q in (await api.get("/queues", headers=ADA)).json()}
    assert ours["tier1"]["name"] == "Tier 1"
    assert (await opened(api))["assignee_id"] in {"ann", "bob", "cat"}
