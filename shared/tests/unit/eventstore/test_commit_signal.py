"""A relay waiting for commits wakes on the next one, never misses one, and stops on request."""

from __future__ import annotations

import asyncio
import time

from crm_shared.eventstore.commits import CommitSignal


async def test_a_waiter_wakes_when_its_schema_commits() -> None:
    signal, stop = CommitSignal(), asyncio.Event()
    waiting = asyncio.create_task(signal.wait("contacts", signal.count("contacts"), 30, stop))
    await asyncio.sleep(0.01)
    assert not waiting.done()
    signal.committed("contacts")
    await asyncio.wait_for(waiting, 1)


async def test_a_commit_made_before_the_wait_began_is_not_missed() -> None:
    signal, stop = CommitSignal(), asyncio.Event()
    seen = signal.count("contacts")
    signal.committed("contacts")  # while the relay looked at the table
    started = time.monotonic()
    await signal.wait("contacts", seen, 30, stop)
    assert time.monotonic() - started < 0.1


async def test_a_commit_to_another_schema_does_not_wake_the_waiter() -> None:
    signal, stop = CommitSignal(), asyncio.Event()
    waiting = asyncio.create_task(signal.wait("contacts", signal.count("contacts"), 30, stop))
    await asyncio.sleep(0.01)
    signal.committed("sales")
    await asyncio.sleep(0.05)
    assert not waiting.done()
    stop.set()
    await asyncio.wait_for(waiting, 1)


async def test_without_commits_the_wait_ends_after_its_timeout() -> None:
    signal, stop = CommitSignal(), asyncio.Event()
    started = time.monotonic()
    await signal.wait("contacts", signal.count("contacts"), 0.1, stop)
    assert 0.09 <= time.monotonic() - started < 1.0
