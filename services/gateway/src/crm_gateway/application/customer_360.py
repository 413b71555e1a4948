"""The public 360-degree view: the analytics read model joined with the person's (or the
organisation's) own record from the contacts service, fetched at once, each within its
timeout. A part whose service does not answer is named in ``missing``, a part that is behind
(the read models have not seen the customer yet) in ``stale``; the rest is answered."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from crm_gateway.adapters.upstreams import Answer, Upstreams, UpstreamUnavailable
from crm_gateway.domain.routes import Service
from crm_shared.auth.access import SEES_AMOUNTS
from crm_shared.errors import NotFound


class CustomerViews:
    def __init__(self, upstreams: Upstreams) -> None:
        self.upstreams = upstreams

    async def view(
        self, customer_id: str, headers: Mapping[str, str], roles: frozenset[str]
    ) -> dict[str, Any]:
        facts, person = await asyncio.gather(
            self._part("analytics", f"/customers/{customer_id}/360", headers),
            self._part("contacts", f"/contacts/{customer_id}", headers),
        )
        organisation: Answer | str | None = None
        if not isinstance(person, str) and person.status_code == 404:  # not a person: a firm?
            organisation = await self._part("contacts", f"/accounts/{customer_id}", headers)
        missing = sorted({a for a in (facts, person, organisation) if isinstance(a, str)})
        record = _body(person) or (_body(organisation) if organisation is not None else None)
        view = _body(facts)
        if view is None and record is None:
            if missing:
                raise UpstreamUnavailable(f"no part of the view is available: {missing}")
            raise NotFound(f"no customer {customer_id}")
        answer: dict[str, Any] = dict(view or {"customer_id": customer_id})
        answer["record"] = record
        answer["missing"] = missing
        # the record exists but the read models have not caught up with it yet
        answer["stale"] = ["analytics"] if view is None and "analytics" not in missing else []
        if not (roles & SEES_AMOUNTS):
            _hide_amounts(answer)
        return answer

    async def _part(self, service: Service, path: str, headers: Mapping[str, str]) -> Answer | str:
        """The answer, or the name of the service that gave none."""
        try:
            return await self.upstreams.call(service, "GET", path, headers=headers)
        except UpstreamUnavailable:
            return service


def _body(answer: Answer | str) -> dict[str, Any] | None:
    if isinstance(answer, str) or answer.status_code != 200:
        return None
    body: dict[str, Any] = answer.json()
    return body


def _hide_amounts(view: dict[str, Any]) -> None:
    opportunities = view.get("opportunities")
    if not isinstance(opportunities, dict):
        return
    opportunities.pop("totals", None)
    for group in ("open", "closed"):
        for item in opportunities.get(group, []):
            item.pop("amount", None)
    for entry in view.get("timeline", {}).get("items", []):
        if entry.get("kind") == "opportunity":
            entry.get("details", {}).pop("amount", None)
