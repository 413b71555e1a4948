"""Tasks, calls, meetings, calendars and their iCalendar feeds; overdue tasks produce events;
an erased contact's activities lose their words."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from icalendar import Calendar
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_sales.application.activities import ActivityHandlers
from crm_sales.application.handlers import SalesHandlers
from crm_sales.entrypoints.contact_events import apply_contact_event
from crm_shared.contracts.contacts import REGISTRY as CONTACTS
from crm_shared.contracts.contacts import ContactErased
from crm_shared.events import envelope_for_event
from crm_shared.eventstore import EventStore
from crm_shared.privacy import KeyEncryptionKey
from crm_shared.privacy.keystore import SubjectKeyStore

from .conftest import ADA, BOB

pytestmark = pytest.mark.integration

SOON = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)


async def created(api: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = await api.post(path, json=body, headers=ADA)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def task(owner: str = "ann", contact: str = "c-1", **overrides: Any) -> dict[str, Any]:
    return {
        "owner_id": owner,
        "related": {"contact_id": contact},
        "subject": "Send the proposal",
        "due_at": SOON.isoformat(),
        "reminder_at": (SOON - timedelta(hours=1)).isoformat(),
        **overrides,
    }


def handlers(engine: AsyncEngine, schema: str, kek: str) -> ActivityHandlers:
    store = EventStore(engine, schema)
    return ActivityHandlers(store, SubjectKeyStore(schema, KeyEncryptionKey.from_base64(kek)))


async def test_a_calendar_shows_a_users_and_a_teams_activities_in_their_zone(
    api: httpx.AsyncClient,
) -> None:
    await api.put("/teams/east", json={"name": "East", "members": ["ann", "bob"]}, headers=ADA)
    meeting = await created(
        api,
        "/meetings",
        {
            "owner_id": "ann",
            "attendees": ["bob"],
            "related": {"opportunity_id": "o-1"},
            "subject": "Demo",
            "location": "Paris office",
            "starts_at": SOON.isoformat(),
            "ends_at": (SOON + timedelta(hours=1)).isoformat(),
            "time_zone": "Europe/Paris",
        },
    )
    todo = await created(api, "/tasks", task(owner="bob"))
    await created(
        api,
        "/calls",
        {
            "owner_id": "cat",
            "related": {"lead_id": "l-1"},
            "subject": "Intro",
            "at": SOON.isoformat(),
            "duration_minutes": 20,
        },
    )
    window = {"start": SOON.isoformat(), "end": (SOON + timedelta(days=1)).isoformat()}

    ann = await api.get(
        "/calendar", params={**window, "user_id": "ann", "tz": "Asia/Tokyo"}, headers=ADA
    )
    team = await api.get("/calendar", params={**window, "team_id": "east"}, headers=ADA)

    assert [entry["id"] for entry in ann.json()] == [meeting["id"]]
    assert ann.json()[0]["starts_at"].endswith("+09:00")
    assert {entry["id"] for entry in team.json()} == {meeting["id"], todo["id"]}
    bad = await api.get("/calendar", params={**window, "user_id": "ann", "tz": "Mars"}, headers=ADA)
    assert bad.status_code == 422


async def test_a_calendar_client_subscribes_to_an_ics_feed(api: httpx.AsyncClient) -> None:
    todo = await created(api, "/tasks", task(owner="dan"))
    feed = await api.post("/calendar-feeds", json={"user_id": "dan"}, headers=ADA)
    assert feed.status_code == 201
    answer = await api.get(feed.json()["url"])  # no credentials: the URL is the secret
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(answer.content)
    [event] = [c for c in calendar.walk("VEVENT")]
    assert str(event["uid"]) == f"{todo['id']}@crm-sales"
    assert str(event["summary"]) == "Task: Send the proposal"
    assert event.decoded("dtstart") == SOON
    assert [str(a["action"]) for a in event.walk("VALARM")] == ["DISPLAY"]
    assert (await api.get("/public/calendars/not-a-token.ics")).status_code == 404


async def test_overdue_tasks_and_reminders_become_events_once(
    api: httpx.AsyncClient, engine: AsyncEngine, sales_schema: str, key_encryption_key: str
) -> None:
    todo = await created(api, "/tasks", task(owner="eve"))
    done = await created(api, "/tasks", task(owner="eve"))
    await api.post(f"/tasks/{done['id']}/complete", headers={**ADA, "If-Match": '"1"'})
    scheduler = handlers(engine, sales_schema, key_encryption_key)

    assert await scheduler.mark_due_tasks(now=SOON - timedelta(minutes=30)) == 1  # reminder
    assert await scheduler.mark_due_tasks(now=SOON + timedelta(minutes=1)) == 1  # overdue
    assert await scheduler.mark_due_tasks(now=SOON + timedelta(hours=1)) == 0

    history = await EventStore(engine, sales_schema).read_stream(todo["id"])
    assert [e.event_type for e in history] == [
        "crm.sales.task.created",
        "crm.sales.task.reminder_due",
        "crm.sales.task.became_overdue",
    ]
    body = (await api.get(f"/activities/{todo['id']}", headers=ADA)).json()
    assert body["overdue"] is True
    assert len(await EventStore(engine, sales_schema).read_stream(done["id"])) == 2


async def test_an_erased_contacts_activities_lose_their_words(
    api: httpx.AsyncClient, engine: AsyncEngine, sales_schema: str, key_encryption_key: str
) -> None:
    contact = f"c-{uuid.uuid4()}"
    about = await created(api, "/tasks", task(contact=contact, notes="her home number is 555"))
    other = await created(api, "/tasks", task())
    erased = ContactErased(contact_id=contact, erased_contact_ids=[contact])
    envelope = envelope_for_event(
        CONTACTS,
        erased,
        source="/crm/contacts",
        tenant_id="tenant-a",
        stream_id=contact,
        actor="user-ada",
        stream_version=2,
    )
    store = EventStore(engine, sales_schema)
    apply = apply_contact_event(
        store, SalesHandlers(store), handlers(engine, sales_schema, key_encryption_key)
    )
    async with engine.begin() as connection:
        await apply(connection, envelope)

    gone = (await api.get(f"/activities/{about['id']}", headers=ADA)).json()
    kept = (await api.get(f"/activities/{other['id']}", headers=ADA)).json()
    assert (gone["subject"], gone["notes"], gone["erased"]) == (None, None, True)
    assert gone["starts_at"] == about["starts_at"]
    assert kept["subject"] == "Send the proposal"
    assert (await api.get(f"/activities/{about['id']}", headers=BOB)).status_code == 404
