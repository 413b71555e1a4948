"""A consumer service in a process of its own, for shutdown and crash tests."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).parents[1]))

from read_model import applier

from crm_shared.consumer import ConsumerConfig, IdempotentConsumer, consumer_app


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--schema", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--slow-seconds", type=float, default=0.0)
    parser.add_argument("--graceful-timeout", type=float, default=20.0)
    args = parser.parse_args()

    engine = create_async_engine(args.database_url)
    config = ConsumerConfig(
        group_id=args.group,
        topics=[args.topic],
        schema=args.schema,
        bootstrap_servers=args.bootstrap,
        max_records=10,
    )
    consumer = IdempotentConsumer(engine, config, applier(args.schema, args.slow_seconds))
    app = consumer_app(args.bootstrap, [consumer], graceful_timeout=args.graceful_timeout)
    try:
        await app.run()
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
