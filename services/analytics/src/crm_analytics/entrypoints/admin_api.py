"""Operators' view of the read models' generations: which serves, how a rebuild is going."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_analytics.adapters import generations
from crm_shared.http.requests import Who


def admin_router(engine: AsyncEngine, control: str) -> APIRouter:
    router = APIRouter(prefix="/admin", tags=["admin"])

    @router.get("/generations")
    async def list_generations(who: Who) -> list[dict[str, Any]]:
        """Every generation: live (serving), building (a rebuild: events applied, events/s,
        lag in records) or retired (kept for a rollback). For admins."""
        del who  # the token and the admin role are checked in resolving it
        async with engine.connect() as connection:
            return await generations.listed(connection, control)

    return router
