"""Pipelines: ordered stages with a default win probability, configurable at run time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from crm_sales.domain.errors import InvalidValue, StageInUse
from crm_shared.contracts.sales import PipelineDefined, PipelineStage

IDENTIFIER = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


@dataclass(frozen=True)
class Pipeline:
    tenant_id: str
    pipeline_id: str
    name: str
    stages: tuple[PipelineStage, ...]

    @classmethod
    def from_event(cls, event: PipelineDefined) -> Pipeline:
        return cls(event.tenant_id, event.pipeline_id, event.name, tuple(event.stages))

    def stage(self, stage_id: str, field: str = "stage_id") -> PipelineStage:
        for stage in self.stages:
            if stage.stage_id == stage_id:
                return stage
        known = ", ".join(s.stage_id for s in self.stages)
        raise InvalidValue(field, f"{stage_id!r} is not a stage of {self.pipeline_id} ({known})")


def define_pipeline(
    tenant_id: str,
    pipeline_id: str,
    name: str,
    stages: list[dict[str, Any]],
    current: Pipeline | None = None,
    stages_in_use: frozenset[str] = frozenset(),
) -> PipelineDefined | None:
    """The event defining or changing a pipeline; None when nothing changes.

    Stages may be added, renamed, reordered or re-weighted; a stage that open opportunities
    are in cannot be removed (move them first).
    """
    if not IDENTIFIER.match(pipeline_id):
        raise InvalidValue("pipeline_id", "lowercase letters, digits, - and _")
    if not name.strip():
        raise InvalidValue("name", "must not be empty")
    if not stages:
        raise InvalidValue("stages", "a pipeline needs at least one stage")
    parsed = []
    for index, raw in enumerate(stages):
        try:
            stage = PipelineStage.model_validate(raw)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise InvalidValue(f"stages[{index}].{where}", first["msg"]) from None
        if not IDENTIFIER.match(stage.stage_id):
            raise InvalidValue(f"stages[{index}].stage_id", "lowercase letters, digits, - and _")
        parsed.append(stage)
    ids = [s.stage_id for s in parsed]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise InvalidValue("stages", f"stage ids must be unique: {', '.join(repeated)}")
    if current is not None:
        removed = sorted({s.stage_id for s in current.stages} - set(ids))
        busy = sorted(set(removed) & stages_in_use)
        if busy:
            raise StageInUse(f"open opportunities are in {', '.join(busy)}: move them first")
        if current.name == name.strip() and current.stages == tuple(parsed):
            return None
    return PipelineDefined(
        tenant_id=tenant_id, pipeline_id=pipeline_id, name=name.strip(), stages=parsed
    )
