"""Commits of events in this process, announced to whoever waits for them (the outbox relay).

A relay that finds nothing to publish waits for the next commit to its schema instead of asking
the database again and again; commits made by other processes (other replicas) are found by
its fallback poll. Each schema counts its commits, so a waiter that read the count before
looking at the table cannot miss a commit made while it looked.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict


class CommitSignal:
    def __init__(self) -> None:
        self._counts: dict[str, int] = defaultdict(int)
        self._waiters: dict[str, set[asyncio.Future[None]]] = defaultdict(set)

    def count(self, schema: str) -> int:
        """How many units of work have committed events to ``schema`` in this process."""
        return self._counts[schema]

    def committed(self, schema: str) -> None:
        """Announce a commit to ``schema``: every waiter wakes."""
        self._counts[schema] += 1
        for waiter in self._waiters.pop(schema, set()):
            if not waiter.done():
                waiter.get_loop().call_soon_threadsafe(_wake, waiter)

    async def wait(self, schema: str, seen: int, longest: float, stop: asyncio.Event) -> None:
        """Return once ``schema`` has more than ``seen`` commits, ``stop`` is set, or after
        ``longest`` seconds, whichever comes first."""
        if self._counts[schema] > seen or stop.is_set():
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters[schema].add(waiter)
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({waiter, stopping}, timeout=longest, return_when="FIRST_COMPLETED")
        finally:
            stopping.cancel()
            self._waiters[schema].discard(waiter)
            waiter.cancel()


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


COMMITS = CommitSignal()
"""The process's signal: event stores announce on it, relays wait on it."""
