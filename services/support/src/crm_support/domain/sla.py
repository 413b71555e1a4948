"""SLA clocks: started when a case opens, paused while it waits on the customer, met by the
first response or the resolution, re-timed when the priority changes; warnings and breaches
fall due at moments computed on the business calendar."""

from __future__ import annotations

from datetime import datetime

from crm_shared.contracts.support import (
    SlaClock,
    SlaPolicyDefined,
    SlaTarget,
    SlaTerms,
)
from crm_support.domain.business_hours import Calendar
from crm_support.domain.errors import InvalidValue

TARGETS: tuple[SlaTarget, ...] = ("first_response", "resolution")


def terms_for(policy: SlaPolicyDefined | None, priority: str, tier: str) -> SlaTerms | None:
    """The rule of the priority and tier (or the priority and tier "standard"), if any."""
    if policy is None:
        return None
    for wanted in (tier, "standard"):
        for rule in policy.rules:
            if rule.priority == priority and rule.tier == wanted:
                return SlaTerms(
                    policy_id=policy.policy_id,
                    first_response_minutes=rule.first_response_minutes,
                    resolution_minutes=rule.resolution_minutes,
                    warn_before_minutes=rule.warn_before_minutes,
                    escalation=rule.escalation,
                )
    return None


def check_policy(policy: SlaPolicyDefined) -> None:
    Calendar.of(policy.calendar)
    seen = set()
    for rule in policy.rules:
        key = (rule.priority, rule.tier)
        if key in seen:
            raise InvalidValue("rules", f"two rules for priority {key[0]} and tier {key[1]}")
        seen.add(key)
        if rule.first_response_minutes > rule.resolution_minutes:
            raise InvalidValue("rules", "a first response cannot take longer than resolving")
        if rule.warn_before_minutes >= rule.first_response_minutes:
            raise InvalidValue("rules", "warn before the first response is due, not at it")


def budget(terms: SlaTerms, target: SlaTarget) -> int:
    minutes = (
        terms.first_response_minutes if target == "first_response" else terms.resolution_minutes
    )
    return minutes * 60


def started(terms: SlaTerms, calendar: Calendar, now: datetime) -> list[SlaClock]:
    return [
        _running(
            SlaClock(target=target, budget_s=budget(terms, target), consumed_s=0),
            terms,
            calendar,
            now,
        )
        for target in TARGETS
    ]


def paused(clock: SlaClock, calendar: Calendar, now: datetime) -> SlaClock:
    if clock.running_since is None:
        return clock
    used = clock.consumed_s + round(calendar.between(clock.running_since, now))
    return clock.model_copy(
        update={"consumed_s": used, "running_since": None, "deadline": None, "warn_at": None}
    )


def resumed(clock: SlaClock, terms: SlaTerms, calendar: Calendar, now: datetime) -> SlaClock:
    if clock.running_since is not None or clock.met_at is not None:
        return clock
    return _running(clock, terms, calendar, now)


def met(clock: SlaClock, calendar: Calendar, now: datetime) -> SlaClock:
    if clock.met_at is not None:
        return clock
    return paused(clock, calendar, now).model_copy(update={"met_at": now})


def reopened(clock: SlaClock, terms: SlaTerms, calendar: Calendar, now: datetime) -> SlaClock:
    """A reopened case's resolution clock runs on from what it had used."""
    return _running(clock.model_copy(update={"met_at": None}), terms, calendar, now)


def retimed(clock: SlaClock, terms: SlaTerms, calendar: Calendar, now: datetime) -> SlaClock:
    """New terms (the priority changed): the time used so far counts against the new budget."""
    running = clock.running_since is not None
    clock = paused(clock, calendar, now).model_copy(
        update={"budget_s": budget(terms, clock.target)}
    )
    return _running(clock, terms, calendar, now) if running else clock


def _running(clock: SlaClock, terms: SlaTerms, calendar: Calendar, now: datetime) -> SlaClock:
    remaining = clock.budget_s - clock.consumed_s
    warn_before = terms.warn_before_minutes * 60
    warn_at = (
        calendar.add(now, remaining - warn_before)
        if warn_before and not clock.warned and remaining > warn_before
        else None
    )
    return clock.model_copy(
        update={
            "running_since": now,
            "deadline": calendar.add(now, max(0, remaining)),
            "warn_at": warn_at,
        }
    )
