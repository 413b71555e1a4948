"""A case's life: its cycle, its thread, its SLA clocks (paused while it waits on the
customer, met by the first response and the resolution), its timers, its survey."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from crm_shared.contracts.support import Escalation, SlaTerms
from crm_shared.privacy import SubjectCipher, new_data_key
from crm_support.domain.business_hours import Calendar, office_hours
from crm_support.domain.case import Case
from crm_support.domain.errors import InvalidValue, NotAllowedNow, SurveyAlreadyAnswered

KEY = SubjectCipher("c-1", new_data_key())
ALWAYS = Calendar.always()
WEEK = timedelta(days=7)
TERMS = SlaTerms(
    policy_id="p",
    first_response_minutes=60,
    resolution_minutes=480,
    warn_before_minutes=15,
    escalation=Escalation(raise_priority=True),
)
T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)


def opened(terms: SlaTerms | None = TERMS, calendar: Calendar = ALWAYS) -> Case:
    return Case.open(
        "c-1",
        7,
        {"subject": "Printer on fire", "channel": "phone", "requester_email": "A@B.example"},
        KEY,
        terms,
        calendar,
        T0,
    )


def later(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_opening_starts_both_clocks_with_their_warnings() -> None:
    case = opened()
    first, resolution = case.clocks["first_response"], case.clocks["resolution"]
    assert case.status == "new"
    assert case.state["requester_email"] == "a@b.example"
    assert first.deadline == later(60)
    assert first.warn_at == later(45)
    assert resolution.deadline == later(480)
    assert case.timers(WEEK) == [
        ("warn:first_response", later(45)),
        ("breach:first_response", later(60)),
        ("warn:resolution", later(465)),
        ("breach:resolution", later(480)),
    ]


def test_the_first_public_agent_reply_is_the_first_response() -> None:
    case = opened()
    case.add_interaction(
        "i-1", {"body": "looking", "visibility": "internal"}, ALWAYS, later(5), WEEK
    )
    assert case.clocks["first_response"].met_at is None
    case.add_interaction("i-2", {"body": "On it"}, ALWAYS, later(10), WEEK)

    assert case.clocks["first_response"].met_at == later(10)
    assert case.status == "open"
    assert [k for k, _ in case.timers(WEEK)] == ["warn:resolution", "breach:resolution"]
    replayed = Case.from_history("c-1", case.pending, KEY)
    assert replayed.state["responded_at"] == later(10).isoformat()


def test_waiting_on_the_customer_pauses_the_clocks_and_their_reply_resumes_them() -> None:
    case = opened()
    case.add_interaction("i-1", {"body": "Which model?"}, ALWAYS, later(10), WEEK)
    case.change_status("pending", ALWAYS, later(20), WEEK)
    assert case.clocks["resolution"].running_since is None
    assert case.clocks["resolution"].consumed_s == 20 * 60
    assert case.timers(WEEK) == []

    case.add_interaction(
        "i-2", {"body": "The X100", "author": "customer"}, ALWAYS, later(140), WEEK
    )

    assert case.status == "open"
    assert case.clocks["resolution"].deadline == later(140 + 460)


def test_clocks_count_business_hours_only() -> None:
    office = Calendar.of(office_hours("UTC", time(9), time(17), []))
    friday_four_pm = datetime(2026, 12, 4, 16, tzinfo=UTC)
    case = Case.open("c-1", 1, {"subject": "Help"}, KEY, TERMS, office, friday_four_pm)
    assert case.clocks["first_response"].deadline == friday_four_pm + timedelta(hours=1)
    # 480 minutes: 1 h on Friday, 7 h on Monday
    assert case.clocks["resolution"].deadline == datetime(2026, 12, 7, 16, tzinfo=UTC)


def test_a_breach_is_recorded_once_and_asks_for_its_escalation() -> None:
    case = opened()
    assert case.on_timer("breach:first_response", later(59), WEEK) is None  # not yet
    escalation = case.on_timer("breach:first_response", later(60), WEEK)
    assert escalation == Escalation(raise_priority=True)
    assert case.on_timer("breach:first_response", later(61), WEEK) is None
    assert case.clocks["first_response"].breached
    assert [k for k, _ in case.timers(WEEK)] == ["warn:resolution", "breach:resolution"]


def test_a_stale_timer_does_nothing() -> None:
    case = opened()
    case.add_interaction("i-1", {"body": "Hello"}, ALWAYS, later(10), WEEK)
    version = len(case.pending)
    assert case.on_timer("breach:first_response", later(60), WEEK) is None
    assert len(case.pending) == version


def test_a_higher_priority_brings_tighter_terms_and_counts_the_time_used() -> None:
    case = opened()
    urgent = TERMS.model_copy(update={"first_response_minutes": 30, "resolution_minutes": 120})
    case.change_priority("urgent", urgent, ALWAYS, later(20), "manual")
    assert case.clocks["first_response"].deadline == later(30)
    assert case.clocks["resolution"].deadline == later(120)


def test_the_life_cycle_is_enforced() -> None:
    case = opened()
    case.change_status("open", ALWAYS, later(1), WEEK)
    with pytest.raises(NotAllowedNow):
        case.change_status("closed", ALWAYS, later(2), WEEK)  # resolve first
    with pytest.raises(InvalidValue):
        case.change_status("lost", ALWAYS, later(3), WEEK)


def test_a_resolved_case_reopens_within_the_window_and_closes_after_it() -> None:
    case = opened()
    case.change_status("resolved", ALWAYS, later(30), WEEK)
    assert case.clocks["resolution"].met_at == later(30)
    assert case.timers(WEEK) == [("close", later(30) + WEEK)]

    case.change_status("open", ALWAYS, later(90), WEEK, "not fixed")
    assert case.clocks["resolution"].met_at is None
    assert case.clocks["resolution"].deadline == later(90 + 450)

    case.change_status("resolved", ALWAYS, later(100), WEEK)
    with pytest.raises(NotAllowedNow):
        case.change_status("open", ALWAYS, later(100) + WEEK + timedelta(minutes=1), WEEK)
    case.on_timer("close", later(100) + WEEK, WEEK)
    assert case.status == "closed"
    with pytest.raises(NotAllowedNow):
        case.add_interaction("i-9", {"body": "hello?"}, ALWAYS, later(100) + 2 * WEEK, WEEK)


def test_one_survey_answer_once_resolved() -> None:
    case = opened()
    with pytest.raises(NotAllowedNow):
        case.answer_survey(5, "great")
    case.change_status("resolved", ALWAYS, later(30), WEEK)
    case.answer_survey(4, "quick")
    with pytest.raises(SurveyAlreadyAnswered):
        case.answer_survey(5, None)
    assert Case.from_history("c-1", case.pending, KEY).state["survey"] == {
        "score": 4,
        "comment": "quick",
    }


def test_an_erased_case_keeps_its_facts_but_not_its_words() -> None:
    case = opened()
    case.add_interaction("i-1", {"body": "my address is..."}, ALWAYS, later(10), WEEK)
    case.erase()
    forgotten = SubjectCipher("c-1", None, erased=True)
    replayed = Case.from_history("c-1", case.pending, forgotten)
    assert replayed.state["subject"] is None
    assert replayed.state["number"] == 7
    assert replayed.erased


def test_a_case_without_a_policy_has_no_clocks() -> None:
    case = opened(terms=None)
    assert case.clocks == {}
    assert case.timers(WEEK) == []
