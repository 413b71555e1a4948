"""Forecast periods: a year (2026), a quarter (2026-Q4) or a month (2026-11)."""

from __future__ import annotations

import re
from calendar import monthrange
from datetime import date

from crm_sales.domain.errors import InvalidValue

PERIOD = re.compile(r"^(\d{4})(?:-Q([1-4])|-(\d{2}))?$")


def period_bounds(period: str) -> tuple[date, date]:
    """The first and last day of the period, inclusive."""
    match = PERIOD.match(period.strip())
    if not match:
        raise InvalidValue("period", "a year (2026), a quarter (2026-Q4) or a month (2026-11)")
    year = int(match.group(1))
    if match.group(2):
        first_month = (int(match.group(2)) - 1) * 3 + 1
        last_month = first_month + 2
    elif match.group(3):
        first_month = last_month = int(match.group(3))
        if not 1 <= first_month <= 12:
            raise InvalidValue("period", f"{period}: there is no month {first_month}")
    else:
        first_month, last_month = 1, 12
    return date(year, first_month, 1), date(year, last_month, monthrange(year, last_month)[1])
