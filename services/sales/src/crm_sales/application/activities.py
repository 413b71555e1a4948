"""Activity commands, the scheduler that marks reminders and overdue tasks, and erasure of the
activities about an erased contact."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from crm_sales.adapters import activities_read_model as activities
from crm_sales.application.handlers import Written, append, decoded
from crm_sales.domain.activity import Activity
from crm_shared.caller import Caller
from crm_shared.contracts.sales import CallLogged, MeetingScheduled, TaskCreated
from crm_shared.errors import ConcurrencyConflict, NotFound
from crm_shared.eventstore import EventStore, UnitOfWork
from crm_shared.periodic import every, exclusive_turn
from crm_shared.privacy import SubjectCipher
from crm_shared.privacy.keystore import SubjectKeyStore

log = logging.getLogger(__name__)

FIRST_EVENTS = {TaskCreated.event_type, CallLogged.event_type, MeetingScheduled.event_type}
SCHEDULER = "crm-sales-scheduler"
SCHEDULER_LOCK = 0x5A1E5_7A5C
"""Advisory lock that one replica's scheduler holds for a tick."""

Create = Callable[[str, SubjectCipher, dict[str, Any]], Activity]


class ActivityHandlers:
    def __init__(
        self,
        store: EventStore,
        keys: SubjectKeyStore,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.store = store
        self.keys = keys
        self.new_id = new_id

    async def create(self, caller: Caller, create: Create, details: dict[str, Any]) -> Written:
        async with self.store.unit_of_work() as uow:
            activity_id = self.new_id()
            key = await self.keys.create(uow, caller.tenant_id, activity_id)
            activity = create(activity_id, SubjectCipher(activity_id, key), details)
            return await self._save(uow, caller, activity, 0)

    async def change(
        self,
        caller: Caller,
        activity_id: str,
        expected_version: int,
        decide: Callable[[Activity], None],
    ) -> Written:
        async with self.store.unit_of_work() as uow:
            activity = await self._load(uow, caller.tenant_id, activity_id)
            if activity.version != expected_version:
                raise ConcurrencyConflict(activity_id, expected_version, activity.version)
            decide(activity)
            return await self._save(uow, caller, activity, expected_version)

    async def mark_due_tasks(self, now: datetime | None = None, batch: int = 200) -> int:
        """Reminders and overdue marks for the tasks whose time has come; one replica at a
        time (an advisory lock), each task in its own transaction. Returns how many changed."""
        now = now or datetime.now(UTC)
        async with exclusive_turn(self.store.engine, SCHEDULER_LOCK) as connection:
            if connection is None:
                return 0
            due = await activities.tasks_needing_attention(
                connection, self.store.schema, now, batch
            )
            await connection.commit()
        changed = 0
        for tenant_id, activity_id in due:
            caller = Caller(tenant_id, SCHEDULER, str(uuid.uuid4()))
            try:
                async with self.store.unit_of_work() as uow:
                    activity = await self._load(uow, tenant_id, activity_id)
                    version = activity.version
                    activity.note_time(now)
                    if activity.pending:
                        await self._save(uow, caller, activity, version)
                        changed += 1
            except ConcurrencyConflict:
                log.info("task %s changed meanwhile; next tick looks again", activity_id)
        return changed

    async def erase_about_contacts(
        self, uow: UnitOfWork, caller: Caller, contact_ids: list[str], causation_id: str
    ) -> list[str]:
        """Erase the words of every activity about these (erased) contacts, in ``uow``."""
        ids = await activities.activity_ids_about_contacts(
            uow.connection, self.store.schema, caller.tenant_id, contact_ids
        )
        for activity_id in ids:
            activity = await self._load(uow, caller.tenant_id, activity_id)
            version = activity.version
            if activity.erase():
                await self._save(uow, caller, activity, version, causation_id)
                await self.keys.destroy(uow.connection, caller.tenant_id, activity_id)
        return ids

    async def _load(self, uow: UnitOfWork, tenant_id: str, activity_id: str) -> Activity:
        history = await uow.read_stream(activity_id)
        if (
            not history
            or history[0].metadata.tenant_id != tenant_id
            or history[0].event_type not in FIRST_EVENTS
        ):
            raise NotFound(f"no activity {activity_id}")
        cipher = await self.keys.cipher(uow, activity_id)
        return Activity.from_history(activity_id, [decoded(e) for e in history], cipher)

    async def _save(
        self,
        uow: UnitOfWork,
        caller: Caller,
        activity: Activity,
        expected_version: int,
        causation_id: str | None = None,
    ) -> Written:
        if not activity.pending:
            return Written(activity.activity_id, activity.version)
        now = datetime.now(UTC)
        await append(
            uow,
            caller,
            activity.activity_id,
            expected_version,
            activity.pending,
            activity.activity_id,
            now,
            causation_id,
        )
        activity.version = expected_version + len(activity.pending)
        activity.pending = []
        await activities.save_activity(
            uow.connection, self.store.schema, caller.tenant_id, activity, now
        )
        return Written(activity.activity_id, activity.version)


async def run_scheduler(handlers: ActivityHandlers, interval_s: float, stop: asyncio.Event) -> None:
    """Look for due reminders and overdue tasks every ``interval_s`` until ``stop``."""
    await every(interval_s, stop, handlers.mark_due_tasks, "the task scheduler's tick")
