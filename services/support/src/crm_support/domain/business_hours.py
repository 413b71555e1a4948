"""Time as an SLA counts it: only within working hours, in the calendar's time zone, never on
its holidays. A calendar without working hours counts every second (24/7)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crm_shared.contracts.support import BusinessCalendar, WorkingHours
from crm_support.domain.errors import InvalidValue

MAX_DAYS = 3660
"""How far ahead a deadline may fall (ten years): a calendar with no working day ends here."""


@dataclass(frozen=True)
class Calendar:
    zone: ZoneInfo
    hours: dict[int, tuple[tuple[time, time], ...]]
    holidays: frozenset[date]

    @classmethod
    def always(cls) -> Calendar:
        return cls(ZoneInfo("UTC"), {}, frozenset())

    @classmethod
    def of(cls, calendar: BusinessCalendar) -> Calendar:
        try:
            zone = ZoneInfo(calendar.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidValue(
                "calendar.time_zone", f"{calendar.time_zone!r} is not an IANA time zone"
            ) from None
        hours: dict[int, list[tuple[time, time]]] = {}
        for window in calendar.hours:
            if window.start >= window.end:
                raise InvalidValue("calendar.hours", "each window starts before it ends")
            hours.setdefault(window.weekday, []).append((window.start, window.end))
        for weekday, windows in hours.items():
            windows.sort()
            if any(a[1] > b[0] for a, b in itertools.pairwise(windows)):
                raise InvalidValue("calendar.hours", f"windows of weekday {weekday} overlap")
        return cls(zone, {k: tuple(v) for k, v in hours.items()}, frozenset(calendar.holidays))

    @property
    def is_always(self) -> bool:
        return not self.hours

    def add(self, start: datetime, seconds: float) -> datetime:
        """The moment ``seconds`` of working time after ``start``."""
        if self.is_always:
            return start + timedelta(seconds=seconds)
        remaining = max(0.0, seconds)
        for begins, ends in self._windows(start):
            if ends <= start:
                continue
            begin = max(begins, start)
            available = (ends - begin).total_seconds()
            if remaining <= available:
                return begin + timedelta(seconds=remaining)
            remaining -= available
        raise InvalidValue("calendar.hours", "no working time within ten years")

    def between(self, start: datetime, end: datetime) -> float:
        """Seconds of working time from ``start`` to ``end``."""
        if end <= start:
            return 0.0
        if self.is_always:
            return (end - start).total_seconds()
        total = 0.0
        for begins, ends in self._windows(start):
            if begins >= end:
                break
            overlap = (min(ends, end) - max(begins, start)).total_seconds()
            total += max(0.0, overlap)
        return total

    def _windows(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working windows in UTC, from the local day of ``start`` on (so arithmetic stays
        right across daylight-saving changes)."""
        day = start.astimezone(self.zone).date()
        for _ in range(MAX_DAYS):
            if day not in self.holidays:
                for begins, ends in self.hours.get(day.weekday(), ()):
                    yield (
                        datetime.combine(day, begins, self.zone).astimezone(UTC),
                        datetime.combine(day, ends, self.zone).astimezone(UTC),
                    )
            day += timedelta(days=1)


def office_hours(time_zone: str, start: time, end: time, holidays: list[date]) -> BusinessCalendar:
    """Monday to Friday, ``start`` to ``end``."""
    return BusinessCalendar(
        time_zone=time_zone,
        hours=[WorkingHours(weekday=d, start=start, end=end) for d in range(5)],
        holidays=holidays,
    )
