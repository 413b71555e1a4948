"""Pytest fixtures: one real Kafka broker and one real PostgreSQL per test session.

Infrastructure that is already running (``./crm up``, or ``KAFKA_BOOTSTRAP_SERVERS`` and
``DATABASE_URL`` pointing elsewhere) is reused; what the session starts, it stops.
Each test that needs tables gets a schema of its own, so tests never see each other's rows;
the schemas and topics named after the session's unique names are dropped when it ends.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from crm_devstack.cleanup import drop_run_data_now
from crm_devstack.stack import Endpoints, repo_root, session_stack

NAMES_GIVEN: list[str] = []
"""Every ``unique_name`` of the session: the schemas and topics carrying them are dropped when
the session ends (``crm_devstack.cleanup``), unless ``CRM_TEST_KEEP_DATA`` is set."""


@pytest.fixture(scope="session")
def stack() -> Iterator[Endpoints]:
    state_dir = Path(os.environ.get("CRM_TEST_STATE_DIR", repo_root() / ".local" / "stack"))
    with session_stack(state_dir) as endpoints:
        yield endpoints
        if not os.environ.get("CRM_TEST_KEEP_DATA"):
            drop_run_data_now(
                endpoints.database_url, endpoints.kafka_bootstrap_servers, NAMES_GIVEN
            )


@pytest.fixture(scope="session")
def kafka_bootstrap(stack: Endpoints) -> str:
    return stack.kafka_bootstrap_servers


@pytest.fixture(scope="session")
def database_url(stack: Endpoints) -> str:
    """The SQLAlchemy asyncpg URL of the session's PostgreSQL."""
    url = stack.database_url
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url}")


@pytest.fixture
def unique_name() -> str:
    """A name no other test uses: for schemas, topics and consumer groups (dropped when the
    session ends)."""
    name = f"t{uuid.uuid4().hex[:12]}"
    NAMES_GIVEN.append(name)
    return name


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[object]:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(database_url, pool_size=40, max_overflow=10)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def dev_issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The local OIDC issuer, serving its discovery document and keys on a port of its own."""
    import threading
    import time

    import uvicorn

    from crm_devstack.issuer import DevIssuer
    from crm_devstack.processes import free_port

    port = free_port()
    issuer = DevIssuer(tmp_path_factory.mktemp("issuer"), f"http://127.0.0.1:{port}")
    server = uvicorn.Server(
        uvicorn.Config(issuer.app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the dev issuer did not start"
        time.sleep(0.02)
    yield issuer
    server.should_exit = True
    thread.join(5)
