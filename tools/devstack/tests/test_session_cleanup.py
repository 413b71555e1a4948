"""A test session drops, when it ends, the schemas and topics named after the unique names its
tests were given; with CRM_TEST_KEEP_DATA set it keeps them."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from crm_devstack.cleanup import drop_run_data
from crm_devstack.stack import Endpoints

INNER_SESSION = """
import asyncio, pathlib
import asyncpg

def test_makes_a_schema(stack, unique_name):
    async def make():
        connection = await asyncpg.connect(stack.database_url.replace("+asyncpg", ""))
        await connection.execute(f'CREATE SCHEMA "{unique_name}"')
        await connection.close()
    asyncio.run(make())
    pathlib.Path("made.txt").write_text(unique_name)
"""


def run_inner_session(tmp_path: Path, stack: Endpoints, keep: bool) -> str:
    """Runs a session of one test that makes a schema; the schema's name."""
    (tmp_path / "test_inner.py").write_text(INNER_SESSION)
    environment = {**os.environ, **stack.as_env()}
    environment.pop("CRM_TEST_KEEP_DATA", None)
    if keep:
        environment["CRM_TEST_KEEP_DATA"] = "1"
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "crm_devstack.pytest_plugin",
            "-p",
            "no:cacheprovider",
            "test_inner.py",
        ],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    return (tmp_path / "made.txt").read_text()


async def schema_exists(database_url: str, schema: str) -> bool:
    connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        found = await connection.fetchval(
            "SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema
        )
    finally:
        await connection.close()
    return bool(found)


@pytest.mark.integration
@pytest.mark.parametrize("keep", [False, True])
def test_a_sessions_schemas_go_when_it_ends_unless_kept(
    tmp_path: Path, stack: Endpoints, keep: bool
) -> None:
    made = run_inner_session(tmp_path, stack, keep)
    try:
        assert asyncio.run(schema_exists(stack.database_url, made)) is keep
    finally:
        asyncio.run(drop_run_data(stack.database_url, stack.kafka_bootstrap_servers, [made]))
