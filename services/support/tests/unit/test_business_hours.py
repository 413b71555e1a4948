"""Business time: only working hours count, in the calendar's zone, never on holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from crm_shared.contracts.support import BusinessCalendar, WorkingHours
from crm_support.domain.business_hours import Calendar, office_hours
from crm_support.domain.errors import InvalidValue

BERLIN = Calendar.of(office_hours("Europe/Berlin", time(9), time(17), [date(2026, 12, 25)]))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_time_inside_working_hours_counts_as_it_goes() -> None:
    # Tuesday 1 December 2026, 10:00 in Berlin is 09:00 UTC
    assert BERLIN.add(utc(2026, 12, 1, 9), 3600) == utc(2026, 12, 1, 10)


def test_what_is_left_at_closing_time_carries_to_the_next_working_morning() -> None:
    # 16:00 Berlin Tuesday + 2 working hours = 10:00 Berlin Wednesday
    assert BERLIN.add(utc(2026, 12, 1, 15), 2 * 3600) == utc(2026, 12, 2, 9)


def test_a_weekend_does_not_count() -> None:
    # Friday 4 December 16:00 Berlin + 2 h = Monday 10:00 Berlin
    assert BERLIN.add(utc(2026, 12, 4, 15), 2 * 3600) == utc(2026, 12, 7, 9)


def test_a_holiday_does_not_count() -> None:
    # Thursday 24 December 16:00 + 2 h: the 25th is a holiday, then the weekend → Monday 28th
    assert BERLIN.add(utc(2026, 12, 24, 15), 2 * 3600) == utc(2026, 12, 28, 9)


def test_a_start_outside_hours_waits_for_the_opening() -> None:
    # Saturday: the clock starts Monday 09:00 Berlin
    assert BERLIN.add(utc(2026, 12, 5, 12), 0) == utc(2026, 12, 7, 8)


def test_between_counts_only_working_seconds() -> None:
    friday_afternoon = utc(2026, 12, 4, 15)  # 16:00 Berlin
    monday_morning = utc(2026, 12, 7, 9)  # 10:00 Berlin
    assert BERLIN.between(friday_afternoon, monday_morning) == 2 * 3600
    assert BERLIN.between(monday_morning, friday_afternoon) == 0


def test_daylight_saving_changes_keep_local_hours() -> None:
    # Sunday 29 March 2026 clocks go forward; Monday 30th 09:00 Berlin is 07:00 UTC
    assert BERLIN.add(utc(2026, 3, 27, 15), 2 * 3600) == utc(2026, 3, 30, 8)


def test_add_and_between_agree() -> None:
    start = utc(2026, 12, 3, 14, 37)
    for seconds in (0, 59, 3600, 8 * 3600, 41 * 3600 + 17):
        assert BERLIN.between(start, BERLIN.add(start, seconds)) == pytest.approx(seconds)


def test_without_working_hours_every_second_counts() -> None:
    always = Calendar.always()
    assert always.add(utc(2026, 12, 5, 12), 3600) == utc(2026, 12, 5, 13)


def test_a_bad_calendar_names_its_field() -> None:
    with pytest.raises(InvalidValue) as bad_zone:
        Calendar.of(BusinessCalendar(time_zone="Mars/Olympus", hours=[]))
    assert bad_zone.value.field == "calendar.time_zone"
    with pytest.raises(InvalidValue):
        Calendar.of(
            BusinessCalendar(
                time_zone="UTC",
                hours=[
                    WorkingHours(weekday=0, start=time(9), end=time(12)),
                    WorkingHours(weekday=0, start=time(11), end=time(13)),
                ],
            )
        )
