"""Request and response bodies of the sales API."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from crm_shared.contracts.sales import ForecastCategory


class StageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stage_id: str
    name: str
    probability: int = Field(ge=0, le=100, description="Default win probability, percent")
    forecast_category: ForecastCategory = "pipeline"


class PipelineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    stages: list[StageIn] = Field(min_length=1, description="In order, first to last")


class PipelineRead(BaseModel):
    pipeline_id: str
    version: int
    name: str
    stages: list[StageIn]


class TeamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    members: list[str] = Field(description="User ids of the team's sellers")


class TeamRead(TeamIn):
    team_id: str


class OpportunityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pipeline_id: str
    name: str
    stage_id: str | None = Field(None, description="Default: the pipeline's first stage")
    amount: Decimal = Field(description='A decimal string, e.g. "1250.00"')
    currency: str = Field(description="ISO 4217, e.g. EUR")
    expected_close_date: date
    owner_id: str
    contact_id: str | None = None
    account_id: str | None = None


class OpportunityPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    expected_close_date: date | None = None
    owner_id: str | None = None
    contact_id: str | None = None
    account_id: str | None = None


class StageMove(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stage_id: str


class WonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = None


class LostIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1)
    competitor: str | None = None


class ProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str | None = None
    active: bool = True


class ProductRead(ProductIn):
    product_id: str


class PriceBookEntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: str
    unit_price: Decimal


class PriceBookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    currency: str = Field(description="ISO 4217; a book keeps its currency")
    entries: list[PriceBookEntryIn]


class PriceBookRead(PriceBookIn):
    price_book_id: str


class LineItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: str
    quantity: Decimal = Decimal(1)
    unit_price: Decimal | None = Field(None, description="Default: the price book's")
    discount_percent: Decimal = Decimal(0)


class LineItemsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    price_book_id: str
    line_items: list[LineItemIn]


class LineItemRead(BaseModel):
    product_id: str
    name: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    total: Decimal


class QuoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tax_rate_percent: Decimal = Field(description="e.g. 20 or 7.5")
    valid_until: date
    notes: str | None = None


class QuoteRead(BaseModel):
    quote_id: str
    opportunity_id: str
    quote_number: int
    currency: str
    line_items: list[LineItemRead]
    subtotal: Decimal
    tax_rate_percent: Decimal
    tax: Decimal
    total: Decimal
    valid_until: date
    notes: str | None


class OpportunityRead(BaseModel):
    id: str
    version: int
    pipeline_id: str
    name: str
    stage_id: str
    status: str = Field(description="open, won or lost")
    probability: int
    forecast_category: str
    amount: Decimal
    currency: str
    expected_close_date: date
    owner_id: str
    contact_id: str | None
    account_id: str | None
    close_reason: str | None
    competitor: str | None
    price_book_id: str | None = None
    line_items: list[LineItemRead] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime


class OpportunityPage(BaseModel):
    items: list[OpportunityRead]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null: end")


class StageSpellRead(BaseModel):
    stage_id: str
    entered_at: datetime
    left_at: datetime | None
    seconds: float = Field(description="Time spent in the stage (so far, if still in it)")


class ForecastLineRead(BaseModel):
    group: str = Field(description="Owner or team id")
    currency: str
    open_count: int
    pipeline: Decimal = Field(description="Every open amount")
    best_case: Decimal = Field(description="Open amounts forecast commit or best case")
    commit: Decimal = Field(description="Open amounts forecast commit")
    weighted: Decimal = Field(description="Open amounts times their win probability")
    closed_won: Decimal
    won_count: int
    lost_count: int


class ForecastRead(BaseModel):
    closing_from: date
    closing_to: date
    as_of: datetime | None = Field(description="null: now")
    group_by: str
    lines: list[ForecastLineRead]
    totals: list[dict[str, Any]] = Field(description="The lines summed per currency")
