"""Who gets a new lead: the first territory rule that matches its country or region, else
round robin within the rule's team or the default team."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm_sales.domain.errors import InvalidValue
from crm_shared.contracts.sales import AssignmentRule, LeadRoutingDefined
from crm_shared.values import normalise_country


@dataclass(frozen=True)
class Route:
    """Where a lead goes: straight to an owner, or to a team's round robin."""

    rule: str
    owner_id: str | None = None
    team_id: str | None = None


def define_routing(
    tenant_id: str,
    rules: list[dict[str, Any]],
    default_team_id: str | None,
    known_teams: set[str],
) -> LeadRoutingDefined:
    parsed = []
    for index, raw in enumerate(rules):
        where = f"rules[{index}]"
        country = raw.get("country")
        region = str(raw.get("region") or "").strip() or None
        if not country and not region:
            raise InvalidValue(where, "a territory rule names a country or a region")
        if bool(raw.get("team_id")) == bool(raw.get("owner_id")):
            raise InvalidValue(where, "a rule assigns to a team or to an owner, not both")
        team_id = raw.get("team_id")
        if team_id and team_id not in known_teams:
            raise InvalidValue(f"{where}.team_id", f"no team {team_id}")
        parsed.append(
            AssignmentRule(
                country=normalise_country(str(country), f"{where}.country") if country else None,
                region=region,
                team_id=team_id,
                owner_id=raw.get("owner_id"),
            )
        )
    if default_team_id and default_team_id not in known_teams:
        raise InvalidValue("default_team_id", f"no team {default_team_id}")
    return LeadRoutingDefined(tenant_id=tenant_id, rules=parsed, default_team_id=default_team_id)


def route(
    routing: LeadRoutingDefined | None, country: str | None, region: str | None
) -> Route | None:
    """The route of a lead from ``country``/``region``; None: nobody to assign to yet."""
    if routing is None:
        return None
    for rule in routing.rules:
        if (rule.country and rule.country == country) or (
            rule.region and region and rule.region.lower() == region.lower()
        ):
            territory = rule.country or rule.region
            if rule.owner_id:
                return Route(f"territory:{territory}", owner_id=rule.owner_id)
            return Route(f"territory:{territory}", team_id=rule.team_id)
    if routing.default_team_id:
        return Route("default", team_id=routing.default_team_id)
    return None
