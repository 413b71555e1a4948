"""The sales HTTP API: thin translations from requests to commands and queries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import HTMLResponse

from crm_sales.adapters.read_model import OpportunityFilter, OpportunityRow
from crm_sales.application.handlers import SalesHandlers, Written
from crm_sales.application.queries import SalesQueries
from crm_sales.domain.errors import InvalidValue
from crm_sales.domain.opportunity import Opportunity
from crm_sales.domain.periods import period_bounds
from crm_sales.domain.pipeline import Pipeline
from crm_sales.entrypoints.quote_document import quote_html, quote_pdf
from crm_sales.entrypoints.schemas import (
    ForecastLineRead,
    ForecastRead,
    LineItemsIn,
    LostIn,
    OpportunityIn,
    OpportunityPage,
    OpportunityPatch,
    OpportunityRead,
    PipelineIn,
    PipelineRead,
    PriceBookIn,
    PriceBookRead,
    ProductIn,
    ProductRead,
    QuoteIn,
    QuoteRead,
    StageIn,
    StageMove,
    StageSpellRead,
    TeamIn,
    TeamRead,
    WonIn,
)
from crm_shared.http.requests import (
    Expected,
    MaybeExpected,
    Who,
    etag,
    stale_as_412,
)

STALE: dict[int | str, dict[str, Any]] = {
    412: {"description": "Stale If-Match"},
    428: {"description": "If-Match missing"},
}


def opportunity_body(row: OpportunityRow) -> OpportunityRead:
    return OpportunityRead(
        id=row.opportunity_id,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        **{**row.values, "currency": row.values["currency"].strip()},
    )


def pipeline_body(pipeline: Pipeline, version: int) -> PipelineRead:
    return PipelineRead(
        pipeline_id=pipeline.pipeline_id,
        version=version,
        name=pipeline.name,
        stages=[StageIn(**s.model_dump()) for s in pipeline.stages],
    )


async def unless_stale(write: Awaitable[Written]) -> Written:
    with stale_as_412():
        return await write


def pipelines_router(handlers: SalesHandlers, queries: SalesQueries) -> APIRouter:
    router = APIRouter(prefix="/pipelines", tags=["pipelines"])

    @router.put("/{pipeline_id}", response_model=PipelineRead, responses=STALE)
    async def define_pipeline(
        pipeline_id: str, body: PipelineIn, who: Who, version: MaybeExpected, response: Response
    ) -> PipelineRead:
        """Create a pipeline, or change it with ``If-Match`` (stages added, renamed,
        reordered or re-weighted; a stage holding open opportunities cannot be removed)."""
        stages = [s.model_dump() for s in body.stages]
        write = handlers.define_pipeline(who, pipeline_id, body.name, stages, version)
        written = await unless_stale(write)
        pipeline, current = await queries.pipeline(who.tenant_id, pipeline_id)
        response.headers["ETag"] = etag(written.version)
        return pipeline_body(pipeline, current)

    @router.get("", response_model=list[PipelineRead])
    async def list_pipelines(who: Who) -> list[PipelineRead]:
        return [pipeline_body(p, v) for p, v in await queries.pipelines(who.tenant_id)]

    @router.get("/{pipeline_id}", response_model=PipelineRead)
    async def get_pipeline(pipeline_id: str, who: Who, response: Response) -> PipelineRead:
        pipeline, version = await queries.pipeline(who.tenant_id, pipeline_id)
        response.headers["ETag"] = etag(version)
        return pipeline_body(pipeline, version)

    return router


def teams_router(handlers: SalesHandlers, queries: SalesQueries) -> APIRouter:
    router = APIRouter(prefix="/teams", tags=["teams"])

    @router.put("/{team_id}", response_model=TeamRead)
    async def define_team(team_id: str, body: TeamIn, who: Who) -> TeamRead:
        await handlers.define_team(who, team_id, body.name, body.members)
        [team] = [t for t in await queries.teams(who.tenant_id) if t.team_id == team_id]
        return TeamRead(team_id=team.team_id, name=team.name, members=team.members)

    @router.get("", response_model=list[TeamRead])
    async def list_teams(who: Who) -> list[TeamRead]:
        return [
            TeamRead(team_id=t.team_id, name=t.name, members=t.members)
            for t in await queries.teams(who.tenant_id)
        ]

    return router


def opportunities_router(handlers: SalesHandlers, queries: SalesQueries) -> APIRouter:
    router = APIRouter(prefix="/opportunities", tags=["opportunities"])

    async def change_then_read(
        who: Any,
        opportunity_id: str,
        version: int,
        decide: Callable[[Opportunity, Pipeline], None],
        response: Response,
    ) -> OpportunityRead:
        await unless_stale(handlers.change_opportunity(who, opportunity_id, version, decide))
        row = await queries.opportunity(who.tenant_id, opportunity_id)
        response.headers["ETag"] = etag(row.version)
        return opportunity_body(row)

    @router.post("", status_code=status.HTTP_201_CREATED, response_model=OpportunityRead)
    async def open_opportunity(
        body: OpportunityIn, who: Who, response: Response
    ) -> OpportunityRead:
        written = await handlers.open_opportunity(who, body.model_dump())
        row = await queries.opportunity(who.tenant_id, written.entity_id)
        response.headers["ETag"] = etag(row.version)
        response.headers["Location"] = f"/opportunities/{row.opportunity_id}"
        return opportunity_body(row)

    @router.get("/{opportunity_id}", response_model=OpportunityRead)
    async def get_opportunity(opportunity_id: str, who: Who, response: Response) -> OpportunityRead:
        row = await queries.opportunity(who.tenant_id, opportunity_id)
        response.headers["ETag"] = etag(row.version)
        return opportunity_body(row)

    @router.patch("/{opportunity_id}", response_model=OpportunityRead, responses=STALE)
    async def update_opportunity(
        opportunity_id: str, body: OpportunityPatch, who: Who, version: Expected, response: Response
    ) -> OpportunityRead:
        changes = body.model_dump(exclude_unset=True)

        def decide(opportunity: Opportunity, _: Pipeline) -> None:
            opportunity.update(changes)

        return await change_then_read(who, opportunity_id, version, decide, response)

    @router.post("/{opportunity_id}/stage", response_model=OpportunityRead, responses=STALE)
    async def move_stage(
        opportunity_id: str, body: StageMove, who: Who, version: Expected, response: Response
    ) -> OpportunityRead:
        """Move to another stage of its pipeline (any direction while open)."""

        def decide(opportunity: Opportunity, pipeline: Pipeline) -> None:
            opportunity.move_to(body.stage_id, pipeline)

        return await change_then_read(who, opportunity_id, version, decide, response)

    @router.post("/{opportunity_id}/won", response_model=OpportunityRead, responses=STALE)
    async def win(
        opportunity_id: str, body: WonIn, who: Who, version: Expected, response: Response
    ) -> OpportunityRead:
        def decide(opportunity: Opportunity, _: Pipeline) -> None:
            opportunity.win(body.reason)

        return await change_then_read(who, opportunity_id, version, decide, response)

    @router.post("/{opportunity_id}/lost", response_model=OpportunityRead, responses=STALE)
    async def lose(
        opportunity_id: str, body: LostIn, who: Who, version: Expected, response: Response
    ) -> OpportunityRead:
        def decide(opportunity: Opportunity, _: Pipeline) -> None:
            opportunity.lose(body.reason, body.competitor)

        return await change_then_read(who, opportunity_id, version, decide, response)

    @router.put("/{opportunity_id}/line-items", response_model=OpportunityRead, responses=STALE)
    async def set_line_items(
        opportunity_id: str, body: LineItemsIn, who: Who, version: Expected, response: Response
    ) -> OpportunityRead:
        """Products from a price book in the opportunity's currency, with quantity, price
        (the book's unless given) and discount; the amount becomes the sum of the lines."""
        items = [item.model_dump(exclude_none=True) for item in body.line_items]
        write = handlers.set_line_items(who, opportunity_id, version, body.price_book_id, items)
        await unless_stale(write)
        row = await queries.opportunity(who.tenant_id, opportunity_id)
        response.headers["ETag"] = etag(row.version)
        return opportunity_body(row)

    @router.post(
        "/{opportunity_id}/quotes",
        status_code=status.HTTP_201_CREATED,
        response_model=QuoteRead,
        responses=STALE,
    )
    async def issue_quote(
        opportunity_id: str, body: QuoteIn, who: Who, version: Expected, response: Response
    ) -> QuoteRead:
        """The next numbered quote from the line items: subtotal, tax and total computed
        exactly and rounded half up to the currency's minor unit."""
        with stale_as_412():
            quote = await handlers.issue_quote(
                who, opportunity_id, version, body.tax_rate_percent, body.valid_until, body.notes
            )
        response.headers["Location"] = f"/quotes/{quote.quote_id}"
        return QuoteRead.model_validate(quote.model_dump())

    @router.get("/{opportunity_id}/quotes", response_model=list[QuoteRead])
    async def quotes_of(opportunity_id: str, who: Who) -> list[QuoteRead]:
        return [
            QuoteRead.model_validate(q.model_dump())
            for q in await queries.quotes_of(who.tenant_id, opportunity_id)
        ]

    @router.get("/{opportunity_id}/stages", response_model=list[StageSpellRead])
    async def stage_history(opportunity_id: str, who: Who) -> list[StageSpellRead]:
        """Every stay in a stage: when it began, when it ended, how long it lasted."""
        now = datetime.now(UTC)
        return [
            StageSpellRead(
                stage_id=s.stage_id,
                entered_at=s.entered_at,
                left_at=s.left_at,
                seconds=s.seconds(now),
            )
            for s in await queries.stage_history(who.tenant_id, opportunity_id)
        ]

    @router.get("", response_model=OpportunityPage)
    async def list_opportunities(
        who: Who,
        owner: str | None = None,
        pipeline: str | None = None,
        stage: str | None = None,
        status: Literal["open", "won", "lost"] | None = None,
        contact: str | None = None,
        account: str | None = None,
        closing_from: date | None = None,
        closing_to: date | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: str | None = None,
    ) -> OpportunityPage:
        where = OpportunityFilter(
            owner, pipeline, stage, status, contact, account, closing_from, closing_to
        )
        rows, next_cursor = await queries.page(who.tenant_id, where, limit, cursor)
        return OpportunityPage(items=[opportunity_body(r) for r in rows], next_cursor=next_cursor)

    return router


def forecast_router(queries: SalesQueries) -> APIRouter:
    router = APIRouter(prefix="/forecast", tags=["forecast"])

    @router.get("", response_model=ForecastRead)
    async def forecast(
        who: Who,
        period: Annotated[
            str | None, Query(description="2026, 2026-Q4 or 2026-11; or closing_from/to")
        ] = None,
        closing_from: date | None = None,
        closing_to: date | None = None,
        as_of: Annotated[
            datetime | None, Query(description="The forecast as it stood then")
        ] = None,
        group_by: Literal["owner", "team"] = "owner",
    ) -> ForecastRead:
        """Weighted pipeline and forecast categories of the opportunities expected to close in
        the period, per owner or team and currency, now or as of any past moment."""
        if period is not None:
            closing_from, closing_to = period_bounds(period)
        if closing_from is None or closing_to is None:
            raise InvalidValue("period", "give a period, or closing_from and closing_to")
        if closing_to < closing_from:
            raise InvalidValue("closing_to", "must not be before closing_from")
        if as_of is not None and as_of.tzinfo is None:
            raise InvalidValue("as_of", "give a time zone, e.g. 2026-11-24T12:00:00Z")
        lines = await queries.forecast(
            who.tenant_id, closing_from, closing_to, as_of, group_by == "team"
        )
        totals: dict[str, dict[str, Any]] = {}
        for line in lines:
            total = totals.setdefault(
                line.currency,
                {
                    "currency": line.currency,
                    "pipeline": Decimal(0),
                    "weighted": Decimal(0),
                    "commit": Decimal(0),
                    "best_case": Decimal(0),
                    "closed_won": Decimal(0),
                },
            )
            for name in ("pipeline", "weighted", "commit", "best_case", "closed_won"):
                total[name] += getattr(line, name)
        return ForecastRead(
            closing_from=closing_from,
            closing_to=closing_to,
            as_of=as_of,
            group_by=group_by,
            lines=[ForecastLineRead(**line.__dict__) for line in lines],
            totals=[
                {k: str(v) if isinstance(v, Decimal) else v for k, v in t.items()}
                for t in totals.values()
            ],
        )

    return router


def catalogue_router(handlers: SalesHandlers, queries: SalesQueries) -> APIRouter:
    router = APIRouter(tags=["products and price books"])

    @router.put("/products/{product_id}", response_model=ProductRead)
    async def define_product(product_id: str, body: ProductIn, who: Who) -> ProductRead:
        await handlers.define_product(who, product_id, body.name, body.description, body.active)
        [found] = [p for p in await queries.products(who.tenant_id) if p.product_id == product_id]
        return ProductRead.model_validate(found.model_dump(exclude={"tenant_id"}))

    @router.get("/products", response_model=list[ProductRead])
    async def list_products(who: Who) -> list[ProductRead]:
        return [
            ProductRead.model_validate(p.model_dump(exclude={"tenant_id"}))
            for p in await queries.products(who.tenant_id)
        ]

    @router.put("/price-books/{price_book_id}", response_model=PriceBookRead)
    async def define_price_book(price_book_id: str, body: PriceBookIn, who: Who) -> PriceBookRead:
        """A price book in one currency: a unit price per known product."""
        entries = [entry.model_dump() for entry in body.entries]
        await handlers.define_price_book(who, price_book_id, body.name, body.currency, entries)
        [found] = [
            b for b in await queries.price_books(who.tenant_id) if b.price_book_id == price_book_id
        ]
        return PriceBookRead.model_validate(found.model_dump(exclude={"tenant_id"}))

    @router.get("/price-books", response_model=list[PriceBookRead])
    async def list_price_books(who: Who) -> list[PriceBookRead]:
        return [
            PriceBookRead.model_validate(b.model_dump(exclude={"tenant_id"}))
            for b in await queries.price_books(who.tenant_id)
        ]

    @router.get(
        "/quotes/{quote_id}",
        response_model=QuoteRead,
        responses={
            200: {"content": {"application/json": {}, "text/html": {}, "application/pdf": {}}}
        },
    )
    async def get_quote(
        quote_id: str,
        who: Who,
        format: Annotated[
            Literal["json", "html", "pdf"], Query(description="json, html or pdf")
        ] = "json",
    ) -> Any:
        """The quote as data, or as the document a customer receives (``?format=html|pdf``)."""
        quote, issued_at = await queries.quote(who.tenant_id, quote_id)
        name = f"quote-{quote.quote_number}-{quote.opportunity_id}"
        if format == "html":
            return HTMLResponse(quote_html(quote, issued_at))
        if format == "pdf":
            return Response(
                quote_pdf(quote, issued_at),
                media_type="application/pdf",
                headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'},
            )
        return QuoteRead.model_validate(quote.model_dump())

    return router
