"""The PostgreSQL baseline: the same transactions as the event store's, with plain asyncpg.

32 writers each commit single-row INSERT transactions into a bare table with the same columns;
the ratio to the event store's figure shows what SQLAlchemy, the version check and the gap
rule cost on top of PostgreSQL itself.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import asyncpg


async def single_row_commits(dsn: str, writers: int, per_writer: int) -> dict[str, float]:
    table = f"bench_raw_{uuid.uuid4().hex[:8]}"
    pool = await asyncpg.create_pool(dsn, min_size=writers, max_size=writers)
    assert pool is not None
    async with pool.acquire() as connection:
        await connection.execute(
            f"CREATE TABLE {table} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
            "event_id uuid UNIQUE, stream_id text, stream_version int, data jsonb, "
            "UNIQUE (stream_id, stream_version))"
        )
    data = json.dumps({"name": "Ada Lovelace", "email": "ada@example.com"})

    async def writer() -> None:
        stream = str(uuid.uuid4())
        async with pool.acquire() as connection:
            for version in range(1, per_writer + 1):
                async with connection.transaction():
                    await connection.execute(
                        f"INSERT INTO {table} (event_id, stream_id, stream_version, data) "
                        "VALUES ($1, $2, $3, $4)",
                        uuid.uuid4(),
                        stream,
                        version,
                        data,
                    )

    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(writers)))
    elapsed = time.perf_counter() - started
    async with pool.acquire() as connection:
        await connection.execute(f"DROP TABLE {table}")
    await pool.close()
    return {"transactions": writers * per_writer, "commits_per_s": writers * per_writer / elapsed}
