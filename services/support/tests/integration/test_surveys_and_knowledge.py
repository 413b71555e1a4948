"""The satisfaction survey behind its signed link, and the knowledge base."""

from __future__ import annotations

import httpx
import pytest

from .conftest import ADA, BOB

pytestmark = pytest.mark.integration


async def resolved_case(api: httpx.AsyncClient) -> dict[str, object]:
    opened = await api.post("/cases", json={"subject": "Slow page"}, headers=ADA)
    case = opened.json()
    resolved = await api.post(
        f"/cases/{case['id']}/status",
        json={"status": "resolved"},
        headers={**ADA, "If-Match": opened.headers["ETag"]},
    )
    assert resolved.status_code == 200, resolved.text
    return dict(resolved.json())


async def test_a_customer_answers_once_through_the_signed_link(api: httpx.AsyncClient) -> None:
    fresh = (await api.post("/cases", json={"subject": "New"}, headers=ADA)).json()
    too_early = await api.post(f"/cases/{fresh['id']}/survey-link", headers=ADA)
    assert too_early.status_code == 409
    case = await resolved_case(api)
    link = (await api.post(f"/cases/{case['id']}/survey-link", headers=ADA)).json()["url"]
    assert link.startswith("https://support.example/public/surveys/")
    path = link.removeprefix("https://support.example")

    shown = await api.get(path)
    assert shown.json() == {"case_number": case["number"], "status": "resolved", "answered": False}
    answered = await api.post(path, json={"score": 5, "comment": "Fast!"})
    assert answered.status_code == 201, answered.text
    twice = await api.post(path, json={"score": 1})
    assert twice.status_code == 409
    out_of_range = await api.post(path, json={"score": 6})
    assert out_of_range.status_code == 422
    forged = await api.post(path[:-3] + "abc", json={"score": 1})
    assert forged.status_code == 403
    survey = (await api.get(f"/cases/{case['id']}", headers=ADA)).json()["survey"]
    assert survey == {"score": 5, "comment": "Fast!"}


async def test_articles_are_versioned_searchable_and_linked_to_cases(
    api: httpx.AsyncClient,
) -> None:
    first = await api.put(
        "/articles/reset-password",
        json={"title": "Resetting a password", "body": "Open settings.", "tags": ["Login"]},
        headers=ADA,
    )
    assert first.status_code == 200, first.text
    assert first.json()["version"] == 1
    second = await api.put(
        "/articles/reset-password",
        json={
            "title": "Resetting a password",
            "body": "Open settings, then security, then reset the password.",
            "tags": ["login"],
        },
        headers=ADA,
    )
    assert second.json()["version"] == 2
    await api.put(
        "/articles/invoices",
        json={"title": "Where invoices are", "body": "Billing tab.", "tags": []},
        headers=ADA,
    )

    found = await api.get("/articles", params={"q": "reset password"}, headers=ADA)
    assert [a["id"] for a in found.json()] == ["reset-password"]
    assert (await api.get("/articles", params={"q": "password"}, headers=BOB)).json() == []

    case = await resolved_case(api)
    linked = await api.put(f"/articles/reset-password/cases/{case['id']}", headers=ADA)
    assert linked.status_code == 204
    await api.put(f"/articles/reset-password/cases/{case['id']}", headers=ADA)
    assert (await api.get("/articles/reset-password/cases", headers=ADA)).json() == [case["id"]]
    missing = await api.put("/articles/nope/cases/x", headers=ADA)
    assert missing.status_code == 404


async def test_two_tenants_may_give_an_article_the_same_id(api: httpx.AsyncClient) -> None:
    for who, body in ((ADA, "Tenant A's way."), (BOB, "Tenant B's way.")):
        answer = await api.put(
            "/articles/reset-password",
            json={"title": "Resetting a password", "body": body, "tags": []},
            headers=who,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["version"] == 1
    assert (await api.get("/articles/reset-password", headers=ADA)).json()["body"] == (
        "Tenant A's way."
    )
    assert (await api.get("/articles/reset-password", headers=BOB)).json()["body"] == (
        "Tenant B's way."
    )
