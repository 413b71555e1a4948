"""How long an opportunity spent in each stage, from its events and their times."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crm_shared.contracts.sales import (
    OpportunityLost,
    OpportunityOpened,
    OpportunityStageChanged,
    OpportunityWon,
)
from crm_shared.events import EventContract


@dataclass(frozen=True)
class StageSpell:
    stage_id: str
    entered_at: datetime
    left_at: datetime | None
    """None while the opportunity is still in the stage."""

    def seconds(self, now: datetime) -> float:
        return ((self.left_at or now) - self.entered_at).total_seconds()


def stage_spells(history: list[tuple[EventContract, datetime]]) -> list[StageSpell]:
    """Every stay in a stage, in order (a stage entered twice has two spells)."""
    spells: list[StageSpell] = []
    current: tuple[str, datetime] | None = None
    for event, at in history:
        if isinstance(event, OpportunityOpened):
            current = (event.stage_id, at)
        elif isinstance(event, OpportunityStageChanged) and current:
            spells.append(StageSpell(current[0], current[1], at))
            current = (event.to_stage_id, at)
        elif isinstance(event, OpportunityWon | OpportunityLost) and current:
            spells.append(StageSpell(current[0], current[1], at))
            current = None
    if current:
        spells.append(StageSpell(current[0], current[1], None))
    return spells
