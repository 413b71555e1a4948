"""Opportunities move through their pipeline's stages to won or lost; closed ones stay closed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from crm_sales.domain.errors import InvalidValue, OpportunityIsClosed
from crm_sales.domain.opportunity import Opportunity
from crm_sales.domain.pipeline import Pipeline
from crm_shared.contracts.sales import (
    OpportunityLost,
    OpportunityStageChanged,
    OpportunityUpdated,
    OpportunityWon,
    PipelineStage,
)

PIPELINE = Pipeline(
    "t",
    "new-business",
    "New business",
    (
        PipelineStage(stage_id="qualify", name="Qualify", probability=10),
        PipelineStage(
            stage_id="propose", name="Propose", probability=60, forecast_category="best_case"
        ),
        PipelineStage(
            stage_id="negotiate", name="Negotiate", probability=80, forecast_category="commit"
        ),
    ),
)
DEAL: dict[str, Any] = {
    "name": "Acme renewal",
    "amount": "1250.50",
    "currency": "eur",
    "expected_close_date": "2026-12-15",
    "owner_id": "user-1",
}


def opened(**overrides: Any) -> Opportunity:
    fresh = Opportunity.open("o-1", PIPELINE, {**DEAL, **overrides})
    return Opportunity.from_history("o-1", fresh.pending)


def test_an_opportunity_opens_in_the_first_stage_with_its_probability() -> None:
    deal = opened()
    assert deal.state["stage_id"] == "qualify"
    assert deal.state["probability"] == 10
    assert deal.state["amount"] == Decimal("1250.50")
    assert deal.state["currency"] == "EUR"
    assert deal.state["expected_close_date"] == date(2026, 12, 15)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": 12.5}, "amount"),
        ({"amount": "-1"}, "amount"),
        ({"amount": "1.00001"}, "amount"),
        ({"amount": "ten"}, "amount"),
        ({"currency": "EURO"}, "currency"),
        ({"currency": "XYZ"}, "currency"),
        ({"expected_close_date": "15/12/2026"}, "expected_close_date"),
        ({"name": " "}, "name"),
        ({"owner_id": ""}, "owner_id"),
        ({"stage_id": "won"}, "stage_id"),
    ],
)
def test_bad_values_are_refused_naming_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        Opportunity.open("o-1", PIPELINE, {**DEAL, **overrides})
    assert refused.value.field == field


def test_a_stage_change_records_both_stages_and_the_new_probability() -> None:
    deal = opened()
    deal.move_to("negotiate", PIPELINE)
    [moved] = deal.pending
    assert isinstance(moved, OpportunityStageChanged)
    assert (moved.from_stage_id, moved.to_stage_id) == ("qualify", "negotiate")
    assert (moved.probability, moved.forecast_category) == (80, "commit")
    deal.move_to("negotiate", PIPELINE)
    assert len(deal.pending) == 1  # already there: nothing more


def test_an_update_records_only_what_changed_with_exact_amounts() -> None:
    deal = opened()
    deal.update({"amount": "1250.5", "owner_id": "user-2"})
    [updated] = deal.pending
    assert isinstance(updated, OpportunityUpdated)
    assert set(updated.changes) == {"owner_id"}  # 1250.5 == 1250.50
    deal.update({"amount": "99.99"})
    assert deal.state["amount"] == Decimal("99.99")


def test_won_and_lost_close_the_opportunity_for_good() -> None:
    won = opened()
    won.win("best price")
    assert isinstance(won.pending[-1], OpportunityWon)
    assert won.status == "won"
    with pytest.raises(OpportunityIsClosed):
        won.move_to("propose", PIPELINE)
    with pytest.raises(OpportunityIsClosed):
        won.update({"amount": "1"})
    lost = opened()
    lost.lose("price", "Globex")
    event = lost.pending[-1]
    assert isinstance(event, OpportunityLost)
    assert event.competitor == "Globex"
    with pytest.raises(OpportunityIsClosed):
        lost.win(None)


def test_a_loss_needs_a_reason() -> None:
    with pytest.raises(InvalidValue, match="reason"):
        opened().lose("  ", None)


def test_a_merged_contact_is_replaced_by_its_survivor() -> None:
    deal = opened(contact_id="c-old")
    deal.repoint_contact("c-old", "c-new")
    assert deal.state["contact_id"] == "c-new"
    deal.repoint_contact("c-other", "c-new")
    assert len(deal.pending) == 1
