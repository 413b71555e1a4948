"""A served process leaves what it holds once started out of garbage collection: the
collector's oldest generation then walks what requests leave, not every module's objects."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest
from fastapi import FastAPI

from crm_shared.http.serving import freeze_heap_after_startup


class Connections:
    """Something a service's lifespan opens."""


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()  # the rest of the test session collects as before


def _collected(candidate: object) -> bool:
    return any(tracked is candidate for tracked in gc.get_objects())


async def test_what_the_app_holds_once_started_is_left_out_of_collection() -> None:
    opened: list[Connections] = []

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        opened.append(Connections())
        yield

    app = freeze_heap_after_startup(FastAPI(lifespan=lifespan))
    async with app.router.lifespan_context(app):
        assert opened, "the service's own start-up ran first"
        assert not _collected(opened[0])
        made_later = [Connections()]
        assert _collected(made_later)  # what requests make is collected as ever
