"""Command handlers: load the aggregate, let it decide, save its events and rows together."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from crm_sales.adapters import read_model
from crm_sales.domain.catalogue import define_price_book, define_product
from crm_sales.domain.errors import InvalidValue
from crm_sales.domain.opportunity import Opportunity
from crm_sales.domain.pipeline import Pipeline, define_pipeline
from crm_sales.domain.team import define_team
from crm_shared.caller import Caller
from crm_shared.contracts.sales import (
    REGISTRY,
    OpportunityOpened,
    PipelineDefined,
    QuoteIssued,
    TeamDefined,
)
from crm_shared.errors import ConcurrencyConflict, NotFound
from crm_shared.events import EventContract
from crm_shared.eventstore import EventStore, UnitOfWork, new_events


@dataclass(frozen=True)
class Written:
    entity_id: str
    version: int


def pipeline_stream(tenant_id: str, pipeline_id: str) -> str:
    return f"pipeline:{tenant_id}:{pipeline_id}"


def team_stream(tenant_id: str, team_id: str) -> str:
    return f"team:{tenant_id}:{team_id}"


class SalesHandlers:
    def __init__(
        self, store: EventStore, new_id: Callable[[], str] = lambda: str(uuid.uuid4())
    ) -> None:
        self.store = store
        self.new_id = new_id

    async def define_pipeline(
        self,
        caller: Caller,
        pipeline_id: str,
        name: str,
        stages: list[dict[str, Any]],
        expected_version: int | None,
    ) -> Written:
        """Create a pipeline (no version expected) or change it (the version read)."""
        async with self.store.unit_of_work() as uow:
            current, version = await load_pipeline(uow, caller.tenant_id, pipeline_id)
            if current is not None and expected_version is None:
                raise ConcurrencyConflict(pipeline_id, 0, version)
            if expected_version is not None and expected_version != version:
                raise ConcurrencyConflict(pipeline_id, expected_version, version)
            in_use = await read_model.stages_in_use(
                uow.connection, self.store.schema, caller.tenant_id, pipeline_id
            )
            event = define_pipeline(caller.tenant_id, pipeline_id, name, stages, current, in_use)
            if event is None:
                return Written(pipeline_id, version)
            await self._append(
                uow,
                caller,
                pipeline_stream(caller.tenant_id, pipeline_id),
                version,
                [event],
                partition_key=caller.tenant_id,
            )
            await read_model.save_pipeline(
                uow.connection, self.store.schema, Pipeline.from_event(event), version + 1
            )
            return Written(pipeline_id, version + 1)

    async def define_team(
        self, caller: Caller, team_id: str, name: str, members: list[str]
    ) -> Written:
        async with self.store.unit_of_work() as uow:
            stream = team_stream(caller.tenant_id, team_id)
            history = await uow.read_stream(stream)
            current = decoded(history[-1]) if history else None
            event = define_team(
                caller.tenant_id,
                team_id,
                name,
                members,
                current if isinstance(current, TeamDefined) else None,
            )
            if event is None:
                return Written(team_id, len(history))
            await self._append(
                uow, caller, stream, len(history), [event], partition_key=caller.tenant_id
            )
            await read_model.save_team(uow.connection, self.store.schema, event, len(history) + 1)
            return Written(team_id, len(history) + 1)

    async def define_product(
        self, caller: Caller, product_id: str, name: str, description: str | None, active: bool
    ) -> Written:
        async with self.store.unit_of_work() as uow:
            known = await read_model.products(uow.connection, self.store.schema, caller.tenant_id)
            current, version = known.get(product_id, (None, 0))
            event = define_product(caller.tenant_id, product_id, name, description, active, current)
            if event is None:
                return Written(product_id, version)
            stream = f"product:{caller.tenant_id}:{product_id}"
            await self._append(uow, caller, stream, version, [event], caller.tenant_id)
            await read_model.save_definition(
                uow.connection, self.store.schema, "products", "product_id", event, version + 1
            )
            return Written(product_id, version + 1)

    async def define_price_book(
        self,
        caller: Caller,
        price_book_id: str,
        name: str,
        currency: str,
        entries: list[dict[str, Any]],
    ) -> Written:
        async with self.store.unit_of_work() as uow:
            schema, tenant = self.store.schema, caller.tenant_id
            known = await read_model.products(uow.connection, schema, tenant)
            books = await read_model.price_books(uow.connection, schema, tenant)
            current, version = books.get(price_book_id, (None, 0))
            event = define_price_book(
                tenant,
                price_book_id,
                name,
                currency,
                entries,
                {k: product for k, (product, _) in known.items()},
                current,
            )
            if event is None:
                return Written(price_book_id, version)
            stream = f"price-book:{tenant}:{price_book_id}"
            await self._append(uow, caller, stream, version, [event], tenant)
            await read_model.save_definition(
                uow.connection, schema, "price_books", "price_book_id", event, version + 1
            )
            return Written(price_book_id, version + 1)

    async def set_line_items(
        self,
        caller: Caller,
        opportunity_id: str,
        expected_version: int,
        price_book_id: str,
        items: list[dict[str, Any]],
    ) -> Written:
        async with self.store.unit_of_work() as uow:
            schema, tenant = self.store.schema, caller.tenant_id
            opportunity = await self._load(uow, caller, opportunity_id)
            if opportunity.version != expected_version:
                raise ConcurrencyConflict(opportunity_id, expected_version, opportunity.version)
            books = await read_model.price_books(uow.connection, schema, tenant)
            if price_book_id not in books:
                raise InvalidValue("price_book_id", f"no price book {price_book_id}")
            known = await read_model.products(uow.connection, schema, tenant)
            opportunity.set_line_items(
                items, books[price_book_id][0], {k: p for k, (p, _) in known.items()}
            )
            return await self._save(uow, caller, opportunity, expected_version)

    async def issue_quote(
        self,
        caller: Caller,
        opportunity_id: str,
        expected_version: int,
        tax_rate_percent: object,
        valid_until: date,
        notes: str | None,
    ) -> QuoteIssued:
        """The next numbered quote; numbering follows the opportunity's own version, so two
        concurrent quotes cannot take the same number."""
        async with self.store.unit_of_work() as uow:
            opportunity = await self._load(uow, caller, opportunity_id)
            if opportunity.version != expected_version:
                raise ConcurrencyConflict(opportunity_id, expected_version, opportunity.version)
            now = datetime.now(UTC)
            quote = opportunity.quote(
                self.new_id(), tax_rate_percent, valid_until, now.date(), notes
            )
            await self._save(uow, caller, opportunity, expected_version)
            await read_model.save_quote(
                uow.connection, self.store.schema, caller.tenant_id, quote, now
            )
            return quote

    async def open_opportunity(self, caller: Caller, details: dict[str, Any]) -> Written:
        async with self.store.unit_of_work() as uow:
            return await self.open_in(uow, caller, self.new_id(), details)

    async def open_in(
        self, uow: UnitOfWork, caller: Caller, opportunity_id: str, details: dict[str, Any]
    ) -> Written:
        """Open an opportunity inside the caller's transaction (a lead's conversion)."""
        pipeline = await self._pipeline(uow, caller, details.get("pipeline_id"))
        opportunity = Opportunity.open(opportunity_id, pipeline, details)
        return await self._save(uow, caller, opportunity, 0)

    async def change_opportunity(
        self,
        caller: Caller,
        opportunity_id: str,
        expected_version: int,
        decide: Callable[[Opportunity, Pipeline], None],
    ) -> Written:
        """Load, check the version, let ``decide`` call the aggregate, save."""
        async with self.store.unit_of_work() as uow:
            opportunity = await self._load(uow, caller, opportunity_id)
            if opportunity.version != expected_version:
                raise ConcurrencyConflict(opportunity_id, expected_version, opportunity.version)
            pipeline = await self._pipeline(uow, caller, opportunity.state["pipeline_id"])
            decide(opportunity, pipeline)
            return await self._save(uow, caller, opportunity, expected_version)

    async def repoint_contact(
        self,
        uow: UnitOfWork,
        caller: Caller,
        merged_contact_id: str,
        survivor_id: str,
        causation_id: str,
    ) -> list[str]:
        """Every opportunity of a merged contact now refers to its survivor.

        Runs in the consumer's transaction (``uow``), with its idempotency claim.
        """
        changed = []
        ids = await read_model.opportunity_ids_of_contact(
            uow.connection, self.store.schema, caller.tenant_id, merged_contact_id
        )
        for opportunity_id in ids:
            opportunity = await self._load(uow, caller, opportunity_id)
            version = opportunity.version
            opportunity.repoint_contact(merged_contact_id, survivor_id)
            if opportunity.pending:
                await self._save(uow, caller, opportunity, version, causation_id)
                changed.append(opportunity_id)
        return changed

    async def pipeline(self, uow: UnitOfWork, caller: Caller, pipeline_id: Any) -> Pipeline:
        """The tenant's pipeline; a missing one is an invalid ``pipeline_id``."""
        return await self._pipeline(uow, caller, pipeline_id)

    async def _pipeline(self, uow: UnitOfWork, caller: Caller, pipeline_id: Any) -> Pipeline:
        if not pipeline_id:
            raise InvalidValue("pipeline_id", "is required")
        pipeline, _ = await load_pipeline(uow, caller.tenant_id, str(pipeline_id))
        if pipeline is None:
            raise InvalidValue("pipeline_id", f"no pipeline {pipeline_id}")
        return pipeline

    async def _load(self, uow: UnitOfWork, caller: Caller, opportunity_id: str) -> Opportunity:
        history = await uow.read_stream(opportunity_id)
        if (
            not history
            or history[0].metadata.tenant_id != caller.tenant_id
            or history[0].event_type != OpportunityOpened.event_type
        ):
            raise NotFound(f"no opportunity {opportunity_id}")
        return Opportunity.from_history(opportunity_id, [decoded(e) for e in history])

    async def _save(
        self,
        uow: UnitOfWork,
        caller: Caller,
        opportunity: Opportunity,
        expected_version: int,
        causation_id: str | None = None,
    ) -> Written:
        if not opportunity.pending:
            return Written(opportunity.opportunity_id, opportunity.version)
        now = datetime.now(UTC)
        events = opportunity.pending
        opportunity.version = expected_version + len(events)
        opportunity.pending = []
        await read_model.save_opportunity(
            uow.connection, self.store.schema, caller.tenant_id, opportunity, now
        )
        # The events last, their position drawn just before the commit (the relay holds back
        # every event after a position not yet committed).
        await self._append(
            uow,
            caller,
            opportunity.opportunity_id,
            expected_version,
            events,
            partition_key=opportunity.opportunity_id,
            at=now,
            causation_id=causation_id,
        )
        return Written(opportunity.opportunity_id, opportunity.version)

    async def _append(
        self,
        uow: UnitOfWork,
        caller: Caller,
        stream_id: str,
        expected_version: int,
        events: list[EventContract],
        partition_key: str,
        at: datetime | None = None,
        causation_id: str | None = None,
    ) -> None:
        await append(
            uow, caller, stream_id, expected_version, events, partition_key, at, causation_id
        )


async def load_pipeline(
    uow: UnitOfWork, tenant_id: str, pipeline_id: str
) -> tuple[Pipeline | None, int]:
    """The pipeline as its last definition leaves it, and its version (0: not defined)."""
    history = await uow.read_stream(pipeline_stream(tenant_id, pipeline_id))
    if not history:
        return None, 0
    last = decoded(history[-1])
    assert isinstance(last, PipelineDefined)
    return Pipeline.from_event(last), len(history)


async def append(
    uow: UnitOfWork,
    caller: Caller,
    stream_id: str,
    expected_version: int,
    events: list[EventContract],
    partition_key: str,
    at: datetime | None = None,
    causation_id: str | None = None,
) -> None:
    """Encode the events with the sales registry and append them as the caller's."""
    encoded = new_events(REGISTRY, events, partition_key, stream_id, at)
    await uow.append(stream_id, expected_version, encoded, caller.event_metadata(causation_id))


def decoded(event: Any) -> EventContract:
    return REGISTRY.decode_data(event.event_type, event.schema_version, event.data)
