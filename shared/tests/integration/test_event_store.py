"""The event store: optimistic concurrency, streams, time travel and the global log."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from crm_shared.errors import ConcurrencyConflict
from crm_shared.eventstore import EventStore
from crm_shared.eventstore.commits import COMMITS
from crm_shared.eventstore.requirements import STREAM_EXISTS, Refused, requirement
from crm_shared.sql import DriverReads, driver_of

from .helpers import METADATA, contact_created, new_stream_id, renamed

pytestmark = pytest.mark.integration


async def create_names_table(store: EventStore) -> None:
    """A table of the test's own beside the event store, for rows written with events."""
    async with store.unit_of_work() as uow:
        await uow.connection.execute(text(f"CREATE TABLE {store.schema}.names (name text)"))


async def test_appends_a_batch_as_consecutive_versions(store: EventStore) -> None:
    stream = new_stream_id()
    recorded = await store.append(
        stream, 0, [contact_created(stream), renamed(stream, "Ada L.")], METADATA
    )
    assert [e.stream_version for e in recorded] == [1, 2]
    assert recorded[0].global_position < recorded[1].global_position
    events = await store.read_stream(stream)
    assert [e.event_type for e in events] == [
        "crm.contacts.contact.created",
        "crm.contacts.contact.renamed",
    ]
    assert events[1].data == {"name": "Ada L."}
    assert events[0].metadata == METADATA


async def test_a_stale_expected_version_is_a_conflict_naming_both_versions(
    store: EventStore,
) -> None:
    stream = new_stream_id()
    await store.append(stream, 0, [contact_created(stream)], METADATA)
    with pytest.raises(ConcurrencyConflict) as raised:
        await store.append(stream, 0, [renamed(stream, "Grace")], METADATA)
    assert (raised.value.expected_version, raised.value.actual_version) == (0, 1)
    assert raised.value.status_code == 409
    assert await store.stream_version(stream) == 1


async def test_of_concurrent_appends_at_the_same_version_exactly_one_wins(
    store: EventStore,
) -> None:
    stream = new_stream_id()
    await store.append(stream, 0, [contact_created(stream)], METADATA)

    async def rename(name: str) -> str:
        try:
            await store.append(stream, 1, [renamed(stream, name)], METADATA)
        except ConcurrencyConflict as conflict:
            assert (conflict.expected_version, conflict.actual_version) == (1, 2)
            return "conflict"
        return "won"

    outcomes = await asyncio.gather(*(rename(f"name-{i}") for i in range(16)))
    assert sorted(outcomes).count("won") == 1
    assert outcomes.count("conflict") == 15
    assert [e.stream_version for e in await store.read_stream(stream)] == [1, 2]


async def test_a_writer_blocked_by_an_uncommitted_append_gets_the_conflict_after_commit(
    store: EventStore,
) -> None:
    stream = new_stream_id()
    async with store.unit_of_work() as first:
        await first.append(stream, 0, [contact_created(stream)], METADATA)
        second = asyncio.create_task(store.append(stream, 0, [contact_created(stream)], METADATA))
        await asyncio.sleep(0.3)
        assert not second.done()  # waits on the first writer's uncommitted version 1
    with pytest.raises(ConcurrencyConflict):
        await second


async def test_read_tables_commit_or_roll_back_with_the_append(store: EventStore) -> None:
    stream = new_stream_id()
    await create_names_table(store)
    with pytest.raises(RuntimeError):
        async with store.unit_of_work() as uow:
            await uow.append(stream, 0, [contact_created(stream)], METADATA)
            await uow.connection.execute(text(f"INSERT INTO {store.schema}.names VALUES ('Ada')"))
            raise RuntimeError("the command failed after appending")
    assert await store.read_stream(stream) == []
    async with store.engine.connect() as connection:
        count = await connection.scalar(text(f"SELECT count(*) FROM {store.schema}.names"))
    assert count == 0


