"""Queries: opportunities, their stage history, pipelines, teams and forecasts."""

from __future__ import annotations

from datetime import date, datetime

from crm_sales.adapters import read_model
from crm_sales.adapters.read_model import ForecastLine, OpportunityFilter, OpportunityRow
from crm_sales.domain.pipeline import Pipeline
from crm_sales.domain.stage_history import StageSpell, stage_spells
from crm_shared.contracts.sales import (
    REGISTRY,
    OpportunityOpened,
    PriceBookDefined,
    ProductDefined,
    QuoteIssued,
    TeamDefined,
)
from crm_shared.errors import NotFound
from crm_shared.eventstore import EventStore


class SalesQueries:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    async def opportunity(self, tenant_id: str, opportunity_id: str) -> OpportunityRow:
        async with self.store.engine.connect() as connection:
            row = await read_model.get_opportunity(
                connection, self.store.schema, tenant_id, opportunity_id
            )
        if row is None:
            raise NotFound(f"no opportunity {opportunity_id}")
        return row

    async def page(
        self, tenant_id: str, where: OpportunityFilter, limit: int, cursor: str | None
    ) -> tuple[list[OpportunityRow], str | None]:
        after = read_model.decode_cursor(cursor) if cursor else None
        async with self.store.engine.connect() as connection:
            rows = await read_model.page_opportunities(
                connection, self.store.schema, tenant_id, where, limit + 1, after
            )
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, read_model.encode_cursor(rows[-1]) if more else None

    async def stage_history(self, tenant_id: str, opportunity_id: str) -> list[StageSpell]:
        """Every stay in a stage with when it began and ended, from the events."""
        history = await self.store.read_stream(opportunity_id)
        if (
            not history
            or history[0].metadata.tenant_id != tenant_id
            or history[0].event_type != OpportunityOpened.event_type
        ):
            raise NotFound(f"no opportunity {opportunity_id}")
        return stage_spells(
            [
                (REGISTRY.decode_data(e.event_type, e.schema_version, e.data), e.recorded_at)
                for e in history
            ]
        )

    async def pipelines(self, tenant_id: str) -> list[tuple[Pipeline, int]]:
        async with self.store.engine.connect() as connection:
            return await read_model.pipelines(connection, self.store.schema, tenant_id)

    async def pipeline(self, tenant_id: str, pipeline_id: str) -> tuple[Pipeline, int]:
        for pipeline, version in await self.pipelines(tenant_id):
            if pipeline.pipeline_id == pipeline_id:
                return pipeline, version
        raise NotFound(f"no pipeline {pipeline_id}")

    async def teams(self, tenant_id: str) -> list[TeamDefined]:
        async with self.store.engine.connect() as connection:
            return await read_model.teams(connection, self.store.schema, tenant_id)

    async def forecast(
        self,
        tenant_id: str,
        closing_from: date,
        closing_to: date,
        as_of: datetime | None,
        by_team: bool,
    ) -> list[ForecastLine]:
        async with self.store.engine.connect() as connection:
            return await read_model.forecast(
                connection, self.store.schema, tenant_id, closing_from, closing_to, as_of, by_team
            )

    async def products(self, tenant_id: str) -> list[ProductDefined]:
        async with self.store.engine.connect() as connection:
            found = await read_model.products(connection, self.store.schema, tenant_id)
        return [product for _, (product, _) in sorted(found.items())]

    async def price_books(self, tenant_id: str) -> list[PriceBookDefined]:
        async with self.store.engine.connect() as connection:
            found = await read_model.price_books(connection, self.store.schema, tenant_id)
        return [book for _, (book, _) in sorted(found.items())]

    async def quote(self, tenant_id: str, quote_id: str) -> tuple[QuoteIssued, datetime]:
        async with self.store.engine.connect() as connection:
            found = await read_model.quote(connection, self.store.schema, tenant_id, quote_id)
        if found is None:
            raise NotFound(f"no quote {quote_id}")
        return found

    async def quotes_of(self, tenant_id: str, opportunity_id: str) -> list[QuoteIssued]:
        await self.opportunity(tenant_id, opportunity_id)
        async with self.store.engine.connect() as connection:
            return await read_model.quotes_of(
                connection, self.store.schema, tenant_id, opportunity_id
            )
