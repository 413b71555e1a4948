"""Forecast periods and the time an opportunity spends in each stage."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from crm_sales.domain.errors import InvalidValue
from crm_sales.domain.periods import period_bounds
from crm_sales.domain.stage_history import stage_spells
from crm_shared.contracts.sales import OpportunityOpened, OpportunityStageChanged, OpportunityWon


@pytest.mark.parametrize(
    ("period", "bounds"),
    [
        ("2026", (date(2026, 1, 1), date(2026, 12, 31))),
        ("2026-Q1", (date(2026, 1, 1), date(2026, 3, 31))),
        ("2028-02", (date(2028, 2, 1), date(2028, 2, 29))),
    ],
)
def test_periods_are_years_quarters_or_months(period: str, bounds: tuple[date, date]) -> None:
    assert period_bounds(period) == bounds


@pytest.mark.parametrize("period", ["2026-Q5", "2026-13", "last year", ""])
def test_other_periods_are_refused(period: str) -> None:
    with pytest.raises(InvalidValue, match="period"):
        period_bounds(period)


def test_each_stay_in_a_stage_has_its_start_and_end() -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    opened = OpportunityOpened(
        opportunity_id="o",
        pipeline_id="p",
        name="Deal",
        stage_id="qualify",
        probability=10,
        forecast_category="pipeline",
        amount=Decimal(1),
        currency="EUR",
        expected_close_date=date(2026, 12, 1),
        owner_id="u",
    )

    def move(a: str, b: str) -> OpportunityStageChanged:
        return OpportunityStageChanged(
            opportunity_id="o",
            from_stage_id=a,
            to_stage_id=b,
            probability=50,
            forecast_category="pipeline",
        )

    won = OpportunityWon(opportunity_id="o", amount=Decimal(1), currency="EUR")
    day = timedelta(days=1)
    spells = stage_spells(
        [
            (opened, start),
            (move("qualify", "propose"), start + day),
            (move("propose", "qualify"), start + 3 * day),
            (won, start + 4 * day),
        ]
    )
    assert [(s.stage_id, s.seconds(start)) for s in spells] == [
        ("qualify", 86400.0),
        ("propose", 2 * 86400.0),
        ("qualify", 86400.0),
    ]
