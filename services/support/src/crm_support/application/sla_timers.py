"""The SLA timer runner: fires due timers on time, in every replica, each timer once.

Replicas share the work with ``FOR UPDATE SKIP LOCKED``; a timer's effect (warning, breach,
escalation, closing) and its mark as fired commit together, so a crash before the commit
leaves the timer due for the next look and a crash after it leaves nothing to do again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from crm_shared.errors import ConcurrencyConflict, PlatformError
from crm_support.adapters import timers
from crm_support.application.cases import CaseHandlers, Clock

log = logging.getLogger(__name__)


async def fire_due(handlers: CaseHandlers, batch: int = 100, clock: Clock | None = None) -> int:
    """Fire the timers due now, a batch per transaction; returns how many fired."""
    fired = 0
    schema = handlers.store.schema
    while True:
        now = (clock or handlers.clock)()  # per batch: a timer is marked when it really fired
        raced = 0
        async with handlers.store.unit_of_work() as uow:
            due = await timers.claim_due(uow.connection, schema, now, batch)
            for timer in due:
                try:
                    async with uow.connection.begin_nested():
                        await handlers.fire_timer(uow, timer, now)
                except ConcurrencyConflict:
                    raced += 1  # the case changed meanwhile: the timer stays due
                except PlatformError:
                    # a timer the case refuses (gone, say) must not hold up the others; any
                    # other failure (the database) rolls the batch back for the next look
                    log.exception(
                        "timer %s of case %s failed; set aside", timer.kind, timer.case_id
                    )
                    await timers.mark_fired(uow.connection, schema, timer, now)
        fired += len(due) - raced
        if len(due) < batch or raced:
            return fired


async def run_timers(handlers: CaseHandlers, max_sleep_s: float, stop: asyncio.Event) -> None:
    """Fire timers as they fall due (sleeping until the next one, ``max_sleep_s`` at most, so a
    timer set by another replica is seen soon) until ``stop``."""
    while not stop.is_set():
        pause = max_sleep_s
        try:
            await fire_due(handlers)
            async with handlers.store.engine.connect() as connection:
                upcoming = await timers.next_due(connection, handlers.store.schema)
            if upcoming is not None:
                pause = min(max_sleep_s, (upcoming - datetime.now(UTC)).total_seconds())
        except Exception:  # the database may be away: try again shortly
            log.exception("firing SLA timers failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(0.01, pause))