async def test_the_stream_as_of_a_moment_holds_only_what_was_recorded_by_then(
    store: EventStore,
) -> None:
    stream = new_stream_id()
    await store.append(stream, 0, [contact_created(stream)], METADATA)
    await asyncio.sleep(0.05)
    between = datetime.now(UTC)
    await asyncio.sleep(0.05)
    await store.append(stream, 1, [renamed(stream, "Grace")], METADATA)
    past = await store.read_stream(stream, as_of=between)
    assert [e.stream_version for e in past] == [1]
    assert len(await store.read_stream(stream)) == 2


async def test_reads_all_events_in_global_position_order(store: EventStore) -> None:
    streams = [new_stream_id() for _ in range(3)]
    for stream in streams:
        await store.append(stream, 0, [contact_created(stream)], METADATA)
    everything = await store.read_all()
    assert [e.stream_id for e in everything] == streams
    after_first = await store.read_all(after_position=everything[0].global_position, limit=1)
    assert [e.stream_id for e in after_first] == streams[1:2]


async def test_stored_events_are_immutable(store: EventStore) -> None:
    stream = new_stream_id()
    await store.append(stream, 0, [contact_created(stream)], METADATA)
    for statement in (
        f"UPDATE {store.schema}.events SET data = '{{}}'",
        f"DELETE FROM {store.schema}.events",
        f"TRUNCATE {store.schema}.events",
    ):
        with pytest.raises(DBAPIError, match="immutable"):
            async with store.engine.begin() as connection:
                await connection.execute(text(statement))
    assert len(await store.read_stream(stream)) == 1


async def test_migrations_are_idempotent_and_keep_each_service_in_its_schema(
    database_url: str, store: EventStore
) -> None:
    from crm_shared.eventstore import upgrade

    await upgrade(database_url, store.schema)
    async with store.engine.connect() as connection:
        tables = set(
            await connection.scalars(
                text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
                {"s": store.schema},
            )
        )
    assert {"events", "relay_checkpoints", "processed_events", "alembic_version"} <= tables


async def test_a_batch_that_loses_part_of_its_versions_to_a_concurrent_writer_writes_nothing(
    store: EventStore,
) -> None:
    stream = new_stream_id()
    await store.append(stream, 0, [contact_created(stream)], METADATA)
    async with store.unit_of_work() as rival:
        await rival.append(stream, 1, [renamed(stream, "rival")], METADATA)  # takes version 2
        batch = asyncio.create_task(
            store.append(stream, 1, [renamed(stream, "a"), renamed(stream, "b")], METADATA)
        )
        await asyncio.sleep(0.3)  # the batch now waits on version 2
    with pytest.raises(ConcurrencyConflict):
        await batch
    assert [e.data.get("name") for e in await store.read_stream(stream)] == ["Ada", "rival"]


async def test_several_streams_are_read_at_once_each_in_version_order(store: EventStore) -> None:
    first, second, empty = new_stream_id(), new_stream_id(), new_stream_id()
    await store.append(first, 0, [contact_created(first)], METADATA)
    await store.append(second, 0, [contact_created(second)], METADATA)
    await store.append(first, 1, [renamed(first, "Ada L."), renamed(first, "Ada")], METADATA)
    async with store.unit_of_work() as uow:
        read = await uow.read_streams([second, empty, first])
        alone = await uow.read_stream(first)
    assert list(read) == [second, empty, first]
    assert [e.stream_version for e in read[first]] == [1, 2, 3]
    assert read[first] == alone
    assert [e.stream_id for e in read[second]] == [second]
    assert read[empty] == []


async def test_a_stream_started_within_the_callers_own_statement_is_written_with_its_rows(
    store: EventStore,
) -> None:
    stream = new_stream_id()
    await create_names_table(store)
    async with store.unit_of_work() as uow:
        start = uow.start_stream(
            stream, [contact_created(stream), renamed(stream, "Ada L.")], METADATA
        )
        await uow.fetch(
            f"WITH named AS (INSERT INTO {store.schema}.names VALUES (:name)),"
            f" started AS ({start.statement}) SELECT {start.requirement('started')}",
            {"name": "Ada", **start.params},
        )
    recorded = await store.read_stream(stream)
    assert [(e.stream_version, e.event_type) for e in recorded] == [
        (1, "crm.contacts.contact.created"),
        (2, "crm.contacts.contact.renamed"),
    ]
    assert recorded[0].global_position < recorded[1].global_position
    assert recorded[1].data == {"name": "Ada L."}
    assert recorded[0].metadata == METADATA


