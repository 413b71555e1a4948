"""ASGI apps served on loopback by uvicorn inside the caller's event loop: for tests where one
service reaches another as it does in production, over HTTP with its own client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, nullcontext
from typing import Any

import uvicorn

from crm_devstack.processes import free_port


@asynccontextmanager
async def serving(apps: Mapping[str, Any]) -> AsyncIterator[dict[str, str]]:
    """Each app's base URL while the block runs. The apps' lifespans are not run: the tests
    build them on the session's engine, with their background work switched off."""
    servers: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []
    urls: dict[str, str] = {}
    try:
        for name, app in apps.items():
            port = free_port()
            config = uvicorn.Config(
                app, host="127.0.0.1", port=port, lifespan="off", log_config=None, access_log=False
            )
            server = uvicorn.Server(config)
            # the test process keeps its own signal handlers (several servers would restore
            # one another's on the way out)
            server.capture_signals = nullcontext  # type: ignore[method-assign,assignment]
            servers.append((server, asyncio.create_task(server.serve())))
            urls[name] = f"http://127.0.0.1:{port}"
        for server, task in servers:
            while not server.started:
                if task.done():
                    task.result()  # its error, such as a port taken meanwhile
                await asyncio.sleep(0.01)
        yield urls
    finally:
        for server, _ in servers:
            server.should_exit = True
        await asyncio.gather(*(task for _, task in servers), return_exceptions=True)
