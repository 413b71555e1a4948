"""Case commands: open (numbered, routed to a queue member, held to the SLA policy), change
status or priority, reply, reassign, survey, and what the contacts service's events ask.

Every save writes the case's events, its read-model row, its new messages and its durable SLA
timers in one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from crm_shared.caller import Caller
from crm_shared.contracts.support import (
    REGISTRY,
    CaseOpened,
    InteractionAdded,
    SlaPolicyDefined,
    SlaTerms,
)
from crm_shared.errors import ConcurrencyConflict, NotFound
from crm_shared.events import EventContract
from crm_shared.eventstore import EventStore, UnitOfWork, new_events
from crm_shared.privacy import SubjectCipher
from crm_shared.privacy.keystore import SubjectKeyStore
from crm_support.adapters import read_model as rm
from crm_support.adapters import timers
from crm_support.domain.assignment import choose
from crm_support.domain.business_hours import Calendar
from crm_support.domain.case import PRIORITIES, Case
from crm_support.domain.errors import InvalidValue
from crm_support.domain.sla import terms_for

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Written:
    entity_id: str
    version: int


@dataclass(frozen=True)
class Reserved:
    """A new case's number and its queue's round-robin turn (None: taken when routed)."""

    number: int
    turn: int | None


@dataclass(frozen=True)
class Moment:
    """What a decision about a case needs besides the case: the time, the tenant's business
    calendar and SLA terms, the reopening window."""

    now: datetime
    calendar: Calendar
    policy: SlaPolicyDefined | None
    reopen_window: timedelta

    def terms(self, priority: str, tier: str) -> SlaTerms | None:
        return terms_for(self.policy, priority, tier)


Decision = Callable[[Case, Moment], None]


def decoded(event: Any) -> EventContract:
    return REGISTRY.decode_data(event.event_type, event.schema_version, event.data)


async def append(
    uow: UnitOfWork,
    caller: Caller,
    stream_id: str,
    expected_version: int,
    events: list[EventContract],
    partition_key: str,
    at: datetime,
    causation_id: str | None = None,
) -> None:
    encoded = new_events(REGISTRY, events, partition_key, stream_id, at)
    await uow.append(stream_id, expected_version, encoded, caller.event_metadata(causation_id))


class CaseHandlers:
    def __init__(
        self,
        store: EventStore,
        keys: SubjectKeyStore,
        reopen_window: timedelta,
        clock: Clock = lambda: datetime.now(UTC),
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.store = store
        self.keys = keys
        self.reopen_window = reopen_window
        self.clock = clock
        self.new_id = new_id

    async def open_case(self, caller: Caller, details: dict[str, Any]) -> Written:
        reserved = await self.reserve(caller.tenant_id, details.get("queue_id"))
        async with self.store.unit_of_work() as uow:
            return await self.open_in(uow, caller, self.new_id(), details, reserved)

    async def reserve(self, tenant_id: str, queue_id: str | None) -> Reserved:
        """A number for a new case and its queue's round-robin turn, taken in a short
        transaction of their own: held until the case commits, the tenant's counter would make
        every opening wait for the one before. An opening that fails leaves a gap."""
        schema = self.store.schema
        async with self.store.engine.begin() as connection:
            number = await rm.next_case_number(connection, schema, tenant_id)
            turn = await rm.take_turn(connection, schema, tenant_id, queue_id) if queue_id else None
        return Reserved(number, turn)

    async def open_in(
        self,
        uow: UnitOfWork,
        caller: Caller,
        case_id: str,
        details: dict[str, Any],
        reserved: Reserved | None = None,
    ) -> Written:
        """Open a case in ``uow``; without ``reserved``, its number and turn are taken in it."""
        schema = self.store.schema
        moment = await self._moment(uow, caller.tenant_id)
        number = (
            reserved.number
            if reserved
            else await rm.next_case_number(uow.connection, schema, caller.tenant_id)
        )
        key = await self.keys.create(uow, caller.tenant_id, case_id)
        priority = details.get("priority") or "normal"
        tier = str(details.get("tier") or "standard")
        case = Case.open(
            case_id,
            number,
            details,
            SubjectCipher(case_id, key),
            moment.terms(priority, tier),
            moment.calendar,
            moment.now,
        )
        queue_id = details.get("queue_id")
        if queue_id:
            turn = reserved.turn if reserved else None
            await self._route(
                uow, caller.tenant_id, case, str(queue_id), details.get("skill"), turn=turn
            )
        return await self._save(uow, caller, case, 0, moment.now)

    async def change(
        self, caller: Caller, case_id: str, expected_version: int | None, decide: Decision
    ) -> Written:
        """Load, check the version (None: whatever it is), decide, save."""
        async with self.store.unit_of_work() as uow:
            return await self.change_in(uow, caller, case_id, expected_version, decide)

    async def change_in(
        self,
        uow: UnitOfWork,
        caller: Caller,
        case_id: str,
        expected_version: int | None,
        decide: Decision,
    ) -> Written:
        case = await self.load(uow, caller.tenant_id, case_id)
        version = case.version
        if expected_version is not None and version != expected_version:
            raise ConcurrencyConflict(case_id, expected_version, version)
        moment = await self._moment(uow, caller.tenant_id)
        decide(case, moment)
        return await self._save(uow, caller, case, version, moment.now)

    async def reassign(
        self,
        caller: Caller,
        case_id: str,
        expected_version: int,
        queue_id: str | None,
        assignee_id: str | None,
        skill: str | None,
    ) -> Written:
        """To a named member (manual), or to a queue whose strategy picks the member."""
        async with self.store.unit_of_work() as uow:
            case = await self.load(uow, caller.tenant_id, case_id)
            version = case.version
            if version != expected_version:
                raise ConcurrencyConflict(case_id, expected_version, version)
            if queue_id and not assignee_id:
                await self._route(uow, caller.tenant_id, case, queue_id, skill)
            else:
                if queue_id:
                    await self._queue(uow, caller.tenant_id, queue_id)
                case.assign(queue_id or case.state.get("queue_id"), assignee_id, "manual")
            return await self._save(uow, caller, case, version, self.clock())

    async def add_message(
        self, caller: Caller, case_id: str, message: dict[str, Any]
    ) -> tuple[Written, str]:
        """A message in the thread (no If-Match: messages do not conflict); its id."""
        interaction_id = self.new_id()

        def decide(case: Case, moment: Moment) -> None:
            case.add_interaction(
                interaction_id, message, moment.calendar, moment.now, moment.reopen_window
            )

        return await self.change(caller, case_id, None, decide), interaction_id

    async def answer_survey(
        self, tenant_id: str, case_id: str, score: int, comment: str | None
    ) -> Written:
        caller = Caller(tenant_id, "customer", str(uuid.uuid4()))
        return await self.change(
            caller, case_id, None, lambda case, _: case.answer_survey(score, comment)
        )

    async def fire_timer(self, uow: UnitOfWork, timer: timers.DueTimer, now: datetime) -> None:
        """What a due timer does, in the transaction that marks it fired."""
        caller = Caller(timer.tenant_id, "crm-support-sla", str(uuid.uuid4()))
        case = await self.load(uow, timer.tenant_id, timer.case_id)
        version = case.version
        moment = await self._moment(uow, timer.tenant_id, now)
        escalation = case.on_timer(timer.kind, now, self.reopen_window)
        if escalation is not None:
            if escalation.raise_priority:
                current = PRIORITIES.index(case.state["priority"])
                higher = PRIORITIES[min(current + 1, len(PRIORITIES) - 1)]
                case.change_priority(
                    higher,
                    moment.terms(higher, case.state["tier"]),
                    moment.calendar,
                    now,
                    "escalation",
                )
            if escalation.move_to_queue_id:
                await self._route(
                    uow, timer.tenant_id, case, escalation.move_to_queue_id, None, "escalation"
                )
        # marked first, so that saving the case's timers keeps this one as fired
        await timers.mark_fired(uow.connection, self.store.schema, timer, now)
        await self._save(uow, caller, case, version, now)

    async def repoint_contact(
        self, uow: UnitOfWork, caller: Caller, merged: str, survivor: str, causation_id: str
    ) -> list[str]:
        ids = await rm.case_ids_of_contacts(
            uow.connection, self.store.schema, caller.tenant_id, [merged]
        )
        for case_id in ids:
            case = await self.load(uow, caller.tenant_id, case_id)
            version = case.version
            case.repoint_contact(merged, survivor)
            await self._save(uow, caller, case, version, self.clock(), causation_id)
        return ids

    async def erase_about_contacts(
        self, uow: UnitOfWork, caller: Caller, contact_ids: list[str], causation_id: str
    ) -> list[str]:
        """Erase the words of every case about these contacts: their keys are destroyed."""
        ids = await rm.case_ids_of_contacts(
            uow.connection, self.store.schema, caller.tenant_id, contact_ids
        )
        for case_id in ids:
            case = await self.load(uow, caller.tenant_id, case_id)
            version = case.version
            if case.erase():
                await self._save(uow, caller, case, version, self.clock(), causation_id)
                await self.keys.destroy(uow.connection, caller.tenant_id, case_id)
        return ids

    async def load(self, uow: UnitOfWork, tenant_id: str, case_id: str) -> Case:
        """The case, held by this transaction until it ends (see ``timers.lock_case``)."""
        await timers.lock_case(uow.connection, case_id)
        history = await uow.read_stream(case_id)
        if (
            not history
            or history[0].metadata.tenant_id != tenant_id
            or history[0].event_type != CaseOpened.event_type
        ):
            raise NotFound(f"no case {case_id}")
        cipher = await self.keys.cipher(uow, case_id)
        return Case.from_history(case_id, [decoded(e) for e in history], cipher)

    async def _moment(self, uow: UnitOfWork, tenant_id: str, now: datetime | None = None) -> Moment:
        policy, _ = await rm.policy(uow.connection, self.store.schema, tenant_id)
        calendar = Calendar.of(policy.calendar) if policy else Calendar.always()
        return Moment(now or self.clock(), calendar, policy, self.reopen_window)

    async def _queue(self, uow: UnitOfWork, tenant_id: str, queue_id: str) -> Any:
        known = await rm.queues(uow.connection, self.store.schema, tenant_id)
        if queue_id not in known:
            raise InvalidValue("queue_id", f"no queue {queue_id}")
        return known[queue_id][0]

    async def _route(
        self,
        uow: UnitOfWork,
        tenant_id: str,
        case: Case,
        queue_id: str,
        skill: str | None,
        rule: str | None = None,
        turn: int | None = None,
    ) -> None:
        """Assign by the queue's strategy (``turn``: a round-robin turn already taken)."""
        queue = await self._queue(uow, tenant_id, queue_id)
        schema = self.store.schema
        loads = {}
        if queue.strategy == "round_robin" and turn is None:
            turn = await rm.take_turn(uow.connection, schema, tenant_id, queue_id)
        else:
            users = [m.user_id for m in queue.members]
            loads = await rm.open_cases_per_assignee(uow.connection, schema, tenant_id, users)
        assignee = choose(queue, skill, turn or 0, loads)
        case.assign(queue_id, assignee, rule or queue.strategy)

    async def _save(
        self,
        uow: UnitOfWork,
        caller: Caller,
        case: Case,
        expected_version: int,
        at: datetime,
        causation_id: str | None = None,
    ) -> Written:
        if not case.pending:
            return Written(case.case_id, case.version)
        events = case.pending
        messages = [e for e in events if isinstance(e, InteractionAdded)]
        case.version = expected_version + len(events)
        case.pending = []
        schema, tenant = self.store.schema, caller.tenant_id
        await rm.save_case(uow.connection, schema, tenant, case, at)
        for message in messages:
            words = case.cipher.open(message.personal) or {"body": None}
            await rm.save_interaction(
                uow.connection,
                schema,
                tenant,
                case.case_id,
                {**message.model_dump(mode="json"), "at": message.at, "body": words["body"]},
            )
        await timers.replace(
            uow.connection, schema, tenant, case.case_id, case.timers(self.reopen_window)
        )
        # The events last, their position drawn just before the commit (the relay holds back
        # every event after a position not yet committed).
        await append(
            uow, caller, case.case_id, expected_version, events, case.case_id, at, causation_id
        )
        return Written(case.case_id, case.version)
