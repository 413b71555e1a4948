"""Events of the sales service, published on ``crm.sales.events``.

Opportunities are keyed by the opportunity id; pipelines and teams, which concern no one
customer, by the tenant. Money is a decimal string (never a float) with its ISO 4217 currency.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field

from crm_shared.events import ContractModel, EventContract, EventRegistry
from crm_shared.privacy.sealing import Sealed

ForecastCategory = Literal["pipeline", "best_case", "commit"]
Money = Annotated[Decimal, Field(max_digits=20, decimal_places=4)]


class PipelineStage(ContractModel):
    stage_id: str
    name: str
    probability: int = Field(ge=0, le=100)
    """Default win probability of an opportunity in this stage, in percent."""
    forecast_category: ForecastCategory = "pipeline"


class PipelineDefined(EventContract):
    """A pipeline, created or changed: its whole definition, stages in order."""

    event_type: ClassVar[str] = "crm.sales.pipeline.defined"
    schema_version: ClassVar[int] = 1

    tenant_id: str
    pipeline_id: str
    name: str
    stages: list[PipelineStage]


class TeamDefined(EventContract):
    """A sales team and its members (user ids), created or changed."""

    event_type: ClassVar[str] = "crm.sales.team.defined"
    schema_version: ClassVar[int] = 1

    tenant_id: str
    team_id: str
    name: str
    members: list[str]


class OpportunityOpened(EventContract):
    event_type: ClassVar[str] = "crm.sales.opportunity.opened"
    schema_version: ClassVar[int] = 1

    opportunity_id: str
    pipeline_id: str
    name: str
    stage_id: str
    probability: int
    forecast_category: ForecastCategory
    amount: Money
    currency: str
    """ISO 4217, e.g. EUR."""
    expected_close_date: date
    owner_id: str
    contact_id: str | None = None
    account_id: str | None = None


class FieldChange(ContractModel):
    old: Any = None
    new: Any = None


class OpportunityUpdated(EventContract):
    """Only the fields that changed, each with its old and new value."""

    event_type: ClassVar[str] = "crm.sales.opportunity.updated"
    schema_version: ClassVar[int] = 1

    opportunity_id: str
    changes: dict[str, FieldChange]


class OpportunityStageChanged(EventContract):
    event_type: ClassVar[str] = "crm.sales.opportunity.stage_changed"
    schema_version: ClassVar[int] = 1

    opportunity_id: str
    from_stage_id: str
    to_stage_id: str
    probability: int
    forecast_category: ForecastCategory


class OpportunityWon(EventContract):
    event_type: ClassVar[str] = "crm.sales.opportunity.won"
    schema_version: ClassVar[int] = 1

    opportunity_id: str
    amount: Money
    currency: str
    reason: str | None = None


class OpportunityLost(EventContract):
    event_type: ClassVar[str] = "crm.sales.opportunity.lost"
    schema_version: ClassVar[int] = 1

    opportunity_id: str
    reason: str
    competitor: str | None = None


class ProductDefined(EventContract):
    """A product of the tenant's catalogue, created or changed."""

    event_type: ClassVar[str] = "crm.sales.product.defined"
    schema_version: ClassVar[int] = 1

    tenant_id: str
    product_id: str
    name: str
    description: str | None = None
    active: bool = True


class PriceBookEntry(ContractModel):
    product_id: str
    unit_price: Money


class PriceBookDefined(EventContract):
    """A price book: one currency, a unit price per product; created or changed."""

    event_type: ClassVar[str] = "crm.sales.price_book.defined"
    schema_version: ClassVar[int] = 1

    tenant_id: str
    price_book_id: str
    name: str
    currency: str
    entries: list[PriceBookEntry]


class LineItem(ContractModel):
    product_id: str
    name: str
    quantity: Money
    unit_price: Money
    discount_percent: Annotated[Decimal, Field(ge=0, le=100, decimal_places=2)] = Decimal(0)
    total: Money
    """quantity x unit price less the discount, rounded to the currency's minor unit."""


class OpportunityLineItemsChanged(EventContract):
    """The opportunity's products, priced from a price book; its amount is their sum."""

    event_type: ClassVar[str] = "crm.sales.opportunity.line_items_changed"
    schema_version: ClassVar[int] = 1

    opportunity_id: str
    price_book_id: str
    line_items: list[LineItem]
    amount: Money


