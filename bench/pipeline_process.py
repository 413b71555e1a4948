"""The relay or the consumer of the end-to-end benchmark, each in its own process.

In production they are separate processes (usually separate pods); running them beside the
writers in one Python process would measure the interpreter's single core, not the platform.
The consumer's read model records, for every event, the seconds from just before its append
(``sent_at`` in the event) to its application, computed by PostgreSQL's clock.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from crm_shared.consumer import ConsumerConfig, IdempotentConsumer, consumer_broker
from crm_shared.events.envelope import EventEnvelope
from crm_shared.relay import OutboxRelay, RelayConfig


def view_applier(schema: str):  # type: ignore[no-untyped-def]
    upsert = text(
        f"INSERT INTO {schema}.contact_view (customer, name, version, latency_s, sent_at)"
        " SELECT c, n, v, extract(epoch FROM clock_timestamp()) - s, s"
        " FROM unnest(CAST(:c AS text[]), CAST(:n AS text[]), CAST(:v AS int[]),"
        " CAST(:s AS float8[])) AS t(c, n, v, s)"
    )

    async def apply_batch(connection: AsyncConnection, events: Sequence[EventEnvelope]) -> None:
        await connection.execute(
            upsert,
            {
                "c": [e.partitionkey for e in events],
                "n": [str(e.data.get("name")) for e in events],
                "v": [e.streamversion for e in events],
                "s": [float(e.data.get("sent_at", 0.0)) for e in events],
            },
        )

    return apply_batch


async def run(args: argparse.Namespace) -> None:
    engine = create_async_engine(args.database_url, pool_size=4)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        if args.role == "relay":
            relay = OutboxRelay(
                engine,
                RelayConfig(
                    schema=args.schema,
                    topic=args.topic,
                    source="/crm/bench",
                    bootstrap_servers=args.bootstrap,
                    batch_size=1000,
                    poll_interval=0.005,
                ),
            )
            try:
                await relay.run(stop)
            finally:
                await relay.close()
        else:
            consumer = IdempotentConsumer(
                engine,
                ConsumerConfig(
                    group_id=f"{args.schema}-view",
                    topics=[args.topic],
                    schema=args.schema,
                    bootstrap_servers=args.bootstrap,
                    max_records=1000,
                ),
                apply_batch=view_applier(args.schema),
            )
            broker = consumer_broker(args.bootstrap, [consumer], graceful_timeout=10)
            await broker.start()
            await stop.wait()
            await broker.stop()
            await consumer.close()
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=["relay", "consumer"])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--schema", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--bootstrap", required=True)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
