"""Activities: tasks remind and fall overdue once each; meetings are time-zone aware."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crm_sales.domain.activity import Activity, ActivityIsClosed
from crm_sales.domain.errors import InvalidValue
from crm_shared.contracts.sales import TaskBecameOverdue, TaskReminderDue
from crm_shared.privacy import SubjectCipher, new_data_key

KEY = SubjectCipher("a-1", new_data_key())
DUE = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
TASK: dict[str, Any] = {
    "owner_id": "ann",
    "related": {"contact_id": "c-1"},
    "subject": "Send the proposal",
    "due_at": DUE,
    "reminder_at": DUE - timedelta(hours=1),
}


def task() -> Activity:
    created = Activity.create_task("a-1", KEY, TASK)
    return Activity.from_history("a-1", created.pending, KEY)


def test_a_task_reminds_then_falls_overdue_once_each() -> None:
    todo = task()
    todo.note_time(DUE - timedelta(hours=2))
    assert todo.pending == []
    todo.note_time(DUE - timedelta(minutes=30))
    assert [type(e) for e in todo.pending] == [TaskReminderDue]
    todo.note_time(DUE + timedelta(minutes=1))
    todo.note_time(DUE + timedelta(hours=5))
    assert [type(e) for e in todo.pending] == [TaskReminderDue, TaskBecameOverdue]


def test_a_done_task_is_never_overdue() -> None:
    todo = task()
    todo.complete()
    todo.note_time(DUE + timedelta(days=1))
    assert len(todo.pending) == 1
    with pytest.raises(ActivityIsClosed):
        todo.complete()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"due_at": "2026-12-01T17:00:00"}, "due_at"),
        ({"reminder_at": DUE + timedelta(hours=1)}, "reminder_at"),
        ({"related": {}}, "related"),
        ({"subject": " "}, "subject"),
        ({"owner_id": ""}, "owner_id"),
    ],
)
def test_bad_tasks_name_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        Activity.create_task("a-1", KEY, {**TASK, **changes})
    assert refused.value.field == field


def test_meetings_need_a_real_zone_and_an_end_after_the_start() -> None:
    meeting = {
        "owner_id": "ann",
        "attendees": ["bob", "ann"],
        "related": {"opportunity_id": "o-1"},
        "subject": "Demo",
        "starts_at": DUE,
        "ends_at": DUE + timedelta(hours=1),
        "time_zone": "Europe/Paris",
    }
    scheduled = Activity.schedule_meeting("m-1", KEY, meeting)
    assert scheduled.state["attendees"] == ["ann", "bob"]
    with pytest.raises(InvalidValue, match="time_zone"):
        Activity.schedule_meeting("m-1", KEY, {**meeting, "time_zone": "Mars/Olympus"})
    with pytest.raises(InvalidValue, match="ends_at"):
        Activity.schedule_meeting("m-1", KEY, {**meeting, "ends_at": DUE})


def test_an_erased_activity_keeps_its_times_but_not_its_words() -> None:
    history = Activity.create_task("a-1", KEY, TASK).pending
    erased = Activity.from_history("a-1", history, SubjectCipher("a-1", None, erased=True))
    assert erased.state["subject"] is None
    assert erased.state["due_at"] == DUE
