"""SLA clocks under a clock the test moves: business hours, pauses, holidays; warnings,
breaches and escalations fired by durable timers that survive a restart, each exactly once,
however many replicas look."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from crm_shared.caller import Caller
from crm_shared.contracts.support import SlaPolicyDefined
from crm_shared.eventstore import EventStore
from crm_support.adapters import read_model as rm
from crm_support.adapters import timers
from crm_support.application.cases import CaseHandlers, Moment
from crm_support.application.definitions import DefinitionHandlers
from crm_support.application.sla_timers import fire_due
from crm_support.domain.case import Case

from .conftest import handlers

pytestmark = pytest.mark.integration

ADA = Caller("tenant-a", "user-ada", "corr")
MONDAY_9 = datetime(2026, 12, 7, 9, tzinfo=UTC)  # Europe/London is UTC in December


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def move(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


POLICY: dict[str, Any] = {
    "policy_id": "default",
    "calendar": {
        "time_zone": "Europe/London",
        "hours": [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)],
        "holidays": ["2026-12-25"],
    },
    "rules": [
        {
            "priority": "normal",
            "tier": "standard",
            "first_response_minutes": 120,
            "resolution_minutes": 960,
            "warn_before_minutes": 30,
            "escalation": {"raise_priority": True, "move_to_queue_id": "tier2"},
        },
        {
            "priority": "high",
            "tier": "standard",
            "first_response_minutes": 60,
            "resolution_minutes": 480,
            "warn_before_minutes": 10,
        },
    ],
}


@pytest.fixture
async def setup(engine: AsyncEngine, support_schema: str) -> None:
    definitions = DefinitionHandlers(EventStore(engine, support_schema))
    await definitions.define_policy(ADA, POLICY)
    await definitions.define_queue(
        ADA, "tier2", "Tier 2", "round_robin", None, [{"user_id": "expert"}]
    )


async def events_of(handlers: CaseHandlers, case_id: str) -> list[str]:
    stream = await handlers.store.read_stream(case_id)
    return [e.event_type.removeprefix("crm.support.case.") for e in stream]


async def test_warning_breach_and_escalation_fire_on_business_time(
    engine: AsyncEngine, support_schema: str, key_encryption_key: str, setup: None
) -> None:
    clock = Clock(MONDAY_9.replace(hour=16))  # Monday 16:00: one working hour left today
    cases = handlers(engine, support_schema, key_encryption_key, clock)
    written = await cases.open_case(ADA, {"subject": "VPN down"})

    # 2 business hours: 1 on Monday, 1 on Tuesday → due 10:00 Tuesday, warning at 09:30
    clock.move(hours=17, minutes=29)  # Tuesday 09:29
    assert await fire_due(cases) == 0
    clock.now = datetime(2026, 12, 8, 9, 30, tzinfo=UTC)
    assert await fire_due(cases) == 1
    assert (await events_of(cases, written.entity_id))[-1] == "sla_warned"

    clock.now = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)
    assert await fire_due(cases) == 1
    async with cases.store.unit_of_work() as uow:
        case = await cases.load(uow, "tenant-a", written.entity_id)
    assert case.clocks["first_response"].breached
    assert case.state["priority"] == "high"  # escalated...
    assert (case.state["queue_id"], case.state["assignee_id"]) == ("tier2", "expert")  # ...moved
    assert (await events_of(cases, written.entity_id))[-4:] == [
        "sla_breached",
        "priority_changed",
        "sla_clocks_set",
        "assigned",
    ]
    assert await fire_due(cases) == 0  # nothing fires twice
    async with engine.connect() as connection:
        kept = await timers.of_case(connection, support_schema, written.entity_id)
    half_past_9, ten = (
        datetime(2026, 12, 8, 9, 30, tzinfo=UTC),
        datetime(2026, 12, 8, 10, tzinfo=UTC),
    )
    assert {(t["kind"], t["due_at"], t["fired_at"]) for t in kept if t["fired_at"]} == {
        ("warn:first_response", half_past_9, half_past_9),  # each fired timer stays, with
        ("breach:first_response", ten, ten),  # when it fired
    }


async def test_waiting_on_the_customer_and_holidays_do_not_count(
    engine: AsyncEngine, support_schema: str, key_encryption_key: str, setup: None
) -> None:
    clock = Clock(datetime(2026, 12, 23, 9, tzinfo=UTC))  # Wednesday before Christmas
    cases = handlers(engine, support_schema, key_encryption_key, clock)
    written = await cases.open_case(ADA, {"subject": "Invoice wrong"})
    case_id = written.entity_id

    def status(new: str) -> Any:
        def decide(case: Case, moment: Moment) -> None:
            case.change_status(new, moment.calendar, moment.now, moment.reopen_window)

        return decide

    clock.move(hours=1)  # 10:00, 1 h used
    await cases.add_message(ADA, case_id, {"body": "Which invoice?"})
    await cases.change(ADA, case_id, None, status("pending"))
    clock.now = datetime(2026, 12, 24, 16, tzinfo=UTC)  # the customer answers a day later
    await cases.add_message(ADA, case_id, {"body": "INV-7", "author": "customer"})

    async with cases.store.unit_of_work() as uow:
        case = await cases.load(uow, "tenant-a", case_id)
    resolution = case.clocks["resolution"]
    assert resolution.consumed_s == 3600  # the pending day did not count
    # 15 business hours left from Thursday 16:00: 1 h Thursday, Christmas off, weekend off,
    # Monday 28th 8 h, Tuesday 29th 6 h → 15:00
    assert resolution.deadline == datetime(2026, 12, 29, 15, tzinfo=UTC)
    async with engine.connect() as connection:
        row = await rm.get_case(connection, support_schema, "tenant-a", case_id)
    assert row is not None
    assert row["status"] == "open"


async def test_timers_survive_a_restart_and_fire_once_across_replicas(
    engine: AsyncEngine,
    support_schema: str,
    key_encryption_key: str,
    database_url: str,
    setup: None,
) -> None:
    clock = Clock(MONDAY_9)
    before_restart = handlers(engine, support_schema, key_encryption_key, clock)
    ids = [
        (await before_restart.open_case(ADA, {"subject": f"Case {n}"})).entity_id for n in range(12)
    ]
    del before_restart  # the process is gone; its timers are rows

    replica_engines = [create_async_engine(database_url) for _ in range(3)]
    try:
        later = Clock(MONDAY_9 + timedelta(hours=2))  # every first response now breached
        replicas = [handlers(e, support_schema, key_encryption_key, later) for e in replica_engines]
        fired = await asyncio.gather(*(fire_due(r, batch=5) for r in replicas))
        fired_again = await asyncio.gather(*(fire_due(r, batch=5) for r in replicas))
    finally:
        for e in replica_engines:
            await e.dispose()

    breaches_and_warnings = 12 * 2
    assert sum(fired) + sum(fired_again) == breaches_and_warnings
    for case_id in ids:
        kinds = await events_of(
            handlers(engine, support_schema, key_encryption_key, later), case_id
        )
        assert kinds.count("sla_warned") == 1
        assert kinds.count("sla_breached") == 1


async def test_a_policy_with_a_bad_calendar_is_refused(
    engine: AsyncEngine, support_schema: str
) -> None:
    definitions = DefinitionHandlers(EventStore(engine, support_schema))
    from crm_support.domain.errors import InvalidValue

    bad = {**POLICY, "calendar": {**POLICY["calendar"], "time_zone": "Europe/Atlantis"}}
    with pytest.raises(InvalidValue) as refused:
        await definitions.define_policy(ADA, bad)
    assert refused.value.field == "calendar.time_zone"
    assert SlaPolicyDefined.model_fields["calendar"] is not None