async def test_starting_a_stream_that_exists_is_refused_and_nothing_of_it_stays(
    store: EventStore,
) -> None:
    stream = new_stream_id()
    await store.append(stream, 0, [contact_created(stream)], METADATA)
    with pytest.raises(Refused) as raised:
        async with store.unit_of_work() as uow:
            start = uow.start_stream(
                stream, [contact_created(stream), renamed(stream, "A.")], METADATA
            )
            await uow.fetch(
                f"WITH started AS ({start.statement}) SELECT {start.requirement('started')}",
                start.params,
            )
    assert raised.value.refusal == STREAM_EXISTS
    assert len(await store.read_stream(stream)) == 1


async def test_a_statement_run_as_a_transaction_of_its_own_keeps_all_of_it_or_nothing(
    store: EventStore,
) -> None:
    stream = new_stream_id()
    await create_names_table(store)
    start = store.start_stream(stream, [contact_created(stream), renamed(stream, "A.")], METADATA)
    holds = requirement(store.schema, "CAST(:holds AS boolean)", "it does not hold")
    statement = (
        f"WITH named AS (INSERT INTO {store.schema}.names VALUES (:name)),"
        f" started AS ({start.statement})"
        f" SELECT count(*) AS written, {holds} FROM started"
    )

    commits = COMMITS.count(store.schema)  # what wakes the relay
    with pytest.raises(Refused) as refused:  # a requirement fails: nothing stays
        await store.fetch_as_transaction(
            statement, {"name": "Ada", "holds": False, **start.params}, writes_events=True
        )
    assert refused.value.refusal == "it does not hold"
    assert await store.read_stream(stream) == []
    assert COMMITS.count(store.schema) == commits
    async with store.engine.connect() as connection:
        names = (await connection.execute(text(f"SELECT name FROM {store.schema}.names"))).all()
    assert names == []

    [row] = await store.fetch_as_transaction(
        statement, {"name": "Ada", "holds": True, **start.params}, writes_events=True
    )
    assert row["written"] == 2
    assert [e.stream_version for e in await store.read_stream(stream)] == [1, 2]
    assert COMMITS.count(store.schema) == commits + 1
    async with store.engine.connect() as connection:
        names = (await connection.execute(text(f"SELECT name FROM {store.schema}.names"))).all()
    assert names == [("Ada",)]


async def test_a_started_stream_takes_its_transaction_id_before_it_draws_positions(
    store: EventStore,
) -> None:
    """The relay steps over a gap once every transaction that had an id when it saw the gap has
    ended (``crm_shared.relay.gaps``), so a writer must have its id before it draws a position.
    A statement that is a transaction of its own has no BEGIN to take it first: its INSERT
    computes the id under the node that draws the positions (a sort, which reads every row
    before it passes one on)."""
    stream = new_stream_id()
    start = store.start_stream(stream, [contact_created(stream), renamed(stream, "A.")], METADATA)
    explain = "EXPLAIN (VERBOSE, FORMAT JSON) WITH started AS ({}) SELECT count(*) FROM started"
    async with store.engine.connect() as connection:
        [[plan]] = await DriverReads(await driver_of(connection)).fetch(
            explain.format(start.statement), start.params
        )

    def nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
        yield node
        for child in node.get("Plans", []):
            yield from nodes(child)

    def computes(node: dict[str, Any], expression: str) -> bool:
        return any(expression in output for output in node.get("Output", []))

    drawing = [n for n in nodes(plan[0]["Plan"]) if computes(n, "nextval(")]
    assert len(drawing) == 1
    assert any(computes(n, "pg_current_xact_id()") for n in nodes(drawing[0]) if n != drawing[0])
