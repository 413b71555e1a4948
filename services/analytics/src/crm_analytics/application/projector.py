"""Applies the events of every source to the read models (inside the consumer's transaction,
which also records the event as applied: a redelivered or replayed event changes nothing)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from crm_analytics.adapters import read_model
from crm_analytics.domain.projection import project
from crm_analytics.domain.sources import decode
from crm_shared.consumer import ApplyEvent
from crm_shared.events import EventEnvelope


def projector(schema: str) -> ApplyEvent:
    async def apply(connection: AsyncConnection, envelope: EventEnvelope) -> None:
        event = decode(envelope)
        if event is None:
            return
        changes = project(event, envelope.time)
        await read_model.apply(
            connection, schema, envelope.tenantid, envelope.id, envelope.time, changes
        )

    return apply
