"""The HTTP baseline: the services' web stack with nothing of ours in it.

A bare FastAPI application on uvicorn (uvloop, httptools), as the services are served, whose one
route validates a small JSON body with pydantic and commits one INSERT with plain asyncpg. Driven
by the same load generator with the same clients as a service's benchmark, it shows what this
machine can do over HTTP at all, so a service's figure can be read as a ratio to it.

    uv run python -m bench.http_baseline   (standalone: prints its figures)
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import asyncpg
from fastapi import FastAPI, Request, status
from pydantic import BaseModel

from bench import vegeta
from crm_devstack.processes import free_port, wait_until

DSN_VARIABLE = "BENCH_BASELINE_DSN"
TABLE_VARIABLE = "BENCH_BASELINE_TABLE"


class Body(BaseModel):
    first_name: str
    last_name: str
    emails: list[str]
    tags: list[str] = []


class Answer(BaseModel):
    id: str
    first_name: str
    last_name: str


@asynccontextmanager
async def _pool(app: FastAPI) -> AsyncIterator[None]:
    app.state.pool = await asyncpg.create_pool(os.environ[DSN_VARIABLE], min_size=1, max_size=20)
    yield
    await app.state.pool.close()


def create_app() -> FastAPI:
    app = FastAPI(lifespan=_pool)
    table = os.environ[TABLE_VARIABLE]

    @app.post("/contacts", status_code=status.HTTP_201_CREATED)
    async def create(body: Body, request: Request) -> Answer:
        new_id = uuid.uuid4()
        async with request.app.state.pool.acquire() as connection:
            await connection.execute(
                f"INSERT INTO {table} (id, data) VALUES ($1, $2)", new_id, body.model_dump_json()
            )
        return Answer(id=str(new_id), first_name=body.first_name, last_name=body.last_name)

    return app


@contextmanager
def bare_http_server(dsn: str, workers: int) -> Iterator[str]:
    """The bare application in its own process(es), against a table of its own."""
    table = f"bench_http_{uuid.uuid4().hex[:8]}"
    _run_sql(dsn, f"CREATE TABLE {table} (id uuid PRIMARY KEY, data jsonb NOT NULL)")
    port = free_port()
    environment = {**os.environ, DSN_VARIABLE: dsn, TABLE_VARIABLE: table}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.http_baseline:create_app",
            "--factory",
            "--loop=uvloop",
            "--http=httptools",
            "--no-access-log",
            "--log-level=warning",
            f"--port={port}",
            f"--workers={workers}",
        ],
        env=environment,
        cwd=Path(__file__).parent.parent,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _answers(url), timeout=30, what="the bare HTTP baseline")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        _run_sql(dsn, f"DROP TABLE {table}")


def bare_http_creates(
    repo: Path, dsn: str, clients: int, seconds: float, workers: int
) -> dict[str, Any]:
    """Creates per second and latency of the bare application, driven like a service."""
    work = repo / ".local" / "bench-http-baseline"
    work.mkdir(parents=True, exist_ok=True)
    targets = work / "targets.jsonl"
    with bare_http_server(dsn, workers) as url:
        vegeta.write_targets(
            targets,
            (
                vegeta.Target(
                    "POST",
                    f"{url}/contacts",
                    {},
                    {"first_name": "Load", "last_name": f"Client{n}", "emails": [f"c{n}@x.org"]},
                )
                for n in range(int(seconds * 5000))
            ),
        )
        report = vegeta.attack(repo, targets, clients, seconds, work / "results.bin")
    return {**vegeta.summary(report, clients), "workers": workers}


def _answers(url: str) -> bool:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url}/openapi.json", timeout=2):
            return True
    except (urllib.error.URLError, OSError):
        return False


def _run_sql(dsn: str, statement: str) -> None:
    import asyncio

    async def run() -> None:
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run())
