"""``crm-<service> migrate``: the deployment's init step. It brings the service's schema up to
date and exits; run twice it changes nothing; a service told not to migrate
(CRM_MIGRATE_ON_START=false) leaves the schema alone, and serves once the step has made it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_devstack.services import SERVICES, ServiceProcess
from crm_devstack.stack import Endpoints

pytestmark = pytest.mark.integration

MIGRATING = ["contacts", "sales", "support", "analytics"]


def migrate(service: str, database_url: str, schema: str) -> subprocess.CompletedProcess[str]:
    executable = shutil.which(f"crm-{service}", path=str(Path(sys.executable).parent))
    assert executable is not None
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        f"{service.upper()}_DB_SCHEMA": schema,
        "CRM_LOG_FORMAT": "console",
    }
    return subprocess.run(
        [executable, "migrate"], env=environment, capture_output=True, text=True, timeout=120
    )


async def revision(engine: AsyncEngine, schema: str) -> str | None:
    async with engine.connect() as connection:
        exists = (
            await connection.execute(
                text("SELECT to_regclass(:table) IS NOT NULL"),
                {"table": f'"{schema}".alembic_version'},
            )
        ).scalar_one()
        if not exists:
            return None
        rows = await connection.execute(text(f'SELECT version_num FROM "{schema}".alembic_version'))
        return ",".join(sorted(row.version_num for row in rows))


@pytest.mark.parametrize("service", MIGRATING)
async def test_migrate_brings_the_schema_up_to_date_and_a_second_run_changes_nothing(
    service: str, database_url: str, engine: AsyncEngine, unique_name: str
) -> None:
    schema = f"{unique_name}_{service}"
    assert await revision(engine, schema) is None

    first = migrate(service, database_url, schema)
    assert first.returncode == 0, first.stderr
    made = await revision(engine, schema)
    assert made

    second = migrate(service, database_url, schema)
    assert second.returncode == 0, second.stderr
    assert await revision(engine, schema) == made


def test_migrate_without_a_database_fails_with_a_non_zero_exit() -> None:
    refused = migrate("contacts", "postgresql://crm@127.0.0.1:1/crm", "nowhere")
    assert refused.returncode != 0
    assert "127.0.0.1" in refused.stderr or "Connect" in refused.stderr


async def test_a_service_told_not_to_migrate_leaves_it_to_the_init_step(
    stack: Endpoints, database_url: str, engine: AsyncEngine, tmp_path: Path, unique_name: str
) -> None:
    schema = f"{unique_name}_contacts"
    spec = next(spec for spec in SERVICES if spec.name == "contacts")
    settings = {
        "CONTACTS_DB_SCHEMA": schema,
        "CRM_MIGRATE_ON_START": "false",
        "CRM_TOPIC_PREFIX": unique_name,
    }
    untouched = ServiceProcess(tmp_path / "before", spec)
    untouched.start(stack.kafka_bootstrap_servers, database_url, extra=settings)
    untouched.stop()
    assert await revision(engine, schema) is None, "the service migrated on its own"

    assert migrate("contacts", database_url, schema).returncode == 0
    process = ServiceProcess(tmp_path / "after", spec)
    process.start(stack.kafka_bootstrap_servers, database_url, extra=settings)
    try:
        async with httpx.AsyncClient() as http:
            created = await http.post(
                f"{process.url}/contacts",
                json={"first_name": "Ada", "last_name": "Lovelace"},
                headers={"X-Tenant-Id": "acme", "X-Actor-Id": "ada"},
            )
        assert created.status_code == 201, created.text
    finally:
        process.stop()
