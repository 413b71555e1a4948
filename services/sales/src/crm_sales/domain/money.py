"""Amounts are exact decimals in an ISO 4217 currency; never floats."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import pycountry

from crm_sales.domain.errors import InvalidValue

MAX_AMOUNT = Decimal("1e15")


def currency_code(raw: str, field: str = "currency") -> str:
    code = str(raw).strip().upper()
    if len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
        raise InvalidValue(field, f"{raw!r} is not an ISO 4217 currency code")
    return code


def amount(raw: object, field: str = "amount") -> Decimal:
    if isinstance(raw, float):
        raise InvalidValue(field, 'send amounts as decimal strings, e.g. "1250.00"')
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise InvalidValue(field, f"{raw!r} is not a decimal number") from None
    if not value.is_finite() or value < 0:
        raise InvalidValue(field, "must be a finite amount of at least 0")
    if value >= MAX_AMOUNT:
        raise InvalidValue(field, "must be below 10^15")
    if -value.as_tuple().exponent > 4:  # type: ignore[operator]
        raise InvalidValue(field, "at most 4 decimal places")
    return value


ZERO_DECIMAL = frozenset(
    {
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "ISK",
        "JPY",
        "KMF",
        "KRW",
        "PYG",
        "RWF",
        "UGX",
        "UYI",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    }
)
THREE_DECIMAL = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})


def minor_units(currency: str) -> int:
    """Decimal places of the currency's minor unit (ISO 4217): 2 for most, 0 or 3 for some."""
    if currency in ZERO_DECIMAL:
        return 0
    return 3 if currency in THREE_DECIMAL else 2


def rounded(value: Decimal, currency: str) -> Decimal:
    """Rounded half up to the currency's minor unit, as invoices are."""
    return value.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_UP)
