"""Pipelines: ordered stages with probabilities, changed at run time without losing deals."""

from __future__ import annotations

from typing import Any

import pytest

from crm_sales.domain.errors import InvalidValue, StageInUse
from crm_sales.domain.pipeline import Pipeline, define_pipeline

STAGES: list[dict[str, Any]] = [
    {"stage_id": "qualify", "name": "Qualify", "probability": 10},
    {"stage_id": "propose", "name": "Propose", "probability": 60},
]


def test_a_pipeline_keeps_its_stages_in_order() -> None:
    event = define_pipeline("t", "new", "New business", STAGES)
    assert event is not None
    assert [s.stage_id for s in event.stages] == ["qualify", "propose"]


@pytest.mark.parametrize(
    ("stages", "field"),
    [
        ([], "stages"),
        ([{"stage_id": "a", "name": "A", "probability": 101}], "stages[0].probability"),
        ([{"stage_id": "A B", "name": "A", "probability": 1}], "stages[0].stage_id"),
        ([{"stage_id": "a", "name": "A", "probability": 1}] * 2, "stages"),
        ([{"stage_id": "a", "probability": 1}], "stages[0].name"),
    ],
)
def test_bad_stages_are_refused_naming_the_field(stages: list[dict[str, Any]], field: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        define_pipeline("t", "new", "New business", stages)
    assert refused.value.field == field


def test_a_stage_with_open_deals_cannot_be_removed_but_others_can() -> None:
    first = define_pipeline("t", "new", "New business", STAGES)
    assert first is not None
    current = Pipeline.from_event(first)
    with pytest.raises(StageInUse, match="propose"):
        define_pipeline("t", "new", "New", STAGES[:1], current, frozenset({"propose"}))
    assert define_pipeline("t", "new", "New", STAGES[:1], current, frozenset({"qualify"}))


def test_the_same_definition_again_changes_nothing() -> None:
    first = define_pipeline("t", "new", "New business", STAGES)
    assert first is not None
    assert define_pipeline("t", "new", "New business", STAGES, Pipeline.from_event(first)) is None
