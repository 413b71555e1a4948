"""Sales teams: who sells together, for forecasts by team."""

from __future__ import annotations

from crm_sales.domain.errors import InvalidValue
from crm_sales.domain.pipeline import IDENTIFIER
from crm_shared.contracts.sales import TeamDefined


def define_team(
    tenant_id: str,
    team_id: str,
    name: str,
    members: list[str],
    current: TeamDefined | None = None,
) -> TeamDefined | None:
    """The event defining or changing a team; None when nothing changes."""
    if not IDENTIFIER.match(team_id):
        raise InvalidValue("team_id", "lowercase letters, digits, - and _")
    if not name.strip():
        raise InvalidValue("name", "must not be empty")
    cleaned = sorted({m.strip() for m in members if m.strip()})
    event = TeamDefined(tenant_id=tenant_id, team_id=team_id, name=name.strip(), members=cleaned)
    if current is not None and (current.name, current.members) == (event.name, event.members):
        return None
    return event
