"""A calendar as iCalendar (RFC 5545), for calendar clients that subscribe to its URL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from icalendar import Alarm, Calendar, Event

PRODUCT = "-//CRM platform//sales calendar//EN"


def ics(entries: list[dict[str, Any]], name: str) -> bytes:
    """Meetings as events; tasks as events at their due time, with an alarm at the reminder;
    calls as events of their length. Times are UTC: the client shows them in its zone."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT)
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", name)
    for entry in entries:
        details = entry["details"]
        event = Event()
        event.add("uid", f"{entry['activity_id']}@crm-sales")
        event.add("summary", _summary(entry["kind"], details.get("subject")))
        event.add("dtstart", entry["starts_at"])
        ends_at = entry["ends_at"] or entry["starts_at"] + timedelta(minutes=15)
        event.add("dtend", ends_at)
        event.add("dtstamp", entry["starts_at"])
        event.add("sequence", entry["version"])
        if details.get("location"):
            event.add("location", details["location"])
        if details.get("notes"):
            event.add("description", details["notes"])
        event.add("status", "CANCELLED" if entry["status"] == "cancelled" else "CONFIRMED")
        if entry["kind"] == "task" and entry.get("reminder_at"):
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", "Reminder")
            alarm.add("trigger", entry["reminder_at"] - entry["starts_at"])
            event.add_component(alarm)
        calendar.add_component(event)
    return bytes(calendar.to_ical())


def _summary(kind: str, subject: str | None) -> str:
    words = subject or "(erased)"
    return {"task": f"Task: {words}", "call": f"Call: {words}"}.get(kind, words)
