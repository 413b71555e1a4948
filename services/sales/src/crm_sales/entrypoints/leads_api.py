"""The leads HTTP API, lead routing, and the public web-form endpoint."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from crm_sales.adapters import leads_read_model as leads
from crm_sales.application.conversion import Conversion, ConversionHandlers
from crm_sales.application.leads import LeadHandlers
from crm_sales.domain.lead import Lead
from crm_shared import pagination
from crm_shared.contracts.sales import DisqualificationReason
from crm_shared.errors import NotFound, PlatformError
from crm_shared.eventstore import EventStore
from crm_shared.http.requests import Expected, Who, etag, stale_as_412

log = logging.getLogger(__name__)
CONVERT_INLINE_S = 15.0
"""How long a convert request waits for the saga before answering 202."""

STALE: dict[int | str, dict[str, Any]] = {
    412: {"description": "Stale If-Match"},
    428: {"description": "If-Match missing"},
}


class LeadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_name: str | None = None
    last_name: str
    email: str | None = None
    phone: str | None = None
    company: str | None = None
    country: str | None = Field(None, description="ISO 3166 code or English name")
    region: str | None = None
    notes: str | None = None


class WebFormLeadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_name: str | None = None
    last_name: str
    email: str | None = None
    phone: str | None = None
    company: str | None = None
    country: str | None = None
    message: str | None = None
    website: str | None = Field(None, description="Honeypot: hidden from people, leave empty")
    rendered_at: datetime = Field(description="When the form was shown (the page sets it)")


class LeadRead(BaseModel):
    id: str
    version: int
    status: str
    erased: bool
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    notes: str | None
    company: str | None
    country: str | None
    region: str | None
    source: str
    owner_id: str | None = None
    team_id: str | None = None
    qualification: dict[str, Any] | None = None
    disqualification: dict[str, Any] | None = None
    conversion: dict[str, Any] | None = Field(
        None, description="The last conversion: its plan, what it made, or why it failed"
    )
    created_at: datetime
    updated_at: datetime


class LeadPage(BaseModel):
    items: list[LeadRead]
    next_cursor: str | None


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    owner_id: str


class QualifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    budget: Decimal | None = None
    budget_currency: str | None = None
    authority: bool = Field(description="Is the contact the one who decides?")
    need: str
    timing: date | None = Field(None, description="When the buyer means to decide")
    notes: str | None = None


class DisqualifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: DisqualificationReason
    explanation: str | None = None


class ConvertIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pipeline_id: str = Field(description="The pipeline the opportunity opens in")
    expected_close_date: date
    amount: Decimal = Field(Decimal(0), description="The opportunity's amount")
    currency: str = Field(description="ISO 4217 code of the amount")
    opportunity_name: str | None = Field(None, description="Default: the organisation's name")
    account_name: str | None = Field(None, description="Default: the lead's company")
    owner_id: str | None = Field(None, description="Default: the lead's owner")


class ConversionRead(BaseModel):
    lead_id: str
    status: Literal["converting", "converted", "failed"]
    attempt: int = Field(description="1 for the first conversion, more after a failed one")
    plan: dict[str, Any] | None
    account_id: str | None
    contact_id: str | None
    opportunity_id: str | None
    failure: dict[str, Any] | None = Field(
        None, description="Why it failed, and the ids it archived to undo what it made"
    )
    retries: int = Field(description="Tries that found the contacts service unavailable")
    last_error: str | None
    next_attempt_at: datetime | None


class ConversionFailed(PlatformError):
    status_code = 422
    code = "conversion_failed"


def conversion_body(conversion: Conversion) -> ConversionRead:
    return ConversionRead.model_validate(conversion, from_attributes=True)


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    country: str | None = None
    region: str | None = None
    team_id: str | None = None
    owner_id: str | None = None


class RoutingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[RuleIn] = Field(description="Territory rules, first match wins")
    default_team_id: str | None = Field(None, description="Round robin for the rest")


class WebFormIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    active: bool = True


def lead_body(row: dict[str, Any]) -> LeadRead:
    details = row["details"]
    return LeadRead(
        id=row["lead_id"],
        version=row["version"],
        status=row["status"],
        erased=row["erased"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        **{
            name: details.get(name)
            for name in LeadRead.model_fields
            if name not in {"id", "version", "status", "erased", "created_at", "updated_at"}
        },
    )


def leads_router(
    handlers: LeadHandlers, conversions: ConversionHandlers, store: EventStore
) -> APIRouter:
    router = APIRouter(tags=["leads"])

    async def read(tenant_id: str, lead_id: str) -> dict[str, Any]:
        async with store.engine.connect() as connection:
            row = await leads.get_lead(connection, store.schema, tenant_id, lead_id)
        if row is None:
            raise NotFound(f"no lead {lead_id}")
        return row

    async def change(
        who: Any, lead_id: str, version: int, decide: Any, response: Response
    ) -> LeadRead:
        with stale_as_412():
            await handlers.change(who, lead_id, version, decide)
        row = await read(who.tenant_id, lead_id)
        response.headers["ETag"] = etag(row["version"])
        return lead_body(row)

    @router.post("/leads", status_code=status.HTTP_201_CREATED, response_model=LeadRead)
    async def capture(body: LeadIn, who: Who, response: Response) -> LeadRead:
        """Capture a lead; the tenant's routing assigns it (territory, else round robin)."""
        written = await handlers.capture(who, body.model_dump(), "api")
        row = await read(who.tenant_id, written.entity_id)
        response.headers["ETag"] = etag(row["version"])
        response.headers["Location"] = f"/leads/{written.entity_id}"
        return lead_body(row)

    @router.get("/leads/{lead_id}", response_model=LeadRead)
    async def get_lead(lead_id: str, who: Who, response: Response) -> LeadRead:
        row = await read(who.tenant_id, lead_id)
        response.headers["ETag"] = etag(row["version"])
        return lead_body(row)

    @router.get("/leads", response_model=LeadPage)
    async def list_leads(
        who: Who,
        status: Literal["new", "assigned", "qualified", "disqualified", "converting", "converted"]
        | None = None,
        owner: str | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: str | None = None,
    ) -> LeadPage:
        after = pagination.decode_cursor(cursor) if cursor else None
        async with store.engine.connect() as connection:
            rows = await leads.page_leads(
                connection, store.schema, who.tenant_id, status, owner, limit + 1, after
            )
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = (
            pagination.encode_cursor(rows[-1]["updated_at"], rows[-1]["lead_id"]) if more else None
        )
        return LeadPage(items=[lead_body(r) for r in rows], next_cursor=next_cursor)

    @router.post("/leads/{lead_id}/assign", response_model=LeadRead, responses=STALE)
    async def assign(
        lead_id: str, body: AssignIn, who: Who, version: Expected, response: Response
    ) -> LeadRead:
        def decide(lead: Lead) -> None:
            lead.assign(body.owner_id, None, "manual")

        return await change(who, lead_id, version, decide, response)

    @router.post("/leads/{lead_id}/qualify", response_model=LeadRead, responses=STALE)
    async def qualify(
        lead_id: str, body: QualifyIn, who: Who, version: Expected, response: Response
    ) -> LeadRead:
        """Record budget, authority, need and timing (BANT) and free notes."""

        def decide(lead: Lead) -> None:
            lead.qualify(body.model_dump())

        return await change(who, lead_id, version, decide, response)

    @router.post("/leads/{lead_id}/disqualify", response_model=LeadRead, responses=STALE)
    async def disqualify(
        lead_id: str, body: DisqualifyIn, who: Who, version: Expected, response: Response
    ) -> LeadRead:
        def decide(lead: Lead) -> None:
            lead.disqualify(body.reason, body.explanation)

        return await change(who, lead_id, version, decide, response)

    @router.post(
        "/leads/{lead_id}/convert",
        status_code=status.HTTP_201_CREATED,
        response_model=ConversionRead,
        responses={
            **STALE,
            202: {
                "model": ConversionRead,
                "description": "Started; the contacts service is"
                " not answering yet, the conversion carries on when it does",
            },
            409: {"description": "The lead is not qualified"},
            422: {
                "description": "Invalid plan, or the contacts service refused the lead's"
                " data (what was made is archived and the lead is qualified again)"
            },
            503: {"description": "Conversion is not configured (SALES_CONTACTS_URL)"},
        },
    )
    async def convert(
        lead_id: str, body: ConvertIn, who: Who, version: Expected, response: Response
    ) -> ConversionRead | JSONResponse:
        """Convert a qualified lead: an organisation and a contact in the contacts service, and
        an opportunity here. All of it happens or none of it stays; a crash or an unreachable
        contacts service only delays it."""
        with stale_as_412():
            await conversions.start(who, lead_id, version, body.model_dump(mode="json"))
        try:
            outcome = await asyncio.wait_for(
                conversions.advance(who.tenant_id, lead_id), CONVERT_INLINE_S
            )
        except Exception:  # the runner carries on from wherever this stopped
            log.exception("lead %s: converting in the request failed", lead_id)
            outcome = "waiting"
        conversion = await conversions.conversion(who.tenant_id, lead_id)
        if outcome == "failed":
            raise ConversionFailed(
                (conversion.failure or {}).get("reason", "the conversion failed"),
                lead_id=lead_id,
                compensated=(conversion.failure or {}).get("compensated", []),
            )
        if outcome == "converted":
            response.headers["Location"] = f"/opportunities/{conversion.opportunity_id}"
            return conversion_body(conversion)
        return JSONResponse(
            conversion_body(conversion).model_dump(mode="json"),
            status_code=status.HTTP_202_ACCEPTED,
            headers={"Location": f"/leads/{lead_id}/conversion"},
        )

    @router.get("/leads/{lead_id}/conversion", response_model=ConversionRead)
    async def get_conversion(lead_id: str, who: Who) -> ConversionRead:
        """Where the lead's last conversion stands; poll it after a 202."""
        return conversion_body(await conversions.conversion(who.tenant_id, lead_id))

    @router.post("/leads/{lead_id}/erase", response_model=LeadRead)
    async def erase(lead_id: str, who: Who, response: Response) -> LeadRead:
        """Erase the person behind the lead: their key is destroyed, the facts stay."""
        await handlers.erase(who, lead_id)
        row = await read(who.tenant_id, lead_id)
        response.headers["ETag"] = etag(row["version"])
        return lead_body(row)

    @router.put("/lead-routing", status_code=status.HTTP_204_NO_CONTENT)
    async def define_routing(body: RoutingIn, who: Who) -> None:
        """Territory rules (country or region → team or owner), first match wins; the rest go
        round robin through the default team."""
        rules = [rule.model_dump() for rule in body.rules]
        await handlers.define_routing(who, rules, body.default_team_id)

    @router.put("/web-forms/{form_id}", status_code=status.HTTP_204_NO_CONTENT)
    async def define_web_form(form_id: str, body: WebFormIn, who: Who) -> None:
        """A public form whose submissions become this tenant's leads."""
        await handlers.define_web_form(who, form_id, body.name, body.active)

    @router.post(
        "/public/web-forms/{form_id}",
        status_code=status.HTTP_202_ACCEPTED,
        responses={429: {"description": "Too many submissions from this client"}},
    )
    async def submit_web_form(
        form_id: str, body: WebFormLeadIn, request: Request
    ) -> dict[str, str]:
        """The endpoint a public web form posts to: no credentials, a spam guard instead."""
        client = request.client.host if request.client else "unknown"
        details = body.model_dump(exclude={"website", "rendered_at", "message"})
        details["notes"] = body.message
        await handlers.capture_from_form(
            form_id,
            hashlib.sha256(client.encode()).hexdigest(),
            details,
            body.website,
            body.rendered_at,
        )
        return {"status": "received"}

    return router
