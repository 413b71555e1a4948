"""Quotes: numbered versions of an opportunity's offer, with totals and tax computed exactly."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from crm_sales.domain.errors import InvalidValue
from crm_sales.domain.money import amount, rounded
from crm_shared.contracts.sales import LineItem, QuoteIssued


def issue_quote(
    quote_id: str,
    opportunity_id: str,
    quote_number: int,
    currency: str,
    line_items: list[dict[str, Any]],
    tax_rate_percent: object,
    valid_until: date,
    today: date,
    notes: str | None,
) -> QuoteIssued:
    """Subtotal = the lines' totals; tax on the subtotal, rounded half up to the minor unit."""
    if not line_items:
        raise InvalidValue("line_items", "the opportunity has no products to quote")
    if valid_until < today:
        raise InvalidValue("valid_until", "must not be in the past")
    rate = amount(tax_rate_percent, "tax_rate_percent")
    if rate > 100 or -rate.as_tuple().exponent > 3:  # type: ignore[operator]
        raise InvalidValue("tax_rate_percent", "a percentage up to 100 with 3 decimals at most")
    lines = [LineItem.model_validate(item) for item in line_items]
    subtotal = sum((line.total for line in lines), Decimal(0))
    tax = rounded(subtotal * rate / Decimal(100), currency)
    return QuoteIssued(
        quote_id=quote_id,
        opportunity_id=opportunity_id,
        quote_number=quote_number,
        currency=currency,
        line_items=lines,
        subtotal=subtotal,
        tax_rate_percent=rate,
        tax=tax,
        total=subtotal + tax,
        valid_until=valid_until,
        notes=(notes or "").strip() or None,
    )
