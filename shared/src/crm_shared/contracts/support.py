"""Events of the support service, published on ``crm.support.events``.

Cases are keyed by the case id; queues, SLA policies and mailboxes, which concern no one
customer, by the tenant; articles by the article id. A case's words (subject, description,
messages, survey comment, the requester's address) are sealed with the case's own key: when
the contact behind it is erased, the key is destroyed and the words with it.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import ClassVar, Literal

from pydantic import Field

from crm_shared.events import ContractModel, EventContract, EventRegistry
from crm_shared.privacy.sealing import Sealed

Channel = Literal["email", "phone", "chat", "web", "social"]
Priority = Literal["low", "normal", "high", "urgent"]
CaseStatus = Literal["new", "open", "pending", "on_hold", "resolved", "closed"]
SlaTarget = Literal["first_response", "resolution"]
AssignmentStrategy = Literal["round_robin", "least_load"]


class CaseWords(ContractModel):
    """What a case's ``personal`` opens to."""

    subject: str
    description: str | None = None
    requester_email: str | None = None


class SlaClock(ContractModel):
    """One SLA target of a case, in business seconds of the policy's calendar."""

    target: SlaTarget
    budget_s: int = Field(description="Business seconds the target allows")
    consumed_s: int = Field(description="Business seconds used while the clock was paused")
    running_since: datetime | None = Field(None, description="None: paused or stopped")
    deadline: datetime | None = Field(None, description="When it breaches if it keeps running")
    warn_at: datetime | None = None
    met_at: datetime | None = None
    warned: bool = False
    breached: bool = False


class Escalation(ContractModel):
    """What a breach does to the case."""

    raise_priority: bool = False
    move_to_queue_id: str | None = None


class SlaTerms(ContractModel):
    """The targets a case is held to, copied from the policy when it opens or its priority
    changes (so replaying it never depends on a later policy)."""

    policy_id: str
    first_response_minutes: int
    resolution_minutes: int
    warn_before_minutes: int
    escalation: Escalation


class CaseOpened(EventContract):
    event_type: ClassVar[str] = "crm.support.case.opened"
    schema_version: ClassVar[int] = 1

    case_id: str
    number: int = Field(description="Per tenant, for people: #1042")
    channel: Channel
    category: str | None
    priority: Priority
    tier: str = Field(description="The customer's tier, e.g. standard, gold")
    contact_id: str | None
    account_id: str | None
    queue_id: str | None
    personal: Sealed
    terms: SlaTerms | None


class CaseStatusChanged(EventContract):
    event_type: ClassVar[str] = "crm.support.case.status_changed"
    schema_version: ClassVar[int] = 1

    case_id: str
    old: CaseStatus
    new: CaseStatus
    at: datetime
    reason: str | None = None


class CaseAssigned(EventContract):
    event_type: ClassVar[str] = "crm.support.case.assigned"
    schema_version: ClassVar[int] = 1

    case_id: str
    queue_id: str | None
    assignee_id: str | None
    previous_assignee_id: str | None
    rule: Literal["round_robin", "least_load", "manual", "escalation"]


class CasePriorityChanged(EventContract):
    event_type: ClassVar[str] = "crm.support.case.priority_changed"
    schema_version: ClassVar[int] = 1

    case_id: str
    old: Priority
    new: Priority
    reason: Literal["manual", "escalation"]
    terms: SlaTerms | None


class Attachment(ContractModel):
    """An attachment's metadata; the bytes live in the file store."""

    filename: str
    content_type: str
    size_bytes: int = Field(ge=0)
    url: str | None = None


class MessageWords(ContractModel):
    body: str


class InteractionAdded(EventContract):
    """A message in the case's thread: a public reply (to or from the customer) or an internal
    note. The first public reply by an agent is the first response."""

    event_type: ClassVar[str] = "crm.support.case.interaction_added"
    schema_version: ClassVar[int] = 1

    case_id: str
    interaction_id: str
    at: datetime
    visibility: Literal["public", "internal"]
    author: Literal["agent", "customer"]
    author_id: str
    channel: Channel
    personal: Sealed
    attachments: list[Attachment]
    message_id: str | None = Field(None, description="The email's Message-ID, when by email")
    first_response: bool = False


