"""The case aggregate: opened from a channel, assigned, worked through its life cycle with a
threaded conversation, held to SLA clocks, surveyed once resolved, erasable.

Life cycle: new → open → pending (on the customer) / on hold → resolved → closed. A resolved
case reopens within the reopening window (a customer's reply reopens it too); after that it
closes for good. Its words are sealed with the case's own cipher.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, get_args

from crm_shared.contracts.support import (
    Attachment,
    CaseAssigned,
    CaseContactChanged,
    CaseErased,
    CaseOpened,
    CasePriorityChanged,
    CaseStatusChanged,
    Channel,
    Escalation,
    InteractionAdded,
    Priority,
    SlaBreached,
    SlaClock,
    SlaClocksSet,
    SlaTerms,
    SlaWarned,
    SurveyAnswered,
)
from crm_shared.events import EventContract
from crm_shared.privacy import SubjectCipher
from crm_shared.values import normalise_email
from crm_support.domain import sla
from crm_support.domain.business_hours import Calendar
from crm_support.domain.errors import InvalidValue, NotAllowedNow, SurveyAlreadyAnswered

PRIORITIES: tuple[str, ...] = get_args(Priority)
CHANNELS: tuple[str, ...] = get_args(Channel)
MOVES: dict[str, set[str]] = {
    "new": {"open", "pending", "on_hold", "resolved", "closed"},
    "open": {"pending", "on_hold", "resolved"},
    "pending": {"open", "on_hold", "resolved"},
    "on_hold": {"open", "pending", "resolved"},
    "resolved": {"open", "closed"},
    "closed": set(),
}
ERASED_WORDS: dict[str, Any] = {"subject": None, "description": None, "requester_email": None}


@dataclass
class Case:
    case_id: str
    cipher: SubjectCipher
    version: int = 0
    state: dict[str, Any] = field(default_factory=dict)
    clocks: dict[str, SlaClock] = field(default_factory=dict)
    erased: bool = False
    pending: list[EventContract] = field(default_factory=list)

    @classmethod
    def from_history(
        cls, case_id: str, history: list[EventContract], cipher: SubjectCipher
    ) -> Case:
        case = cls(case_id, cipher)
        for event in history:
            case._apply(event)
            case.version += 1
        return case

    @classmethod
    def open(
        cls,
        case_id: str,
        number: int,
        details: dict[str, Any],
        cipher: SubjectCipher,
        terms: SlaTerms | None,
        calendar: Calendar,
        now: datetime,
    ) -> Case:
        subject = str(details.get("subject") or "").strip()
        if not subject:
            raise InvalidValue("subject", "must not be empty")
        channel = details.get("channel") or "web"
        if channel not in CHANNELS:
            raise InvalidValue("channel", f"one of {', '.join(CHANNELS)}")
        priority = details.get("priority") or "normal"
        if priority not in PRIORITIES:
            raise InvalidValue("priority", f"one of {', '.join(PRIORITIES)}")
        email = details.get("requester_email")
        case = cls(case_id, cipher)
        case._record(
            CaseOpened(
                case_id=case_id,
                number=number,
                channel=channel,
                category=str(details.get("category") or "").strip() or None,
                priority=priority,
                tier=str(details.get("tier") or "standard").strip(),
                contact_id=details.get("contact_id") or None,
                account_id=details.get("account_id") or None,
                queue_id=details.get("queue_id") or None,
                personal=cipher.seal(
                    {
                        "subject": subject,
                        "description": str(details.get("description") or "").strip() or None,
                        "requester_email": normalise_email(str(email)) if email else None,
                    }
                ),
                terms=terms,
            )
        )
        if terms is not None:
            case._set_clocks(sla.started(terms, calendar, now))
        return case

    @property
    def status(self) -> str:
        return str(self.state["status"])

    @property
    def terms(self) -> SlaTerms | None:
        terms = self.state.get("terms")
        return SlaTerms.model_validate(terms) if terms else None

    def assign(self, queue_id: str | None, assignee_id: str | None, rule: str) -> None:
        self._check_not_closed()
        previous = self.state.get("assignee_id")
        if queue_id == self.state.get("queue_id") and assignee_id == previous:
            return
        self._record(
            CaseAssigned(
                case_id=self.case_id,
                queue_id=queue_id,
                assignee_id=assignee_id,
                previous_assignee_id=previous,
                rule=rule,
            )
        )

    def change_status(
        self,
        new: str,
        calendar: Calendar,
        now: datetime,
        reopen_window: timedelta,
        reason: str | None = None,
    ) -> None:
        old = self.status
        if new == old:
            return
        if new not in MOVES:
            raise InvalidValue("status", f"one of {', '.join(MOVES)}")
        if new not in MOVES[old]:
            raise NotAllowedNow(f"a case that is {old} cannot become {new}")
        if old == "resolved" and new == "open":
            resolved_at = datetime.fromisoformat(self.state["resolved_at"])
            if now - resolved_at > reopen_window:
                raise NotAllowedNow(
                    f"resolved more than {reopen_window.days} days ago: open a new case"
                )
        self._record(
            CaseStatusChanged(
                case_id=self.case_id,
                old=old,
                new=new,
                at=now,
                reason=reason,
            )
        )
        self._clocks_follow(old, new, calendar, now)

    def change_priority(
        self, new: str, terms: SlaTerms | None, calendar: Calendar, now: datetime, reason: str
    ) -> None:
        self._check_not_closed()
        if new not in PRIORITIES:
            raise InvalidValue("priority", f"one of {', '.join(PRIORITIES)}")
        old = self.state["priority"]
        if new == old:
            return
        self._record(
            CasePriorityChanged(
                case_id=self.case_id,
                old=old,
                new=new,
                reason=reason,
                terms=terms,
            )
        )
        if terms is None:
            return
        if not self.clocks:
            self._set_clocks(sla.started(terms, calendar, now))
            return
        self._set_clocks([sla.retimed(c, terms, calendar, now) for c in self.clocks.values()])

    def add_interaction(
        self,
        interaction_id: str,
        message: dict[str, Any],
        calendar: Calendar,
        now: datetime,
        reopen_window: timedelta,
    ) -> None:
        """A message in the thread; an agent's first public reply is the first response, a
        customer's reply brings a pending (or recently resolved) case back to open."""
        self._check_not_closed()
        body = str(message.get("body") or "").strip()
        if not body:
            raise InvalidValue("body", "must not be empty")
        visibility = message.get("visibility") or "public"
        author = message.get("author") or "agent"
        if author == "customer" and visibility != "public":
            raise InvalidValue("visibility", "a customer's message is public")
        first_response = (
            author == "agent" and visibility == "public" and not self.state.get("responded_at")
        )
        self._record(
            InteractionAdded(
                case_id=self.case_id,
                interaction_id=interaction_id,
                at=now,
                visibility=visibility,
                author=author,
                author_id=str(message.get("author_id") or author),
                channel=message.get("channel") or self.state["channel"],
                personal=self.cipher.seal({"body": body}),
                attachments=[Attachment.model_validate(a) for a in message.get("attachments", [])],
                message_id=message.get("message_id"),
                first_response=first_response,
            )
        )
        if first_response:
            if "first_response" in self.clocks:
                clock = sla.met(self.clocks["first_response"], calendar, now)
                self._set_clocks([*self._others("first_response"), clock])
            if self.status == "new":
                self.change_status("open", calendar, now, reopen_window)
        if author == "customer" and self.status in ("pending", "resolved"):
            self.change_status("open", calendar, now, reopen_window, "the customer replied")

    def on_timer(self, kind: str, now: datetime, reopen_window: timedelta) -> Escalation | None:
        """A durable timer fell due; returns the escalation a breach asks for, if any."""
        if kind == "close":
            if self.status == "resolved":
                resolved_at = datetime.fromisoformat(self.state["resolved_at"])
                if now - resolved_at >= reopen_window:
                    self._record(
                        CaseStatusChanged(
                            case_id=self.case_id,
                            old="resolved",
                            new="closed",
                            at=now,
                            reason="the reopening window passed",
                        )
                    )
            return None
        what, target = kind.split(":", 1)
        clock = self.clocks.get(target)
        if clock is None or clock.running_since is None or clock.met_at is not None:
            return None
        if (
            what == "warn"
            and not (clock.warned or clock.breached)
            and clock.warn_at
            and clock.warn_at <= now
        ):
            self._record(
                SlaWarned(case_id=self.case_id, target=clock.target, deadline=clock.deadline)
            )
        elif what == "breach" and not clock.breached and clock.deadline and clock.deadline <= now:
            self._record(
                SlaBreached(case_id=self.case_id, target=clock.target, deadline=clock.deadline)
            )
            terms = self.terms
            return terms.escalation if terms else None
        return None

    def answer_survey(self, score: int, comment: str | None) -> None:
        if self.status not in ("resolved", "closed"):
            raise NotAllowedNow("the survey opens once the case is resolved")
        if self.state.get("survey") is not None:
            raise SurveyAlreadyAnswered(f"case {self.case_id}'s survey was answered")
        if not 1 <= score <= 5:
            raise InvalidValue("score", "from 1 to 5")
        self._record(
            SurveyAnswered(
                case_id=self.case_id,
                score=score,
                personal=self.cipher.seal({"comment": (comment or "").strip() or None}),
            )
        )

    def repoint_contact(self, merged_contact_id: str, survivor_id: str) -> None:
        if self.state.get("contact_id") == merged_contact_id:
            self._record(
                CaseContactChanged(
                    case_id=self.case_id,
                    old_contact_id=merged_contact_id,
                    new_contact_id=survivor_id,
                )
            )

    def erase(self) -> bool:
        if self.erased:
            return False
        self._record(CaseErased(case_id=self.case_id))
        return True

    def timers(self, reopen_window: timedelta) -> list[tuple[str, datetime]]:
        """The durable timers the case needs now: (kind, due at)."""
        due: list[tuple[str, datetime]] = []
        if self.status not in ("resolved", "closed"):
            for clock in self.clocks.values():
                if clock.running_since is None or clock.met_at is not None:
                    continue
                if clock.warn_at is not None and not (clock.warned or clock.breached):
                    due.append((f"warn:{clock.target}", clock.warn_at))
                if clock.deadline is not None and not clock.breached:
                    due.append((f"breach:{clock.target}", clock.deadline))
        if self.status == "resolved":
            resolved_at = datetime.fromisoformat(self.state["resolved_at"])
            due.append(("close", resolved_at + reopen_window))
        return due

    def _clocks_follow(self, old: str, new: str, calendar: Calendar, now: datetime) -> None:
        terms = self.terms
        if terms is None or not self.clocks:
            return
        clocks = list(self.clocks.values())
        if new == "pending":
            clocks = [sla.paused(c, calendar, now) for c in clocks]
        elif new in ("resolved", "closed"):
            clocks = [sla.met(c, calendar, now) for c in clocks]
        elif old == "resolved":
            clocks = [
                sla.reopened(c, terms, calendar, now) if c.target == "resolution" else c
                for c in clocks
            ]
        elif old == "pending":
            clocks = [sla.resumed(c, terms, calendar, now) for c in clocks]
        self._set_clocks(clocks)

    def _others(self, target: str) -> list[SlaClock]:
        return [c for c in self.clocks.values() if c.target != target]

    def _set_clocks(self, clocks: list[SlaClock]) -> None:
        ordered = sorted(clocks, key=lambda c: sla.TARGETS.index(c.target))
        if ordered != sorted(self.clocks.values(), key=lambda c: sla.TARGETS.index(c.target)):
            self._record(SlaClocksSet(case_id=self.case_id, clocks=ordered))

    def _check_not_closed(self) -> None:
        if self.status == "closed":
            raise NotAllowedNow(f"case {self.case_id} is closed: open a new one")

    def _record(self, event: EventContract) -> None:
        self._apply(event)
        self.pending.append(event)

    def _apply(self, event: EventContract) -> None:
        if isinstance(event, CaseOpened):
            self.state = event.model_dump(mode="json", exclude={"case_id", "personal"})
            self.state.update(status="new", assignee_id=None, responded_at=None, survey=None)
            self.state.update(self.cipher.open(event.personal) or ERASED_WORDS)
        elif isinstance(event, CaseStatusChanged):
            self.state["status"] = event.new
            if event.new == "resolved":
                self.state["resolved_at"] = event.at.isoformat()
        elif isinstance(event, CaseAssigned):
            self.state.update(queue_id=event.queue_id, assignee_id=event.assignee_id)
        elif isinstance(event, CasePriorityChanged):
            self.state["priority"] = event.new
            if event.terms is not None:
                self.state["terms"] = event.terms.model_dump(mode="json")
        elif isinstance(event, InteractionAdded):
            if event.first_response:
                self.state["responded_at"] = event.at.isoformat()
        elif isinstance(event, SlaClocksSet):
            self.clocks = {c.target: c for c in event.clocks}
        elif isinstance(event, SlaWarned):
            self.clocks[event.target] = self.clocks[event.target].model_copy(
                update={"warned": True}
            )
        elif isinstance(event, SlaBreached):
            self.clocks[event.target] = self.clocks[event.target].model_copy(
                update={"breached": True}
            )
        elif isinstance(event, SurveyAnswered):
            opened = self.cipher.open(event.personal) or {"comment": None}
            self.state["survey"] = {"score": event.score, **opened}
        elif isinstance(event, CaseContactChanged):
            self.state["contact_id"] = event.new_contact_id
        elif isinstance(event, CaseErased):
            self.erased = True
            self.state.update(ERASED_WORDS)
            if self.state.get("survey"):
                self.state["survey"]["comment"] = None
