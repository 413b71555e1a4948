"""Request and response bodies of the support API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from crm_shared.contracts.support import (
    Attachment,
    BusinessCalendar,
    CaseStatus,
    Channel,
    Priority,
    SlaClock,
    SlaRule,
)


class CaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=1, max_length=500)
    description: str | None = Field(None, max_length=100_000)
    channel: Channel = "web"
    category: str | None = Field(None, max_length=200)
    priority: Priority = "normal"
    tier: str = Field("standard", max_length=100, description="The customer's tier")
    contact_id: str | None = None
    account_id: str | None = None
    requester_email: str | None = None
    queue_id: str | None = Field(None, description="Assigned within it by its strategy")
    skill: str | None = Field(None, description="Default: the queue's required skill")


class CaseRead(BaseModel):
    id: str
    number: int
    version: int
    status: CaseStatus
    priority: Priority
    tier: str
    channel: Channel
    category: str | None
    subject: str | None
    description: str | None
    requester_email: str | None
    contact_id: str | None
    account_id: str | None
    queue_id: str | None
    assignee_id: str | None
    sla: list[SlaClock] = Field(description="First response and resolution clocks")
    responded_at: datetime | None = None
    resolved_at: datetime | None = None
    survey: dict[str, Any] | None = None
    erased: bool
    created_at: datetime
    updated_at: datetime


class CasePage(BaseModel):
    items: list[CaseRead]
    next_cursor: str | None


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: CaseStatus
    reason: str | None = Field(None, max_length=1000)


class PriorityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    priority: Priority


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    queue_id: str | None = Field(None, description="Alone: the queue's strategy picks")
    assignee_id: str | None = Field(None, description="A named agent (manual)")
    skill: str | None = None


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=100_000)
    visibility: Literal["public", "internal"] = "public"
    author: Literal["agent", "customer"] = "agent"
    channel: Channel | None = None
    attachments: list[Attachment] = Field(default_factory=list, max_length=50)


class MessageRead(BaseModel):
    id: str
    at: datetime
    visibility: str
    author: str
    author_id: str
    channel: str
    body: str | None
    attachments: list[Attachment]
    message_id: str | None


class HistoryEntry(BaseModel):
    version: int
    at: datetime
    actor: str
    type: str
    data: dict[str, Any] = Field(description="The event's facts; sealed words left out")


class QueueMemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: str = Field(min_length=1)
    skills: list[str] = Field(default_factory=list)


class QueueIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    strategy: Literal["round_robin", "least_load"] = "round_robin"
    required_skill: str | None = None
    members: list[QueueMemberIn] = Field(default_factory=list, max_length=1000)


class QueueRead(QueueIn):
    id: str
    version: int


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy_id: str = Field("default", min_length=1)
    calendar: BusinessCalendar
    rules: list[SlaRule] = Field(
        description="One per priority and tier (tier 'standard' is the fallback)"
    )


class PolicyRead(PolicyIn):
    version: int


class MailboxIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    queue_id: str | None = None
    priority: Priority = "normal"
    category: str | None = None


class ArticleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=500)
    body: str = Field(min_length=1, max_length=500_000)
    tags: list[str] = Field(default_factory=list, max_length=50)


class ArticleRead(BaseModel):
    id: str
    version: int
    title: str
    body: str
    tags: list[str]
    updated_at: datetime


class SurveyLink(BaseModel):
    url: str


class SurveyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    score: int = Field(ge=1, le=5)
    comment: str | None = Field(None, max_length=5000)


class SurveyRead(BaseModel):
    case_number: int
    status: str
    answered: bool


class EmailReceived(BaseModel):
    case_id: str
    new_case: bool
    duplicate: bool