class QuoteIssued(EventContract):
    """A quote for an opportunity: its numbered version, the lines, exact totals and taxes."""

    event_type: ClassVar[str] = "crm.sales.quote.issued"
    schema_version: ClassVar[int] = 1

    quote_id: str
    opportunity_id: str
    quote_number: int
    """1 for the first quote of the opportunity, 2 for the next..."""
    currency: str
    line_items: list[LineItem]
    subtotal: Money
    tax_rate_percent: Annotated[Decimal, Field(ge=0, le=100, decimal_places=3)]
    tax: Money
    total: Money
    valid_until: date
    notes: str | None = None


LEAD_PERSONAL_FIELDS = ("first_name", "last_name", "email", "phone", "notes")
"""What identifies the person behind a lead: only ever sealed in events."""


class LeadPersonalData(ContractModel):
    """What ``LeadCaptured.personal`` opens to (with the lead's key)."""

    first_name: str | None = None
    last_name: str
    email: str | None = None
    phone: str | None = None
    """E.164."""
    notes: str | None = None


class LeadCaptured(EventContract):
    """A new lead, from the API or a public web form; personal data sealed."""

    event_type: ClassVar[str] = "crm.sales.lead.captured"
    schema_version: ClassVar[int] = 1

    lead_id: str
    personal: Sealed
    company: str | None = None
    country: str | None = None
    """ISO 3166-1 alpha-2."""
    region: str | None = None
    source: str
    """api, web_form:<form id>, import..."""


class LeadAssigned(EventContract):
    event_type: ClassVar[str] = "crm.sales.lead.assigned"
    schema_version: ClassVar[int] = 1

    lead_id: str
    owner_id: str
    team_id: str | None = None
    rule: str
    """Which rule chose the owner: territory:<country or region>, round_robin:<team>, manual."""


class LeadQualified(EventContract):
    """Budget, authority, need and timing as learnt; notes sealed (they may name people)."""

    event_type: ClassVar[str] = "crm.sales.lead.qualified"
    schema_version: ClassVar[int] = 1

    lead_id: str
    budget: Money | None = None
    budget_currency: str | None = None
    authority: bool
    need: str
    timing: date | None = None
    """When the buyer means to decide."""
    personal_notes: Sealed | None = None


DisqualificationReason = Literal[
    "no_budget", "no_need", "no_authority", "bad_timing", "competitor", "spam", "duplicate", "other"
]


class LeadDisqualified(EventContract):
    event_type: ClassVar[str] = "crm.sales.lead.disqualified"
    schema_version: ClassVar[int] = 1

    lead_id: str
    reason: DisqualificationReason
    explanation: str | None = None


class LeadErased(EventContract):
    """The lead's personal data is erased: its key is destroyed."""

    event_type: ClassVar[str] = "crm.sales.lead.erased"
    schema_version: ClassVar[int] = 1

    lead_id: str


class AssignmentRule(ContractModel):
    country: str | None = None
    region: str | None = None
    team_id: str | None = None
    owner_id: str | None = None


class LeadRoutingDefined(EventContract):
    """A tenant's lead routing: territory rules in order, then round robin in a default team."""

    event_type: ClassVar[str] = "crm.sales.lead_routing.defined"
    schema_version: ClassVar[int] = 1

    tenant_id: str
    rules: list[AssignmentRule]
    default_team_id: str | None = None


class RelatedTo(ContractModel):
    """What an activity concerns: at least one of these."""

    contact_id: str | None = None
    account_id: str | None = None
    lead_id: str | None = None
    opportunity_id: str | None = None


class ActivityPersonalData(ContractModel):
    """What ``personal`` of an activity event opens to: its words may name people."""

    subject: str
    notes: str | None = None
    location: str | None = None


class TaskCreated(EventContract):
    event_type: ClassVar[str] = "crm.sales.task.created"
    schema_version: ClassVar[int] = 1

    activity_id: str
    owner_id: str
    related: RelatedTo
    due_at: datetime
    reminder_at: datetime | None = None
    personal: Sealed


class TaskCompleted(EventContract):
    event_type: ClassVar[str] = "crm.sales.task.completed"
    schema_version: ClassVar[int] = 1

    activity_id: str


