"""The opportunity aggregate: a deal moving through a pipeline's stages to won or lost.

It changes state only by applying events, which it records. A closed (won or lost) opportunity
accepts no further change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from crm_sales.domain.catalogue import priced_line_items
from crm_sales.domain.errors import InvalidValue, OpportunityIsClosed
from crm_sales.domain.money import amount, currency_code
from crm_sales.domain.pipeline import Pipeline
from crm_sales.domain.quote import issue_quote
from crm_shared.contracts.sales import (
    FieldChange,
    OpportunityLineItemsChanged,
    OpportunityLost,
    OpportunityOpened,
    OpportunityStageChanged,
    OpportunityUpdated,
    OpportunityWon,
    PriceBookDefined,
    ProductDefined,
    QuoteIssued,
)
from crm_shared.events import EventContract

UPDATABLE = (
    "name",
    "amount",
    "currency",
    "expected_close_date",
    "owner_id",
    "contact_id",
    "account_id",
)


@dataclass
class Opportunity:
    opportunity_id: str
    version: int = 0
    state: dict[str, Any] = field(default_factory=dict)
    status: str = "open"
    """open, won or lost."""
    pending: list[EventContract] = field(default_factory=list)

    @classmethod
    def from_history(cls, opportunity_id: str, history: list[EventContract]) -> Opportunity:
        opportunity = cls(opportunity_id)
        for event in history:
            opportunity._apply(event)
            opportunity.version += 1
        return opportunity

    @classmethod
    def open(cls, opportunity_id: str, pipeline: Pipeline, details: dict[str, Any]) -> Opportunity:
        opportunity = cls(opportunity_id)
        fields = _checked({"contact_id": None, "account_id": None, **details})
        stage_id = details.get("stage_id") or pipeline.stages[0].stage_id
        stage = pipeline.stage(stage_id)
        opportunity._record(
            OpportunityOpened(
                opportunity_id=opportunity_id,
                pipeline_id=pipeline.pipeline_id,
                stage_id=stage.stage_id,
                probability=stage.probability,
                forecast_category=stage.forecast_category,
                **fields,
            )
        )
        return opportunity

    def update(self, changes: dict[str, Any]) -> None:
        """Record the fields that really change; nothing when nothing does."""
        self._check_open()
        unknown = sorted(set(changes) - set(UPDATABLE))
        if unknown:
            raise InvalidValue(unknown[0], "cannot be changed here")
        if self.state.get("line_items") and "amount" in changes:
            raise InvalidValue("amount", "the sum of the line items; change them instead")
        if self.state.get("price_book_id") and "currency" in changes:
            raise InvalidValue("currency", "the price book's; empty the line items first")
        proposed = _checked({**{k: self.state[k] for k in UPDATABLE}, **changes})
        diff = {
            name: FieldChange(old=self.state[name], new=value)
            for name, value in proposed.items()
            if name in changes and value != self.state[name]
        }
        if diff:
            self._record(
                OpportunityUpdated(
                    opportunity_id=self.opportunity_id,
                    changes={
                        k: FieldChange.model_validate(v.model_dump(mode="json"))
                        for k, v in diff.items()
                    },
                )
            )

    def move_to(self, stage_id: str, pipeline: Pipeline) -> None:
        self._check_open()
        if pipeline.pipeline_id != self.state["pipeline_id"]:
            raise InvalidValue("pipeline_id", "the opportunity is in another pipeline")
        stage = pipeline.stage(stage_id)
        if stage.stage_id == self.state["stage_id"]:
            return
        self._record(
            OpportunityStageChanged(
                opportunity_id=self.opportunity_id,
                from_stage_id=self.state["stage_id"],
                to_stage_id=stage.stage_id,
                probability=stage.probability,
                forecast_category=stage.forecast_category,
            )
        )

    def win(self, reason: str | None) -> None:
        self._check_open()
        self._record(
            OpportunityWon(
                opportunity_id=self.opportunity_id,
                amount=self.state["amount"],
                currency=self.state["currency"],
                reason=(reason or "").strip() or None,
            )
        )

    def lose(self, reason: str, competitor: str | None) -> None:
        self._check_open()
        if not reason.strip():
            raise InvalidValue("reason", "say why the opportunity was lost")
        self._record(
            OpportunityLost(
                opportunity_id=self.opportunity_id,
                reason=reason.strip(),
                competitor=(competitor or "").strip() or None,
            )
        )

    def set_line_items(
        self,
        items: list[dict[str, Any]],
        book: PriceBookDefined,
        products: dict[str, ProductDefined],
    ) -> None:
        """Products from a price book in the opportunity's currency; the amount becomes their
        sum (an empty list keeps the book and sets the amount to 0)."""
        self._check_open()
        if book.currency != self.state["currency"]:
            raise InvalidValue(
                "price_book_id",
                f"{book.price_book_id} is in {book.currency}, the opportunity in "
                f"{self.state['currency']}",
            )
        lines = priced_line_items(items, book, products)
        total = sum((line.total for line in lines), Decimal(0))
        self._record(
            OpportunityLineItemsChanged(
                opportunity_id=self.opportunity_id,
                price_book_id=book.price_book_id,
                line_items=lines,
                amount=total,
            )
        )

    def quote(
        self,
        quote_id: str,
        tax_rate_percent: object,
        valid_until: date,
        today: date,
        notes: str | None,
    ) -> QuoteIssued:
        """Issue the next numbered quote from the current line items."""
        self._check_open()
        event = issue_quote(
            quote_id,
            self.opportunity_id,
            self.state.get("quotes", 0) + 1,
            self.state["currency"],
            self.state.get("line_items", []),
            tax_rate_percent,
            valid_until,
            today,
            notes,
        )
        self._record(event)
        return event

    def repoint_contact(self, merged_contact_id: str, survivor_id: str) -> None:
        """A contact was merged into another: refer to the survivor (closed ones too)."""
        if self.state.get("contact_id") != merged_contact_id:
            return
        self._record(
            OpportunityUpdated(
                opportunity_id=self.opportunity_id,
                changes={"contact_id": FieldChange(old=merged_contact_id, new=survivor_id)},
            )
        )

    def _check_open(self) -> None:
        if self.status != "open":
            raise OpportunityIsClosed(f"opportunity {self.opportunity_id} is {self.status}")

    def _record(self, event: EventContract) -> None:
        self._apply(event)
        self.pending.append(event)

    def _apply(self, event: EventContract) -> None:
        if isinstance(event, OpportunityOpened):
            self.state = event.model_dump(exclude={"opportunity_id"})
            self.state.update(line_items=[], price_book_id=None, quotes=0)
        elif isinstance(event, OpportunityUpdated):
            for name, change in event.changes.items():
                self.state[name] = _typed(name, change.new)
        elif isinstance(event, OpportunityLineItemsChanged):
            self.state["price_book_id"] = event.price_book_id
            self.state["line_items"] = [line.model_dump(mode="json") for line in event.line_items]
            self.state["amount"] = event.amount
        elif isinstance(event, QuoteIssued):
            self.state["quotes"] = self.state.get("quotes", 0) + 1
        elif isinstance(event, OpportunityStageChanged):
            self.state["stage_id"] = event.to_stage_id
            self.state["probability"] = event.probability
            self.state["forecast_category"] = event.forecast_category
        elif isinstance(event, OpportunityWon):
            self.status = "won"
            self.state["probability"] = 100
            self.state["close_reason"] = event.reason
        elif isinstance(event, OpportunityLost):
            self.status = "lost"
            self.state["probability"] = 0
            self.state["close_reason"] = event.reason
            self.state["competitor"] = event.competitor


def _typed(name: str, value: Any) -> Any:
    """Values of updated fields as the aggregate holds them (events carry JSON)."""
    if value is None:
        return None
    if name == "amount":
        return Decimal(str(value))
    if name == "expected_close_date":
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    return value


def _checked(details: dict[str, Any]) -> dict[str, Any]:
    name = str(details.get("name") or "").strip()
    if not name:
        raise InvalidValue("name", "must not be empty")
    owner = str(details.get("owner_id") or "").strip()
    if not owner:
        raise InvalidValue("owner_id", "every opportunity has an owner")
    close = details.get("expected_close_date")
    if close is None:
        raise InvalidValue("expected_close_date", "is required")
    if not isinstance(close, date):
        try:
            close = date.fromisoformat(str(close))
        except ValueError:
            raise InvalidValue("expected_close_date", "must be a date, YYYY-MM-DD") from None
    return {
        "name": name,
        "amount": amount(details.get("amount", "0")),
        "currency": currency_code(details.get("currency") or ""),
        "expected_close_date": close,
        "owner_id": owner,
        "contact_id": details.get("contact_id") or None,
        "account_id": details.get("account_id") or None,
    }
