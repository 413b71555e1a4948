"""Activities: tasks (due, reminded, done, overdue), calls logged and meetings, each about a
contact, organisation, lead or opportunity. Their words (subject, notes, location) are sealed
with the activity's own key, destroyed when the person they concern is erased."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crm_sales.domain.errors import InvalidValue
from crm_shared.contracts.sales import (
    ActivityErased,
    CallLogged,
    MeetingCancelled,
    MeetingScheduled,
    RelatedTo,
    TaskBecameOverdue,
    TaskCompleted,
    TaskCreated,
    TaskReminderDue,
)
from crm_shared.errors import PlatformError
from crm_shared.events import EventContract
from crm_shared.privacy import SubjectCipher

ERASED_WORDS = {"subject": None, "notes": None, "location": None}


class ActivityIsClosed(PlatformError):
    status_code = 409
    code = "activity_closed"


@dataclass
class Activity:
    activity_id: str
    cipher: SubjectCipher
    kind: str = ""
    """task, call or meeting."""
    version: int = 0
    state: dict[str, Any] = field(default_factory=dict)
    status: str = "open"
    """open, done (tasks), cancelled (meetings), logged (calls)."""
    erased: bool = False
    pending: list[EventContract] = field(default_factory=list)

    @classmethod
    def from_history(
        cls, activity_id: str, history: list[EventContract], cipher: SubjectCipher
    ) -> Activity:
        activity = cls(activity_id, cipher)
        for event in history:
            activity._apply(event)
            activity.version += 1
        return activity

    @classmethod
    def create_task(
        cls, activity_id: str, cipher: SubjectCipher, details: dict[str, Any]
    ) -> Activity:
        due_at = _aware(details.get("due_at"), "due_at")
        reminder_at = details.get("reminder_at")
        if reminder_at is not None:
            reminder_at = _aware(reminder_at, "reminder_at")
            if reminder_at > due_at:
                raise InvalidValue("reminder_at", "a reminder comes before the due time")
        activity = cls(activity_id, cipher)
        activity._record(
            TaskCreated(
                activity_id=activity_id,
                owner_id=_owner(details),
                related=_related(details),
                due_at=due_at,
                reminder_at=reminder_at,
                personal=cipher.seal(_words(details)),
            )
        )
        return activity

    @classmethod
    def log_call(cls, activity_id: str, cipher: SubjectCipher, details: dict[str, Any]) -> Activity:
        activity = cls(activity_id, cipher)
        activity._record(
            CallLogged(
                activity_id=activity_id,
                owner_id=_owner(details),
                related=_related(details),
                at=_aware(details.get("at"), "at"),
                duration_minutes=int(details.get("duration_minutes") or 0),
                direction=details.get("direction", "outbound"),
                outcome=details.get("outcome", "connected"),
                personal=cipher.seal(_words(details)),
            )
        )
        return activity

    @classmethod
    def schedule_meeting(
        cls, activity_id: str, cipher: SubjectCipher, details: dict[str, Any]
    ) -> Activity:
        zone = str(details.get("time_zone") or "")
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidValue("time_zone", f"{zone!r} is not an IANA time zone") from None
        starts_at = _aware(details.get("starts_at"), "starts_at")
        ends_at = _aware(details.get("ends_at"), "ends_at")
        if ends_at <= starts_at:
            raise InvalidValue("ends_at", "a meeting ends after it starts")
        if ends_at - starts_at > timedelta(days=7):
            raise InvalidValue("ends_at", "a meeting lasts a week at most")
        owner = _owner(details)
        attendees = sorted(
            {owner, *(a.strip() for a in details.get("attendees") or [] if a.strip())}
        )
        activity = cls(activity_id, cipher)
        activity._record(
            MeetingScheduled(
                activity_id=activity_id,
                owner_id=owner,
                attendees=attendees,
                related=_related(details),
                starts_at=starts_at,
                ends_at=ends_at,
                time_zone=zone,
                personal=cipher.seal(_words(details)),
            )
        )
        return activity

    def complete(self) -> None:
        if self.kind != "task":
            raise InvalidValue("activity_id", "only tasks are completed")
        self._check_open()
        self._record(TaskCompleted(activity_id=self.activity_id))

    def cancel(self) -> None:
        if self.kind != "meeting":
            raise InvalidValue("activity_id", "only meetings are cancelled")
        self._check_open()
        self._record(MeetingCancelled(activity_id=self.activity_id))

    def note_time(self, now: datetime) -> None:
        """What the passing of time means for an open task: a reminder, then overdue (once each)."""
        if self.kind != "task" or self.status != "open":
            return
        due_at = self.state["due_at"]
        reminder_at = self.state.get("reminder_at")
        if reminder_at and now >= reminder_at and not self.state.get("reminded"):
            self._record(
                TaskReminderDue(
                    activity_id=self.activity_id, owner_id=self.state["owner_id"], due_at=due_at
                )
            )
        if now >= due_at and not self.state.get("overdue"):
            self._record(
                TaskBecameOverdue(
                    activity_id=self.activity_id, owner_id=self.state["owner_id"], due_at=due_at
                )
            )

    def erase(self) -> bool:
        if self.erased:
            return False
        self._record(ActivityErased(activity_id=self.activity_id))
        return True

    def _check_open(self) -> None:
        if self.status != "open":
            raise ActivityIsClosed(f"{self.kind} {self.activity_id} is {self.status}")

    def _record(self, event: EventContract) -> None:
        self._apply(event)
        self.pending.append(event)

    def _apply(self, event: EventContract) -> None:
        if isinstance(event, TaskCreated | CallLogged | MeetingScheduled):
            self.kind = {TaskCreated: "task", CallLogged: "call", MeetingScheduled: "meeting"}[
                type(event)
            ]
            self.status = "logged" if self.kind == "call" else "open"
            self.state = {
                k: v for k, v in event.__dict__.items() if k not in ("activity_id", "personal")
            }
            self.state["related"] = event.related.model_dump()
            self.state.update(self.cipher.open(event.personal) or ERASED_WORDS)
        elif isinstance(event, TaskCompleted):
            self.status = "done"
        elif isinstance(event, MeetingCancelled):
            self.status = "cancelled"
        elif isinstance(event, TaskReminderDue):
            self.state["reminded"] = True
        elif isinstance(event, TaskBecameOverdue):
            self.state["overdue"] = True
        elif isinstance(event, ActivityErased):
            self.erased = True
            self.state.update(ERASED_WORDS)


def _aware(raw: object, field: str) -> datetime:
    if raw is None:
        raise InvalidValue(field, "is required")
    value = raw if isinstance(raw, datetime) else None
    if value is None:
        try:
            value = datetime.fromisoformat(str(raw))
        except ValueError:
            raise InvalidValue(field, "an ISO 8601 time, e.g. 2026-12-01T09:00:00+01:00") from None
    if value.tzinfo is None:
        raise InvalidValue(field, "give a time zone offset (times are absolute)")
    return value


def _owner(details: dict[str, Any]) -> str:
    owner = str(details.get("owner_id") or "").strip()
    if not owner:
        raise InvalidValue("owner_id", "every activity has an owner")
    return owner


def _related(details: dict[str, Any]) -> RelatedTo:
    related = RelatedTo.model_validate(details.get("related") or {})
    if not any(related.model_dump().values()):
        raise InvalidValue("related", "name the contact, account, lead or opportunity it concerns")
    return related


def _words(details: dict[str, Any]) -> dict[str, Any]:
    subject = str(details.get("subject") or "").strip()
    if not subject:
        raise InvalidValue("subject", "must not be empty")
    return {
        "subject": subject,
        "notes": str(details.get("notes") or "").strip() or None,
        "location": str(details.get("location") or "").strip() or None,
    }
