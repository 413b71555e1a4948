"""What each event of the other services means for the analytics read models: plain data, no I/O.

Every event is about one *entity* (a contact, an account, an opportunity, a case, an activity)
and may set some of its facts, link it to a contact or an account, and add an entry to the
timeline of the customers it concerns. The read models hold no personal data: names, emails
and the words of cases and activities travel sealed and are never opened here, so an erasure
leaves nothing to delete and a rebuild from offset zero cannot bring anything back. What is
kept is what a department reports on: stages, amounts, dates, statuses, scores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from crm_shared.contracts import contacts as c
from crm_shared.contracts import sales as s
from crm_shared.contracts import support as su
from crm_shared.events import EventContract

EntityKind = Literal["contact", "account", "opportunity", "case", "activity"]


@dataclass(frozen=True)
class Facts:
    """Set these facts of the entity (merged into what is known; an absent link stays)."""

    kind: EntityKind
    entity_id: str
    values: dict[str, Any]
    contact_id: str | None = None
    account_id: str | None = None


@dataclass(frozen=True)
class Entry:
    """A line in the timeline of every customer the entity concerns."""

    kind: EntityKind
    entity_id: str
    what: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Consent:
    contact_id: str
    channel: str
    status: str
    lawful_basis: str
    source: str


@dataclass(frozen=True)
class Membership:
    account_id: str
    contact_id: str
    role: str | None
    primary: bool
    linked: bool


@dataclass(frozen=True)
class Merge:
    """``merged_id`` lives on as ``survivor_id``: every reference to it now means the survivor."""

    survivor_id: str
    merged_id: str


@dataclass(frozen=True)
class Erasure:
    contact_ids: list[str]


Change = Facts | Entry | Consent | Membership | Merge | Erasure


def project(event: EventContract, at: datetime) -> list[Change]:
    """The changes ``event`` (which happened at ``at``) makes; [] for events of no interest."""
    for kinds, projector in _PROJECTORS:
        if isinstance(event, kinds):
            return projector(event, at)
    return []


def _money(amount: Decimal) -> str:
    return format(amount, "f")


def _changed(changes: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    return {name: change.new for name, change in changes.items() if name in allowed}


def _facts_of(event: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """The named fields of a creation event, as the read model keeps them."""
    return {name: getattr(event, name) for name in names}


CONTACT_FACTS = ("lifecycle_stage", "owner_id", "tags", "source")
ACCOUNT_FACTS = ("name", "domain", "industry", "owner_id", "tags", "parent_account_id")
OPPORTUNITY_FACTS = (
    "name",
    "amount",
    "currency",
    "expected_close_date",
    "owner_id",
    "contact_id",
    "account_id",
)


def _contact(event: Any, at: datetime) -> list[Change]:
    if isinstance(event, c.ContactCreated):
        values = {**_facts_of(event, CONTACT_FACTS), "created_at": at.isoformat()}
        return [
            Facts("contact", event.contact_id, values),
            Entry("contact", event.contact_id, "contact created", {"stage": event.lifecycle_stage}),
        ]
    if isinstance(event, c.ContactUpdated):
        values = _changed(event.changes, CONTACT_FACTS)
        changed = sorted(event.changes) + (["personal details"] if event.personal_changes else [])
        details: dict[str, Any] = {"fields": changed}
        if "lifecycle_stage" in values:
            details["stage"] = values["lifecycle_stage"]
            details["was"] = event.changes["lifecycle_stage"].old
        return [
            Facts("contact", event.contact_id, values),
            Entry("contact", event.contact_id, "contact updated", details),
        ]
    if isinstance(event, c.ContactArchived):
        return [
            Facts("contact", event.contact_id, {"archived": True}),
            Entry("contact", event.contact_id, "contact archived"),
        ]
    if isinstance(event, c.ConsentChanged):
        return [
            Consent(
                event.contact_id, event.channel, event.status, event.lawful_basis, event.source
            ),
            Entry(
                "contact",
                event.contact_id,
                "consent changed",
                {"channel": event.channel, "status": event.status},
            ),
        ]
    if isinstance(event, c.ContactMerged):
        return [
            Merge(event.contact_id, event.merged_contact_id),
            Facts("contact", event.contact_id, _changed(event.changes, CONTACT_FACTS)),
            Entry(
                "contact", event.contact_id, "contact merged", {"merged": event.merged_contact_id}
            ),
        ]
    if isinstance(event, c.ContactMergedInto):
        return [
            Merge(event.survivor_id, event.contact_id),
            Facts("contact", event.contact_id, {"merged_into": event.survivor_id}),
        ]
    if isinstance(event, c.ContactErased):
        return [
            Erasure(event.erased_contact_ids),
            Entry("contact", event.contact_id, "personal data erased", {"reason": event.reason}),
        ]
    return []


def _account(event: Any, at: datetime) -> list[Change]:
    if isinstance(event, c.AccountCreated):
        values = {**_facts_of(event, ACCOUNT_FACTS), "created_at": at.isoformat()}
        return [
            Facts("account", event.account_id, values),
            Entry("account", event.account_id, "organisation created"),
        ]
    if isinstance(event, c.AccountUpdated):
        return [
            Facts("account", event.account_id, _changed(event.changes, ACCOUNT_FACTS)),
            Entry(
                "account",
                event.account_id,
                "organisation updated",
                {"fields": sorted(event.changes)},
            ),
        ]
    if isinstance(event, c.AccountArchived):
        return [Facts("account", event.account_id, {"archived": True})]
    if isinstance(event, c.AccountContactLinked | c.AccountContactUnlinked):
        linked = isinstance(event, c.AccountContactLinked)
        role = event.role if isinstance(event, c.AccountContactLinked) else None
        primary = event.primary if isinstance(event, c.AccountContactLinked) else False
        what = "person linked" if linked else "person unlinked"
        return [
            Membership(event.account_id, event.contact_id, role, primary, linked),
            Entry("account", event.account_id, what, {"contact_id": event.contact_id}),
            Entry("contact", event.contact_id, what, {"account_id": event.account_id}),
        ]
    return []


def _opportunity(event: Any, at: datetime) -> list[Change]:
    if isinstance(event, s.OpportunityOpened):
        values = {
            "pipeline_id": event.pipeline_id,
            "name": event.name,
            "stage_id": event.stage_id,
            "probability": event.probability,
            "forecast_category": event.forecast_category,
            "amount": _money(event.amount),
            "currency": event.currency,
            "expected_close_date": event.expected_close_date.isoformat(),
            "owner_id": event.owner_id,
            "status": "open",
            "opened_at": at.isoformat(),
        }
        details = {"amount": values["amount"], "currency": event.currency, "stage": event.stage_id}
        return [
            Facts("opportunity", event.opportunity_id, values, event.contact_id, event.account_id),
            Entry("opportunity", event.opportunity_id, "opportunity opened", details),
        ]
    if isinstance(event, s.OpportunityUpdated):
        values = _changed(event.changes, OPPORTUNITY_FACTS)
        if "amount" in values and values["amount"] is not None:
            values["amount"] = _money(Decimal(str(values["amount"])))
        contact_id, account_id = values.pop("contact_id", None), values.pop("account_id", None)
        return [
            Facts(
                "opportunity",
                event.opportunity_id,
                values,
                str(contact_id) if contact_id else None,
                str(account_id) if account_id else None,
            ),
            Entry(
                "opportunity",
                event.opportunity_id,
                "opportunity updated",
                {"fields": sorted(event.changes)},
            ),
        ]
    if isinstance(event, s.OpportunityLineItemsChanged):
        return [Facts("opportunity", event.opportunity_id, {"amount": _money(event.amount)})]
    if isinstance(event, s.OpportunityStageChanged):
        values = {
            "stage_id": event.to_stage_id,
            "probability": event.probability,
            "forecast_category": event.forecast_category,
        }
        return [
            Facts("opportunity", event.opportunity_id, values),
            Entry(
                "opportunity",
                event.opportunity_id,
                "opportunity moved",
                {"from": event.from_stage_id, "to": event.to_stage_id},
            ),
        ]
    if isinstance(event, s.OpportunityWon):
        amount = _money(event.amount)
        values = {"status": "won", "amount": amount, "currency": event.currency}
        return [
            Facts("opportunity", event.opportunity_id, {**values, "closed_at": at.isoformat()}),
            Entry("opportunity", event.opportunity_id, "opportunity won", values),
        ]
    if isinstance(event, s.OpportunityLost):
        values = {"status": "lost", "lost_reason": event.reason, "competitor": event.competitor}
        return [
            Facts("opportunity", event.opportunity_id, {**values, "closed_at": at.isoformat()}),
            Entry("opportunity", event.opportunity_id, "opportunity lost", values),
        ]
    if isinstance(event, s.LeadConverted):
        return [
            Facts(
                "contact",
                event.contact_id,
                {"converted_from_lead": event.lead_id, "converted_at": at.isoformat()},
            ),
            Entry(
                "contact",
                event.contact_id,
                "lead converted",
                {"lead_id": event.lead_id, "opportunity_id": event.opportunity_id},
            ),
        ]
    return []


def _activity(event: Any, at: datetime) -> list[Change]:
    if isinstance(event, s.TaskCreated | s.CallLogged | s.MeetingScheduled):
        related = event.related
        if isinstance(event, s.TaskCreated):
            values: dict[str, Any] = {"type": "task", "status": "open", "due_at": event.due_at}
        elif isinstance(event, s.CallLogged):
            values = {
                "type": "call",
                "status": "done",
                "at": event.at,
                "duration_minutes": event.duration_minutes,
                "direction": event.direction,
                "outcome": event.outcome,
            }
        else:
            values = {
                "type": "meeting",
                "status": "scheduled",
                "starts_at": event.starts_at,
                "ends_at": event.ends_at,
            }
        values = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()} | {
            "owner_id": event.owner_id,
            "opportunity_id": related.opportunity_id,
        }
        contact_id, account_id = related.contact_id, related.account_id
        return [
            Facts("activity", event.activity_id, values, contact_id, account_id),
            Entry(
                "activity", event.activity_id, f"{values['type']} logged", {"type": values["type"]}
            ),
        ]
    if isinstance(event, s.TaskCompleted):
        return [
            Facts("activity", event.activity_id, {"status": "done"}),
            Entry("activity", event.activity_id, "task completed"),
        ]
    if isinstance(event, s.TaskBecameOverdue):
        return [Facts("activity", event.activity_id, {"overdue": True})]
    if isinstance(event, s.MeetingCancelled):
        return [
            Facts("activity", event.activity_id, {"status": "cancelled"}),
            Entry("activity", event.activity_id, "meeting cancelled"),
        ]
    return []


def _case(event: Any, at: datetime) -> list[Change]:
    if isinstance(event, su.CaseOpened):
        values = {
            "number": event.number,
            "channel": event.channel,
            "category": event.category,
            "priority": event.priority,
            "tier": event.tier,
            "queue_id": event.queue_id,
            "status": "new",
            "opened_at": at.isoformat(),
        }
        details = {"number": event.number, "priority": event.priority, "channel": event.channel}
        return [
            Facts("case", event.case_id, values, event.contact_id, event.account_id),
            Entry("case", event.case_id, "case opened", details),
        ]
    if isinstance(event, su.CaseStatusChanged):
        values = {"status": event.new}
        if event.new == "resolved":
            values["resolved_at"] = event.at.isoformat()
        elif event.new == "closed":
            values["closed_at"] = event.at.isoformat()
        return [
            Facts("case", event.case_id, values),
            Entry("case", event.case_id, f"case {event.new}", {"from": event.old, "to": event.new}),
        ]
    if isinstance(event, su.CaseAssigned):
        return [
            Facts(
                "case",
                event.case_id,
                {"queue_id": event.queue_id, "assignee_id": event.assignee_id},
            )
        ]
    if isinstance(event, su.CasePriorityChanged):
        return [
            Facts("case", event.case_id, {"priority": event.new}),
            Entry(
                "case", event.case_id, "case priority changed", {"from": event.old, "to": event.new}
            ),
        ]
    if isinstance(event, su.InteractionAdded):
        if not event.first_response:
            return []
        return [
            Facts("case", event.case_id, {"first_response_at": event.at.isoformat()}),
            Entry("case", event.case_id, "first response"),
        ]
    if isinstance(event, su.SlaWarned):
        return [Facts("case", event.case_id, {f"sla_{event.target}": "warned"})]
    if isinstance(event, su.SlaBreached):
        return [
            Facts("case", event.case_id, {f"sla_{event.target}": "breached"}),
            Entry("case", event.case_id, "SLA breached", {"target": event.target}),
        ]
    if isinstance(event, su.SurveyAnswered):
        return [
            Facts("case", event.case_id, {"satisfaction": event.score}),
            Entry("case", event.case_id, "satisfaction answered", {"score": event.score}),
        ]
    if isinstance(event, su.CaseContactChanged):
        return [Facts("case", event.case_id, {}, contact_id=event.new_contact_id)]
    return []


_PROJECTORS: list[tuple[tuple[type, ...], Callable[[Any, datetime], list[Change]]]] = [
    (
        (
            c.ContactCreated,
            c.ContactUpdated,
            c.ContactArchived,
            c.ConsentChanged,
            c.ContactMerged,
            c.ContactMergedInto,
            c.ContactErased,
        ),
        _contact,
    ),
    (
        (
            c.AccountCreated,
            c.AccountUpdated,
            c.AccountArchived,
            c.AccountContactLinked,
            c.AccountContactUnlinked,
        ),
        _account,
    ),
    (
        (
            s.OpportunityOpened,
            s.OpportunityUpdated,
            s.OpportunityLineItemsChanged,
            s.OpportunityStageChanged,
            s.OpportunityWon,
            s.OpportunityLost,
            s.LeadConverted,
        ),
        _opportunity,
    ),
    (
        (
            s.TaskCreated,
            s.CallLogged,
            s.MeetingScheduled,
            s.TaskCompleted,
            s.TaskBecameOverdue,
            s.MeetingCancelled,
        ),
        _activity,
    ),
    (
        (
            su.CaseOpened,
            su.CaseStatusChanged,
            su.CaseAssigned,
            su.CasePriorityChanged,
            su.InteractionAdded,
            su.SlaWarned,
            su.SlaBreached,
            su.SurveyAnswered,
            su.CaseContactChanged,
        ),
        _case,
    ),
]
