"""A service of the platform started as its own process for a benchmark, in a fresh schema of
the local stack (started for the run, or the one ``./crm up`` keeps)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

import asyncpg
import psutil

from crm_devstack.cleanup import drop_run_data_now
from crm_devstack.processes import repo_root
from crm_devstack.services import SERVICES, ServiceProcess
from crm_devstack.stack import session_stack


@dataclass(frozen=True)
class ServiceUnderTest:
    url: str
    schema: str
    dsn: str
    """The database for plain asyncpg (the baselines)."""
    kafka_bootstrap_servers: str
    pid: int
    stop: Callable[[], None]
    """Stop the service early (to measure a baseline on the stack without it); idempotent."""

    async def analyze(self) -> None:
        """Refresh PostgreSQL's statistics of the service's tables, as autovacuum does on a live
        database (its first look at a new table can be a minute away): plans made while a
        table was empty scan it whole, one scan per request as it grows."""
        connection = await asyncpg.connect(self.dsn)
        try:
            tables = await connection.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = $1", self.schema
            )
            for table in tables:
                await connection.execute(f'ANALYZE "{self.schema}"."{table["tablename"]}"')
        finally:
            await connection.close()

    def cpu_seconds(self) -> float:
        """CPU time (user and system) the service's process and its workers have used so far."""
        process = psutil.Process(self.pid)
        total = 0.0
        for each in [process, *process.children(recursive=True)]:
            with suppress(psutil.NoSuchProcess):
                times = each.cpu_times()
                total += times.user + times.system
        return total


@contextmanager
def service_under_test(name: str) -> Iterator[ServiceUnderTest]:
    schema = f"bench_{name}_{uuid.uuid4().hex[:6]}"
    with session_stack(repo_root() / ".local" / "stack") as endpoints:
        os.environ[f"{name.upper()}_DB_SCHEMA"] = schema
        os.environ["CRM_LOG_LEVEL"] = "WARNING"
        [spec] = [s for s in SERVICES if s.name == name]
        service = ServiceProcess(repo_root() / ".local" / f"bench-{name}" / "service", spec)
        service.start(endpoints.kafka_bootstrap_servers, endpoints.database_url)
        try:
            yield ServiceUnderTest(
                service.url,
                schema,
                endpoints.database_url.replace("+asyncpg", ""),
                endpoints.kafka_bootstrap_servers,
                service.pid or 0,
                service.stop,
            )
        finally:
            service.stop()
            drop_run_data_now(endpoints.database_url, endpoints.kafka_bootstrap_servers, [schema])
