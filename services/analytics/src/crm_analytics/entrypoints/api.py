"""The read side over HTTP: the 360-degree view of a customer and its timeline."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic_core import to_json

from crm_analytics.application.customer_view import CustomerViews
from crm_shared import pagination
from crm_shared.http.direct_routes import DirectRoute
from crm_shared.http.requests import Who


def _cursor(page: dict[str, Any]) -> dict[str, Any]:
    following = page.pop("next")
    page["next_cursor"] = pagination.encode_cursor(*following) if following else None
    return page


def customers_router(views: CustomerViews) -> APIRouter:
    router = APIRouter(prefix="/customers", tags=["customers"], route_class=DirectRoute)

    @router.get("/{customer_id}/360", response_model=dict[str, Any])
    async def customer_360(
        customer_id: str,
        who: Who,
        timeline_limit: Annotated[int, Query(ge=1, le=200)] = 20,
    ) -> Response:
        """Everything known about a contact or an organisation: its non-personal profile,
        consent, organisations or people, opportunities with totals, cases with SLA state and
        satisfaction, activities, and the first page of its timeline (newest first). A merged
        contact answers with its survivor (``merged_from``). Names and addresses are not kept
        here: they are the contacts service's, and erased there."""
        view = await views.view(who.tenant_id, customer_id, timeline_limit)
        view["timeline"] = _cursor(view["timeline"])
        # the JSON FastAPI would write for the dict, without checking it against dict[str, Any]
        return Response(to_json(view), media_type="application/json")

    @router.get("/{customer_id}/timeline")
    async def customer_timeline(
        customer_id: str,
        who: Who,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """One merged timeline of everything that happened to the customer, newest first."""
        before = pagination.decode_cursor(cursor) if cursor else None
        return _cursor(await views.timeline(who.tenant_id, customer_id, limit, before))

    return router
