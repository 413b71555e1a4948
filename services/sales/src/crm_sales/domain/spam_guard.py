"""The public web form's spam guard: a honeypot field, a minimum fill time, a rate per client."""

from __future__ import annotations

from datetime import datetime, timedelta

from crm_sales.domain.errors import InvalidValue
from crm_shared.errors import PlatformError

MIN_FILL_TIME = timedelta(seconds=3)
MAX_FORM_AGE = timedelta(days=1)
MAX_PER_CLIENT_PER_MINUTE = 5


class TooManySubmissions(PlatformError):
    status_code = 429
    code = "too_many_submissions"


def looks_like_a_bot(honeypot: str | None) -> bool:
    """People never see the honeypot field; whatever fills it is a bot (answered as if
    accepted, so it learns nothing, and dropped)."""
    return bool(honeypot and honeypot.strip())


def check_timing(rendered_at: datetime, now: datetime) -> None:
    """A person takes a few seconds to fill the form in; a form from yesterday is stale."""
    if rendered_at.tzinfo is None:
        raise InvalidValue("rendered_at", "give a time zone")
    if now - rendered_at < MIN_FILL_TIME:
        raise InvalidValue("rendered_at", "the form was sent too fast after it was shown")
    if now - rendered_at > MAX_FORM_AGE:
        raise InvalidValue("rendered_at", "the form is stale: reload it")


def check_rate(recent_submissions: int) -> None:
    if recent_submissions >= MAX_PER_CLIENT_PER_MINUTE:
        raise TooManySubmissions(
            f"more than {MAX_PER_CLIENT_PER_MINUTE} submissions a minute from this client",
            retry_after_seconds=60,
        )