class TaskBecameOverdue(EventContract):
    """An open task passed its due time (emitted once, by the service's scheduler)."""

    event_type: ClassVar[str] = "crm.sales.task.became_overdue"
    schema_version: ClassVar[int] = 1

    activity_id: str
    owner_id: str
    due_at: datetime


class TaskReminderDue(EventContract):
    """Time to remind the task's owner (emitted once, by the service's scheduler)."""

    event_type: ClassVar[str] = "crm.sales.task.reminder_due"
    schema_version: ClassVar[int] = 1

    activity_id: str
    owner_id: str
    due_at: datetime


class CallLogged(EventContract):
    event_type: ClassVar[str] = "crm.sales.call.logged"
    schema_version: ClassVar[int] = 1

    activity_id: str
    owner_id: str
    related: RelatedTo
    at: datetime
    duration_minutes: int = Field(ge=0)
    direction: Literal["inbound", "outbound"]
    outcome: Literal["connected", "voicemail", "no_answer", "busy", "wrong_number"]
    personal: Sealed


class MeetingScheduled(EventContract):
    event_type: ClassVar[str] = "crm.sales.meeting.scheduled"
    schema_version: ClassVar[int] = 1

    activity_id: str
    owner_id: str
    attendees: list[str]
    """User ids taking part, the owner included."""
    related: RelatedTo
    starts_at: datetime
    ends_at: datetime
    time_zone: str
    """IANA zone the meeting was planned in, e.g. Europe/Paris."""
    personal: Sealed


class MeetingCancelled(EventContract):
    event_type: ClassVar[str] = "crm.sales.meeting.cancelled"
    schema_version: ClassVar[int] = 1

    activity_id: str


class ActivityErased(EventContract):
    """The activity's words are erased (its contact or lead was): its key is destroyed."""

    event_type: ClassVar[str] = "crm.sales.activity.erased"
    schema_version: ClassVar[int] = 1

    activity_id: str


class ConversionPlan(ContractModel):
    """What a lead's conversion makes: an organisation, a contact, and this opportunity."""

    account_name: str
    pipeline_id: str
    opportunity_name: str
    amount: Money
    currency: str
    expected_close_date: date
    owner_id: str


class LeadConversionStarted(EventContract):
    """The conversion saga begins; it finishes (``LeadConverted``) or is undone
    (``LeadConversionFailed``), never left half done."""

    event_type: ClassVar[str] = "crm.sales.lead.conversion_started"
    schema_version: ClassVar[int] = 1

    lead_id: str
    plan: ConversionPlan


class LeadConversionStepDone(EventContract):
    """One step of the conversion took effect in the contacts service."""

    event_type: ClassVar[str] = "crm.sales.lead.conversion_step_done"
    schema_version: ClassVar[int] = 1

    lead_id: str
    step: Literal["account", "contact"]
    resource_id: str


class LeadConverted(EventContract):
    event_type: ClassVar[str] = "crm.sales.lead.converted"
    schema_version: ClassVar[int] = 1

    lead_id: str
    account_id: str
    contact_id: str
    opportunity_id: str


class LeadConversionFailed(EventContract):
    """The conversion could not finish; what it had made was archived (compensated)."""

    event_type: ClassVar[str] = "crm.sales.lead.conversion_failed"
    schema_version: ClassVar[int] = 1

    lead_id: str
    reason: str
    compensated: list[str]
    """Ids of what was made and then archived in the contacts service."""


REGISTRY = EventRegistry(
    [
        PipelineDefined,
        TeamDefined,
        OpportunityOpened,
        OpportunityUpdated,
        OpportunityStageChanged,
        OpportunityWon,
        OpportunityLost,
        ProductDefined,
        PriceBookDefined,
        OpportunityLineItemsChanged,
        QuoteIssued,
        LeadCaptured,
        LeadAssigned,
        LeadQualified,
        LeadDisqualified,
        LeadErased,
        LeadRoutingDefined,
        TaskCreated,
        TaskCompleted,
        TaskBecameOverdue,
        TaskReminderDue,
        CallLogged,
        MeetingScheduled,
        MeetingCancelled,
        ActivityErased,
        LeadConversionStarted,
        LeadConversionStepDone,
        LeadConverted,
        LeadConversionFailed,
    ]
)
