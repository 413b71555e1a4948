"""Import jobs, their uploaded file (in chunks, so any replica can read it) and row errors."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crm_shared.sql import sql

COUNTS = ("created", "updated", "skipped", "unchanged", "failed")


@dataclass(frozen=True)
class ImportJob:
    import_id: str
    tenant_id: str
    actor: str
    file_sha256: str
    file_bytes: int
    mapping: dict[str, str]
    mode: str
    on_duplicate: str
    status: str
    rows_done: int
    counts: dict[str, int]
    problem: str | None
    created_at: datetime
    finished_at: datetime | None


def _job(row: Any) -> ImportJob:
    return ImportJob(
        row.import_id,
        row.tenant_id,
        row.actor,
        row.file_sha256,
        row.file_bytes,
        row.mapping,
        row.mode,
        row.on_duplicate,
        row.status,
        row.rows_done,
        {name: getattr(row, name) for name in COUNTS},
        row.problem,
        row.created_at,
        row.finished_at,
    )


_COLUMNS = (
    "import_id, tenant_id, actor, file_sha256, file_bytes, mapping, mode, on_duplicate, status,"
    " rows_done, created, updated, skipped, unchanged, failed, problem, created_at, finished_at"
)


async def add_chunk(
    connection: AsyncConnection, schema: str, import_id: str, seq: int, data: bytes
) -> None:
    await connection.execute(
        sql(
            f'INSERT INTO "{schema}".import_chunks (import_id, seq, data) VALUES (:id, :seq, :data)'
        ),
        {"id": import_id, "seq": seq, "data": data},
    )


async def add_job(
    connection: AsyncConnection,
    schema: str,
    import_id: str,
    tenant_id: str,
    actor: str,
    file_sha256: str,
    file_bytes: int,
    mapping: dict[str, str],
    mode: str,
    on_duplicate: str,
) -> None:
    await connection.execute(
        sql(
            f'INSERT INTO "{schema}".imports (import_id, tenant_id, actor, file_sha256,'
            " file_bytes, mapping, mode, on_duplicate, status) VALUES (:id, :tenant, :actor,"
            " :sha, :bytes, CAST(:mapping AS jsonb), :mode, :dup, 'queued')"
        ),
        {
            "id": import_id,
            "tenant": tenant_id,
            "actor": actor,
            "sha": file_sha256,
            "bytes": file_bytes,
            "mapping": json.dumps(mapping),
            "mode": mode,
            "dup": on_duplicate,
        },
    )


async def get_job(
    connection: AsyncConnection, schema: str, tenant_id: str, import_id: str
) -> ImportJob | None:
    result = await connection.execute(
        sql(
            f'SELECT {_COLUMNS} FROM "{schema}".imports'
            " WHERE tenant_id = :tenant AND import_id = :id"
        ),
        {"tenant": tenant_id, "id": import_id},
    )
    row = result.one_or_none()
    return _job(row) if row else None


async def claim(
    connection: AsyncConnection, schema: str, owner: str, lease_seconds: float
) -> ImportJob | None:
    """The oldest waiting job, or one whose worker's lease ran out (it crashed): now ours."""
    result = await connection.execute(
        sql(
            f'UPDATE "{schema}".imports SET status = :running, lease_owner = :owner,'
            " lease_until = now() + make_interval(secs => :lease) WHERE import_id = ("
            f' SELECT import_id FROM "{schema}".imports'
            " WHERE status IN ('queued', 'running')"
            " AND (lease_until IS NULL OR lease_until < now()) ORDER BY created_at"
            f" FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING {_COLUMNS}"
        ),
        {"owner": owner, "lease": lease_seconds, "running": "running"},
    )
    row = result.one_or_none()
    return _job(row) if row else None


async def record_progress(
    connection: AsyncConnection,
    schema: str,
    import_id: str,
    owner: str,
    rows_done: int,
    counts: dict[str, int],
    lease_seconds: float,
) -> bool:
    """Progress of a batch, in the batch's transaction; False when the lease was lost (another
    worker took the job over: this one must stop and roll back)."""
    result = await connection.execute(
        sql(
            f'UPDATE "{schema}".imports SET rows_done = :rows, created = created + :created,'
            " updated = updated + :updated, skipped = skipped + :skipped,"
            " unchanged = unchanged + :unchanged, failed = failed + :failed,"
            " lease_until = now() + make_interval(secs => :lease)"
            " WHERE import_id = :id AND lease_owner = :owner"
        ),
        {"id": import_id, "owner": owner, "rows": rows_done, "lease": lease_seconds, **counts},
    )
    return result.rowcount == 1


async def add_errors(
    connection: AsyncConnection, schema: str, import_id: str, errors: list[tuple[int, str, str]]
) -> None:
    if not errors:
        return
    await connection.execute(
        sql(
            f'INSERT INTO "{schema}".import_errors (import_id, line, field, reason)'
            " SELECT :id, l, f, r FROM unnest(CAST(:lines AS integer[]), CAST(:fields AS text[]),"
            " CAST(:reasons AS text[])) AS e(l, f, r) ON CONFLICT DO NOTHING"
        ),
        {
            "id": import_id,
            "lines": [line for line, _, _ in errors],
            "fields": [field for _, field, _ in errors],
            "reasons": [reason for _, _, reason in errors],
        },
    )


async def finish(
    connection: AsyncConnection, schema: str, import_id: str, status: str, problem: str | None
) -> None:
    """Done (or failed): the uploaded file goes, it holds personal data."""
    await connection.execute(
        sql(
            f'UPDATE "{schema}".imports SET status = :status, problem = :problem,'
            " finished_at = now(), lease_owner = NULL, lease_until = NULL WHERE import_id = :id"
        ),
        {"id": import_id, "status": status, "problem": problem},
    )
    await connection.execute(
        sql(f'DELETE FROM "{schema}".import_chunks WHERE import_id = :id'), {"id": import_id}
    )


async def errors_page(
    connection: AsyncConnection, schema: str, import_id: str, after_line: int, limit: int
) -> list[tuple[int, str, str]]:
    result = await connection.execute(
        sql(
            f'SELECT line, field, reason FROM "{schema}".import_errors'
            " WHERE import_id = :id AND line > :after ORDER BY line, field LIMIT :limit"
        ),
        {"id": import_id, "after": after_line, "limit": limit},
    )
    return [(row.line, row.field, row.reason) for row in result]


async def chunks(engine: AsyncEngine, schema: str, import_id: str) -> AsyncIterator[bytes]:
    """The uploaded file, a chunk at a time (never all of it in memory)."""
    seq = 0
    while True:
        async with engine.connect() as connection:
            data = await connection.scalar(
                sql(
                    f'SELECT data FROM "{schema}".import_chunks'
                    " WHERE import_id = :id AND seq = :seq"
                ),
                {"id": import_id, "seq": seq},
            )
        if data is None:
            return
        yield bytes(data)
        seq += 1