class SlaClocksSet(EventContract):
    """The case's SLA clocks as they now stand: started, paused, resumed, met or re-timed."""

    event_type: ClassVar[str] = "crm.support.case.sla_clocks_set"
    schema_version: ClassVar[int] = 1

    case_id: str
    clocks: list[SlaClock]


class SlaWarned(EventContract):
    event_type: ClassVar[str] = "crm.support.case.sla_warned"
    schema_version: ClassVar[int] = 1

    case_id: str
    target: SlaTarget
    deadline: datetime


class SlaBreached(EventContract):
    event_type: ClassVar[str] = "crm.support.case.sla_breached"
    schema_version: ClassVar[int] = 1

    case_id: str
    target: SlaTarget
    deadline: datetime


class SurveyWords(ContractModel):
    comment: str | None = None


class SurveyAnswered(EventContract):
    event_type: ClassVar[str] = "crm.support.case.survey_answered"
    schema_version: ClassVar[int] = 1

    case_id: str
    score: int = Field(ge=1, le=5)
    personal: Sealed


class CaseContactChanged(EventContract):
    """The case now concerns another contact (the old one was merged into it)."""

    event_type: ClassVar[str] = "crm.support.case.contact_changed"
    schema_version: ClassVar[int] = 1

    case_id: str
    old_contact_id: str | None
    new_contact_id: str


class CaseErased(EventContract):
    """The case's words are erased (its contact was): its key is destroyed."""

    event_type: ClassVar[str] = "crm.support.case.erased"
    schema_version: ClassVar[int] = 1

    case_id: str


class QueueMember(ContractModel):
    user_id: str
    skills: list[str] = Field(default_factory=list)


class QueueDefined(EventContract):
    event_type: ClassVar[str] = "crm.support.queue.defined"
    schema_version: ClassVar[int] = 1

    tenant_id: str
    queue_id: str
    name: str
    strategy: AssignmentStrategy
    required_skill: str | None
    members: list[QueueMember]


class WorkingHours(ContractModel):
    weekday: int = Field(ge=0, le=6, description="0 Monday ... 6 Sunday")
    start: time
    end: time


class BusinessCalendar(ContractModel):
    time_zone: str = Field(description="IANA time zone, e.g. Europe/Berlin")
    hours: list[WorkingHours]
    holidays: list[date] = Field(default_factory=list)


class SlaRule(ContractModel):
    priority: Priority
    tier: str
    first_response_minutes: int = Field(gt=0)
    resolution_minutes: int = Field(gt=0)
    warn_before_minutes: int = Field(ge=0)
    escalation: Escalation = Field(default_factory=Escalation)


class SlaPolicyDefined(EventContract):
    """The tenant's SLA policy: its business calendar and a rule per priority and tier."""

    event_type: ClassVar[str] = "crm.support.sla_policy.defined"
    schema_version: ClassVar[int] = 1

    tenant_id: str
    policy_id: str
    calendar: BusinessCalendar
    rules: list[SlaRule]


class ArticlePublished(EventContract):
    """A new version of a knowledge-base article."""

    event_type: ClassVar[str] = "crm.support.article.published"
    schema_version: ClassVar[int] = 1

    article_id: str
    version: int
    title: str
    body: str
    tags: list[str]


class ArticleLinked(EventContract):
    """The article solved the case."""

    event_type: ClassVar[str] = "crm.support.article.linked"
    schema_version: ClassVar[int] = 1

    article_id: str
    case_id: str


REGISTRY = EventRegistry(
    [
        CaseOpened,
        CaseStatusChanged,
        CaseAssigned,
        CasePriorityChanged,
        InteractionAdded,
        SlaClocksSet,
        SlaWarned,
        SlaBreached,
        SurveyAnswered,
        CaseContactChanged,
        CaseErased,
        QueueDefined,
        SlaPolicyDefined,
        ArticlePublished,
        ArticleLinked,
    ]
)
