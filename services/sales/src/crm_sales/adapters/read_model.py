"""The sales read tables: written in the command's transaction, read by the queries."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from crm_sales.domain.opportunity import Opportunity
from crm_sales.domain.pipeline import Pipeline
from crm_shared import pagination
from crm_shared.contracts.sales import (
    PipelineStage,
    PriceBookDefined,
    ProductDefined,
    QuoteIssued,
    TeamDefined,
)
from crm_shared.sql import sql


async def save_pipeline(
    connection: AsyncConnection, schema: str, pipeline: Pipeline, version: int
) -> None:
    await connection.execute(
        sql(
            f'INSERT INTO "{schema}".pipelines (tenant_id, pipeline_id, version, name, stages)'
            " VALUES (:tenant, :id, :version, :name, CAST(:stages AS jsonb))"
            " ON CONFLICT (tenant_id, pipeline_id) DO UPDATE SET version = excluded.version,"
            " name = excluded.name, stages = excluded.stages"
        ),
        {
            "tenant": pipeline.tenant_id,
            "id": pipeline.pipeline_id,
            "version": version,
            "name": pipeline.name,
            "stages": json.dumps([s.model_dump(mode="json") for s in pipeline.stages]),
        },
    )


async def pipelines(
    connection: AsyncConnection, schema: str, tenant_id: str
) -> list[tuple[Pipeline, int]]:
    result = await connection.execute(
        sql(
            f'SELECT pipeline_id, version, name, stages FROM "{schema}".pipelines'
            " WHERE tenant_id = :tenant ORDER BY pipeline_id"
        ),
        {"tenant": tenant_id},
    )
    return [
        (
            Pipeline(
                tenant_id,
                row.pipeline_id,
                row.name,
                tuple(PipelineStage.model_validate(s) for s in row.stages),
            ),
            row.version,
        )
        for row in result
    ]


async def stages_in_use(
    connection: AsyncConnection, schema: str, tenant_id: str, pipeline_id: str
) -> frozenset[str]:
    result = await connection.execute(
        sql(
            f'SELECT DISTINCT stage_id FROM "{schema}".opportunities'
            " WHERE tenant_id = :tenant AND pipeline_id = :pipeline AND status = 'open'"
        ),
        {"tenant": tenant_id, "pipeline": pipeline_id},
    )
    return frozenset(row.stage_id for row in result)


async def save_team(
    connection: AsyncConnection, schema: str, team: TeamDefined, version: int
) -> None:
    await connection.execute(
        sql(
            f'INSERT INTO "{schema}".teams (tenant_id, team_id, version, name, members)'
            " VALUES (:tenant, :id, :version, :name, :members)"
            " ON CONFLICT (tenant_id, team_id) DO UPDATE SET version = excluded.version,"
            " name = excluded.name, members = excluded.members"
        ),
        {
            "tenant": team.tenant_id,
            "id": team.team_id,
            "version": version,
            "name": team.name,
            "members": team.members,
        },
    )


async def teams(connection: AsyncConnection, schema: str, tenant_id: str) -> list[TeamDefined]:
    result = await connection.execute(
        sql(
            f'SELECT team_id, name, members FROM "{schema}".teams'
            " WHERE tenant_id = :tenant ORDER BY team_id"
        ),
        {"tenant": tenant_id},
    )
    return [
        TeamDefined(tenant_id=tenant_id, team_id=r.team_id, name=r.name, members=list(r.members))
        for r in result
    ]


async def save_opportunity(
    connection: AsyncConnection, schema: str, tenant_id: str, opportunity: Opportunity, at: datetime
) -> None:
    """The current row, and a new version row that holds from ``at`` (closing the last one)."""
    state = opportunity.state
    values = {
        "id": opportunity.opportunity_id,
        "tenant": tenant_id,
        "version": opportunity.version,
        "pipeline": state["pipeline_id"],
        "name": state["name"],
        "stage": state["stage_id"],
        "status": opportunity.status,
        "probability": state["probability"],
        "category": state["forecast_category"],
        "amount": state["amount"],
        "currency": state["currency"],
        "close": state["expected_close_date"],
        "owner": state["owner_id"],
        "contact": state.get("contact_id"),
        "account": state.get("account_id"),
        "reason": state.get("close_reason"),
        "competitor": state.get("competitor"),
        "book": state.get("price_book_id"),
        "lines": json.dumps(state.get("line_items", [])),
        "at": at,
    }
    await connection.execute(
        sql(
            f'INSERT INTO "{schema}".opportunities (opportunity_id, tenant_id, version,'
            " pipeline_id, name, stage_id, status, probability, forecast_category, amount,"
            " currency, expected_close_date, owner_id, contact_id, account_id, close_reason,"
            " competitor, price_book_id, line_items, created_at, updated_at) VALUES (:id,"
            " :tenant, :version, :pipeline, :name, :stage, :status, :probability, :category,"
            " :amount, :currency, :close, :owner, :contact, :account, :reason, :competitor,"
            " :book, CAST(:lines AS jsonb), :at, :at)"
            " ON CONFLICT (opportunity_id) DO UPDATE SET version = excluded.version,"
            " name = excluded.name, stage_id = excluded.stage_id, status = excluded.status,"
            " probability = excluded.probability,"
            " forecast_category = excluded.forecast_category, amount = excluded.amount,"
            " currency = excluded.currency, expected_close_date = excluded.expected_close_date,"
            " owner_id = excluded.owner_id, contact_id = excluded.contact_id,"
            " account_id = excluded.account_id, close_reason = excluded.close_reason,"
            " competitor = excluded.competitor, price_book_id = excluded.price_book_id,"
            " line_items = excluded.line_items, updated_at = excluded.updated_at"
        ),
        values,
    )
    await connection.execute(
        sql(
            f'UPDATE "{schema}".opportunity_versions SET valid_to = :at'
            " WHERE opportunity_id = :id AND valid_to IS NULL"
        ),
        {"id": opportunity.opportunity_id, "at": at},
    )
    await connection.execute(
        sql(
            f'INSERT INTO "{schema}".opportunity_versions (opportunity_id, version, tenant_id,'
            " valid_from, status, stage_id, probability, forecast_category, amount, currency,"
            " expected_close_date, owner_id) VALUES (:id, :version, :tenant, :at, :status,"
            " :stage, :probability, :category, :amount, :currency, :close, :owner)"
        ),
        values,
    )


async def save_definition(
    connection: AsyncConnection,
    schema: str,
    table: str,
    key: str,
    definition: ProductDefined | PriceBookDefined,
    version: int,
) -> None:
    """A product or price book as its last definition event says (``table``: products or
    price_books, ``key``: its id column)."""
    await connection.execute(
        sql(
            f'INSERT INTO "{schema}".{table} (tenant_id, {key}, version, definition)'
            " VALUES (:tenant, :id, :version, CAST(:definition AS jsonb))"
            f" ON CONFLICT (tenant_id, {key}) DO UPDATE SET version = excluded.version,"
            " definition = excluded.definition"
        ),
        {
            "tenant": definition.tenant_id,
            "id": getattr(definition, key),
            "version": version,
            "definition": definition.model_dump_json(),
        },
    )


async def products(
    connection: AsyncConnection, schema: str, tenant_id: str
) -> dict[str, tuple[ProductDefined, int]]:
    result = await connection.execute(
        sql(f'SELECT definition, version FROM "{schema}".products WHERE tenant_id = :tenant'),
        {"tenant": tenant_id},
    )
    found = [(ProductDefined.model_validate(r.definition), r.version) for r in result]
    return {product.product_id: (product, version) for product, version in found}


async def price_books(
    connection: AsyncConnection, schema: str, tenant_id: str
) -> dict[str, tuple[PriceBookDefined, int]]:
    result = await connection.execute(
        sql(f'SELECT definition, version FROM "{schema}".price_books WHERE tenant_id = :tenant'),
        {"tenant": tenant_id},
    )
    found = [(PriceBookDefined.model_validate(r.definition), r.version) for r in result]
    return {book.price_book_id: (book, version) for book, version in found}


async def save_quote(
    connection: AsyncConnection, schema: str, tenant_id: str, quote: QuoteIssued, at: datetime
) -> None:
    await connection.execute(
        sql(
            f'INSERT INTO "{schema}".quotes (quote_id, tenant_id, opportunity_id, quote_number,'
            " document, issued_at) VALUES (:id, :tenant, :opportunity, :number,"
            " CAST(:document AS jsonb), :at)"
        ),
        {
            "id": quote.quote_id,
            "tenant": tenant_id,
            "opportunity": quote.opportunity_id,
            "number": quote.quote_number,
            "document": quote.model_dump_json(),
            "at": at,
        },
    )


async def quote(
    connection: AsyncConnection, schema: str, tenant_id: str, quote_id: str
) -> tuple[QuoteIssued, datetime] | None:
    result = await connection.execute(
        sql(
            f'SELECT document, issued_at FROM "{schema}".quotes'
            " WHERE tenant_id = :tenant AND quote_id = :id"
        ),
        {"tenant": tenant_id, "id": quote_id},
    )
    row = result.one_or_none()
    return (QuoteIssued.model_validate(row.document), row.issued_at) if row else None


async def quotes_of(
    connection: AsyncConnection, schema: str, tenant_id: str, opportunity_id: str
) -> list[QuoteIssued]:
    result = await connection.execute(
        sql(
            f'SELECT document FROM "{schema}".quotes WHERE tenant_id = :tenant'
            " AND opportunity_id = :id ORDER BY quote_number"
        ),
        {"tenant": tenant_id, "id": opportunity_id},
    )
    return [QuoteIssued.model_validate(r.document) for r in result]


@dataclass(frozen=True)
class OpportunityRow:
    opportunity_id: str
    version: int
    values: dict[str, Any]
    created_at: datetime
    updated_at: datetime


_COLUMNS = (
    "opportunity_id, version, pipeline_id, name, stage_id, status, probability,"
    " forecast_category, amount, currency, expected_close_date, owner_id, contact_id,"
    " account_id, close_reason, competitor, price_book_id, line_items, created_at, updated_at"
)


def _row(row: Any) -> OpportunityRow:
    values = dict(row._mapping)
    return OpportunityRow(
        values.pop("opportunity_id"),
        values.pop("version"),
        values,
        values.pop("created_at"),
        values.pop("updated_at"),
    )


async def get_opportunity(
    connection: AsyncConnection, schema: str, tenant_id: str, opportunity_id: str
) -> OpportunityRow | None:
    result = await connection.execute(
        sql(
            f'SELECT {_COLUMNS} FROM "{schema}".opportunities'
            " WHERE tenant_id = :tenant AND opportunity_id = :id"
        ),
        {"tenant": tenant_id, "id": opportunity_id},
    )
    row = result.one_or_none()
    return _row(row) if row else None


@dataclass(frozen=True)
class OpportunityFilter:
    owner_id: str | None = None
    pipeline_id: str | None = None
    stage_id: str | None = None
    status: str | None = None
    contact_id: str | None = None
    account_id: str | None = None
    closing_from: date | None = None
    closing_to: date | None = None


async def page_opportunities(
    connection: AsyncConnection,
    schema: str,
    tenant_id: str,
    where: OpportunityFilter,
    limit: int,
    after: tuple[datetime, str] | None,
) -> list[OpportunityRow]:
    clauses = ["tenant_id = :tenant"]
    params: dict[str, Any] = {"tenant": tenant_id, "limit": limit}
    for column in ("owner_id", "pipeline_id", "stage_id", "status", "contact_id", "account_id"):
        value = getattr(where, column)
        if value is not None:
            clauses.append(f"{column} = :{column}")
            params[column] = value
    if where.closing_from:
        clauses.append("expected_close_date >= :closing_from")
        params["closing_from"] = where.closing_from
    if where.closing_to:
        clauses.append("expected_close_date <= :closing_to")
        params["closing_to"] = where.closing_to
    if after:
        clauses.append("(updated_at, opportunity_id) > (:after_at, :after_id)")
        params["after_at"], params["after_id"] = after
    result = await connection.execute(
        sql(
            f'SELECT {_COLUMNS} FROM "{schema}".opportunities WHERE {" AND ".join(clauses)}'
            " ORDER BY updated_at, opportunity_id LIMIT :limit"
        ),
        params,
    )
    return [_row(row) for row in result]


async def opportunity_ids_of_contact(
    connection: AsyncConnection, schema: str, tenant_id: str, contact_id: str
) -> list[str]:
    result = await connection.execute(
        sql(
            f'SELECT opportunity_id FROM "{schema}".opportunities'
            " WHERE tenant_id = :tenant AND contact_id = :contact ORDER BY opportunity_id"
        ),
        {"tenant": tenant_id, "contact": contact_id},
    )
    return [row.opportunity_id for row in result]


def encode_cursor(row: OpportunityRow) -> str:
    return pagination.encode_cursor(row.updated_at, row.opportunity_id)


decode_cursor = pagination.decode_cursor


@dataclass(frozen=True)
class ForecastLine:
    group: str
    currency: str
    open_count: int
    pipeline: Decimal
    best_case: Decimal
    commit: Decimal
    weighted: Decimal
    closed_won: Decimal
    won_count: int
    lost_count: int


async def forecast(
    connection: AsyncConnection,
    schema: str,
    tenant_id: str,
    closing_from: date,
    closing_to: date,
    as_of: datetime | None,
    by_team: bool,
) -> list[ForecastLine]:
    """Sums over the opportunities closing in the period, as they stood at ``as_of`` (or now).

    pipeline: every open amount; best_case: commit + best case; commit: commit only;
    weighted: each open amount times its probability. Per owner or per team, per currency.
    """
    when = (
        "valid_to IS NULL"
        if as_of is None
        else "valid_from <= :as_of AND (valid_to IS NULL OR valid_to > :as_of)"
    )
    group = "t.team_id" if by_team else "v.owner_id"
    teams = (
        f' JOIN (SELECT team_id, unnest(members) AS owner_id FROM "{schema}".teams'
        " WHERE tenant_id = :tenant) t ON t.owner_id = v.owner_id"
        if by_team
        else ""
    )
    result = await connection.execute(
        sql(
            f"SELECT {group} AS grp, v.currency,"
            " count(*) FILTER (WHERE v.status = 'open') AS open_count,"
            " coalesce(sum(v.amount) FILTER (WHERE v.status = 'open'), 0) AS pipeline,"
            " coalesce(sum(v.amount) FILTER (WHERE v.status = 'open'"
            " AND v.forecast_category IN ('commit', 'best_case')), 0) AS best_case,"
            " coalesce(sum(v.amount) FILTER (WHERE v.status = 'open'"
            " AND v.forecast_category = 'commit'), 0) AS commit,"
            " coalesce(sum(round(v.amount * v.probability / 100, 2))"
            " FILTER (WHERE v.status = 'open'), 0) AS weighted,"
            " coalesce(sum(v.amount) FILTER (WHERE v.status = 'won'), 0) AS closed_won,"
            " count(*) FILTER (WHERE v.status = 'won') AS won_count,"
            " count(*) FILTER (WHERE v.status = 'lost') AS lost_count"
            f' FROM "{schema}".opportunity_versions v{teams}'
            " WHERE v.tenant_id = :tenant AND v.expected_close_date BETWEEN :start AND :end"
            f" AND {when} GROUP BY 1, 2 ORDER BY 1, 2"
        ),
        {"tenant": tenant_id, "start": closing_from, "end": closing_to, "as_of": as_of},
    )
    return [
        ForecastLine(
            r.grp,
            r.currency.strip(),
            r.open_count,
            r.pipeline,
            r.best_case,
            r.commit,
            r.weighted,
            r.closed_won,
            r.won_count,
            r.lost_count,
        )
        for r in result
    ]
