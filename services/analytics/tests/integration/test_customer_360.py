"""The 360-degree view, built by the analytics consumer from the three services' topics on a
real broker: every department's facts about one customer, in any order, each event once,
merges followed, nothing personal kept."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_analytics.adapters import read_model as rm
from crm_shared.contracts import contacts as c
from crm_shared.contracts import sales as s
from crm_shared.contracts import support as su
from crm_shared.events import EventEnvelope
from crm_shared.privacy.sealing import SubjectCipher, new_data_key
from crm_shared.sql import DriverReads

from .conftest import ADA, BOB, T0, Events, Topics, consume

pytestmark = pytest.mark.integration

GRACE, NAVY, DEAL, CASE, TASK = "c-grace", "a-navy", "o-deal", "k-case", "t-call-back"


def sealed(subject: str, value: Any) -> Any:
    return SubjectCipher(subject, new_data_key()).seal(value)


def story(events: Events) -> list[list[EventEnvelope]]:
    """Grace Hopper at the US Navy: consent, a deal won, a task, a case resolved and rated.
    One list per entity, in the order its service published them."""
    contact = [
        events(
            "contacts",
            GRACE,
            c.ContactCreated(
                contact_id=GRACE,
                personal=sealed(GRACE, {"first_name": "Grace", "last_name": "Hopper"}),
                lifecycle_stage="opportunity",
                owner_id="user-ada",
                tags=["vip"],
            ),
        ),
        events(
            "contacts",
            GRACE,
            c.ConsentChanged(
                contact_id=GRACE,
                channel="email",
                status="granted",
                lawful_basis="consent",
                source="web form",
            ),
        ),
    ]
    account = [
        events("contacts", NAVY, c.AccountCreated(account_id=NAVY, name="US Navy")),
        events(
            "contacts",
            NAVY,
            c.AccountContactLinked(account_id=NAVY, contact_id=GRACE, role="Rear admiral"),
        ),
    ]
    deal = [
        events(
            "sales",
            DEAL,
            s.OpportunityOpened(
                opportunity_id=DEAL,
                pipeline_id="default",
                name="Compilers",
                stage_id="propose",
                probability=40,
                forecast_category="pipeline",
                amount=Decimal("1200.50"),
                currency="EUR",
                expected_close_date=date(2026, 12, 31),
                owner_id="user-ada",
                contact_id=GRACE,
                account_id=NAVY,
            ),
        ),
        events(
            "sales",
            DEAL,
            s.OpportunityStageChanged(
                opportunity_id=DEAL,
                from_stage_id="propose",
                to_stage_id="commit",
                probability=90,
                forecast_category="commit",
            ),
        ),
        events(
            "sales",
            DEAL,
            s.OpportunityWon(opportunity_id=DEAL, amount=Decimal("1200.50"), currency="EUR"),
        ),
    ]
    task = [
        events(
            "sales",
            TASK,
            s.TaskCreated(
                activity_id=TASK,
                owner_id="user-ada",
                related=s.RelatedTo(contact_id=GRACE),
                due_at=T0 + timedelta(days=3),
                personal=sealed(TASK, {"subject": "Call Grace back"}),
            ),
        )
    ]
    case = [
        events(
            "support",
            CASE,
            su.CaseOpened(
                case_id=CASE,
                number=1042,
                channel="email",
                category=None,
                priority="high",
                tier="gold",
                contact_id=GRACE,
                account_id=NAVY,
                queue_id="tier1",
                personal=sealed(CASE, {"subject": "Grace cannot log in"}),
                terms=None,
            ),
        ),
        events(
            "support",
            CASE,
            su.InteractionAdded(
                case_id=CASE,
                interaction_id="i-1",
                at=T0 + timedelta(hours=1),
                visibility="public",
                author="agent",
                author_id="user-bob",
                channel="email",
                personal=sealed(CASE, {"body": "Dear Grace, ..."}),
                attachments=[],
                first_response=True,
            ),
        ),
        events(
            "support",
            CASE,
            su.SlaBreached(case_id=CASE, target="resolution", deadline=T0 + timedelta(hours=2)),
        ),
        events(
            "support",
            CASE,
            su.CaseStatusChanged(
                case_id=CASE, old="open", new="resolved", at=T0 + timedelta(hours=3)
            ),
        ),
        events(
            "support",
            CASE,
            su.SurveyAnswered(case_id=CASE, score=4, personal=sealed(CASE, {"comment": "ok"})),
        ),
    ]
    return [contact, account, deal, task, case]


def interleaved(streams: list[list[EventEnvelope]], seed: int) -> list[EventEnvelope]:
    """Every entity's events in their order, the entities shuffled among each other (as
    partitions and topics deliver them)."""
    rng = random.Random(seed)
    pending = [list(stream) for stream in streams]
    out: list[EventEnvelope] = []
    while any(pending):
        stream = rng.choice([p for p in pending if p])
        out.append(stream.pop(0))
    return out


async def test_the_360_view_shows_every_department_and_one_timeline(
    api: httpx.AsyncClient, engine: AsyncEngine, analytics_schema: str, topics: Topics
) -> None:
    streams = story(Events())
    everything = [e for stream in streams for e in stream]
    await topics.publish(everything)
    await consume(engine, analytics_schema, topics, "analytics-360", len(everything))

    answer = await api.get(f"/customers/{GRACE}/360", params={"timeline_limit": 5}, headers=ADA)
    assert answer.status_code == 200, answer.text
    view = answer.json()
    assert view["kind"] == "contact"
    assert view["profile"]["lifecycle_stage"] == "opportunity"
    assert [(x["channel"], x["status"]) for x in view["consent"]] == [("email", "granted")]
    assert [(o["account_id"], o["account_name"], o["role"]) for o in view["organisations"]] == [
        (NAVY, "US Navy", "Rear admiral")
    ]
    [deal] = view["opportunities"]["closed"]
    assert (deal["status"], deal["amount"], deal["stage_id"]) == ("won", "1200.50", "commit")
    assert view["opportunities"]["totals"] == {"EUR": {"open": "0", "won": "1200.50"}}
    [case] = view["cases"]["closed"]
    assert (case["number"], case["status"], case["satisfaction"]) == (1042, "resolved", 4)
    assert case["first_response_at"] is not None
    assert view["cases"]["sla_breached"] == 1
    assert view["cases"]["satisfaction"] == {"answers": 1, "average": 4.0}
    assert [a["type"] for a in view["activities"]] == ["task"]

    first = view["timeline"]
    assert [e["what"] for e in first["items"]] == [
        "satisfaction answered",
        "case resolved",
        "SLA breached",
        "first response",
        "case opened",
    ]
    rest = await api.get(
        f"/customers/{GRACE}/timeline", params={"cursor": first["next_cursor"]}, headers=ADA
    )
    whats = [e["what"] for e in rest.json()["items"]]
    assert whats == [
        "task logged",
        "opportunity won",
        "opportunity moved",
        "opportunity opened",
        "person linked",
        "consent changed",
        "contact created",
    ]
    assert rest.json()["next_cursor"] is None

    organisation = (await api.get(f"/customers/{NAVY}/360", headers=ADA)).json()
    assert organisation["kind"] == "account"
    assert organisation["profile"]["name"] == "US Navy"
    assert [p["contact_id"] for p in organisation["people"]] == [GRACE]
    assert len(organisation["opportunities"]["closed"]) == 1
    assert len(organisation["cases"]["closed"]) == 1

    assert (await api.get(f"/customers/{GRACE}/360", headers=BOB)).status_code == 404
    assert (await api.get("/customers/nobody/360", headers=ADA)).status_code == 404


async def test_any_order_and_every_redelivery_give_the_same_view(
    api: httpx.AsyncClient, engine: AsyncEngine, analytics_schema: str, topics: Topics
) -> None:
    streams = story(Events())
    everything = [e for stream in streams for e in stream]
    await topics.publish(interleaved(streams, seed=7))
    await consume(engine, analytics_schema, topics, "analytics-a", len(everything))
    first = (await api.get(f"/customers/{GRACE}/360", headers=ADA)).json()

    await topics.publish(interleaved(streams, seed=11))  # the relay re-published it all
    await consume(engine, analytics_schema, topics, "analytics-a", len(everything))
    async with engine.connect() as connection:
        rows = await connection.scalar(
            text(f'SELECT count(*) FROM "{analytics_schema}".timeline WHERE customer_id = :c'),
            {"c": GRACE},
        )
    assert rows == 12
    assert (await api.get(f"/customers/{GRACE}/360", headers=ADA)).json() == first


async def test_a_merge_brings_the_merged_contacts_facts_to_the_survivor(
    api: httpx.AsyncClient, engine: AsyncEngine, analytics_schema: str, topics: Topics
) -> None:
    events = Events()
    streams = story(events)
    duplicate = "c-grace-duplicate"
    late_case = events(
        "support",
        "k-late",
        su.CaseOpened(
            case_id="k-late",
            number=1043,
            channel="phone",
            category=None,
            priority="normal",
            tier="gold",
            contact_id=duplicate,  # support had not re-pointed it yet
            account_id=None,
            queue_id=None,
            personal=sealed("k-late", {"subject": "again"}),
            terms=None,
        ),
    )
    merge = [
        events(
            "contacts",
            duplicate,
            c.ContactCreated(contact_id=duplicate, personal=sealed(duplicate, {"last_name": "H"})),
        ),
        events(
            "contacts",
            duplicate,
            c.ContactMergedInto(contact_id=duplicate, survivor_id=GRACE),
        ),
        events(
            "contacts",
            GRACE,
            c.ContactMerged(contact_id=GRACE, merged_contact_id=duplicate, winners={}),
        ),
    ]
    everything = [*streams[0], *merge, late_case]
    await topics.publish(everything)
    await consume(engine, analytics_schema, topics, "analytics-merge", len(everything))

    view = (await api.get(f"/customers/{duplicate}/360", headers=ADA)).json()
    assert (view["customer_id"], view["merged_from"]) == (GRACE, duplicate)
    assert [k["number"] for k in view["cases"]["open"]] == [1043]
    whats = [e["what"] for e in view["timeline"]["items"]]
    assert "contact merged" in whats
    assert "case opened" in whats


async def test_nothing_personal_is_kept_and_an_erasure_shows(
    api: httpx.AsyncClient, engine: AsyncEngine, analytics_schema: str, topics: Topics
) -> None:
    events = Events()
    streams = story(events)
    erased = events(
        "contacts", GRACE, c.ContactErased(contact_id=GRACE, erased_contact_ids=[GRACE])
    )
    everything = [*(e for stream in streams for e in stream), erased]
    await topics.publish(everything)
    await consume(engine, analytics_schema, topics, "analytics-erase", len(everything))

    async with engine.connect() as connection:
        for table in ("entities", "timeline", "consents", "memberships"):
            dump = await connection.scalar(
                text(f"SELECT string_agg(t::text, '') FROM \"{analytics_schema}\".{table} t")
            )
            assert "Grace" not in (dump or ""), table
            assert "Hopper" not in (dump or ""), table
    view = (await api.get(f"/customers/{GRACE}/360", headers=ADA)).json()
    assert view["profile"]["erased"] is True
    assert view["timeline"]["items"][0]["what"] == "personal data erased"
    assert view["opportunities"]["totals"] == {"EUR": {"open": "0", "won": "1200.50"}}


async def test_the_view_takes_the_newest_of_each_kind_of_linked_record_up_to_a_limit(
    engine: AsyncEngine, analytics_schema: str
) -> None:
    async with engine.begin() as connection:
        for kind, count in [("opportunity", 4), ("case", 1), ("activity", 3)]:
            for n in range(count):
                await connection.execute(
                    text(
                        f'INSERT INTO "{analytics_schema}".entities (tenant_id, kind,'
                        " entity_id, contact_id, data, updated_at) VALUES ('tenant-a', :kind,"
                        " :id, 'grace', '{}', :at)"
                    ),
                    {"kind": kind, "id": f"{kind}-{n}", "at": T0 + timedelta(minutes=n)},
                )
        facts = await rm.customer_facts(
            await DriverReads.on(connection),
            analytics_schema,
            "tenant-a",
            "grace",
            ("opportunity", "case", "activity", "quote"),
            2,
            20,
        )
    assert facts.known
    assert {kind: [r["entity_id"] for r in rows] for kind, rows in facts.related.items()} == {
        "opportunity": ["opportunity-3", "opportunity-2"],
        "case": ["case-0"],
        "activity": ["activity-2", "activity-1"],
        "quote": [],
    }
