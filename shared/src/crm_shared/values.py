"""Normalised values every service takes in: emails, phone numbers (E.164), countries (ISO 3166)."""

from __future__ import annotations

import phonenumbers
import pycountry
from email_validator import EmailNotValidError, validate_email

from crm_shared.errors import InvalidValue


def normalise_email(raw: str) -> str:
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidValue("email", str(error)) from None
    return result.normalized.lower()


def normalise_country(raw: str, field: str = "country") -> str:
    """ISO 3166-1 alpha-2 from a code (GB, GBR) or an English name (United Kingdom)."""
    try:
        return str(pycountry.countries.lookup(raw.strip()).alpha_2)
    except LookupError:
        raise InvalidValue(field, f"{raw!r} is not an ISO 3166 country code or name") from None


def normalise_phone(raw: str, default_region: str | None = None) -> str:
    """E.164 (``+442071838750``); numbers without a country code need ``default_region``."""
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as error:
        raise InvalidValue("phone", f"cannot read {raw!r} as a phone number: {error}") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidValue("phone", f"{raw!r} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
