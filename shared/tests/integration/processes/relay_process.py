"""A relay in a process of its own, for crash tests.

``--die-before-checkpoint N`` makes the process SIGKILL itself on the N-th checkpoint, after the
batch was acknowledged by Kafka and before its position was recorded: the worst moment.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal

from sqlalchemy.ext.asyncio import create_async_engine

from crm_shared.relay import OutboxRelay, RelayConfig


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--schema", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--die-before-checkpoint", type=int, default=0)
    args = parser.parse_args()

    engine = create_async_engine(args.database_url)
    config = RelayConfig(
        schema=args.schema,
        topic=args.topic,
        source="/crm/test",
        bootstrap_servers=args.bootstrap,
        batch_size=args.batch_size,
        checkpoint_interval=0,  # after every batch: the crash test counts checkpoints
    )
    relay = OutboxRelay(engine, config)
    if args.die_before_checkpoint:
        checkpoints = 0
        save = relay.reader.save_checkpoint

        async def save_or_die(topic: str, position: int) -> None:
            nonlocal checkpoints
            checkpoints += 1
            if checkpoints == args.die_before_checkpoint:
                os.kill(os.getpid(), signal.SIGKILL)
            await save(topic, position)

        relay.reader.save_checkpoint = save_or_die  # type: ignore[method-assign]

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await relay.run(stop)
    finally:
        await relay.close()
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
