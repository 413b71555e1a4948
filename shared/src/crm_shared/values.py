"""Normalised values every service takes in: emails, phone numbers (E.164), countries (ISO 3166)."""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
import pycountry
from email_validator import EmailNotValidError, validate_email

from crm_shared.errors import InvalidValue

SIMPLE_LOCAL_PART = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
"""An ASCII dot-atom local part (RFC 5322), the form nearly every address takes."""


def normalise_email(raw: str) -> str:
    """Lower-cased and checked by ``email-validator``; the checked domain is remembered, so a
    list of addresses at a few domains (an import) is not re-validated address by address."""
    address = raw.strip().lower()
    local, at, domain = address.rpartition("@")
    if at and len(local) <= 64 and SIMPLE_LOCAL_PART.match(local):
        checked_domain = _checked_domain(domain)
        if checked_domain is not None:
            return f"{local}@{checked_domain}"
    try:
        result = validate_email(address, check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidValue("email", str(error)) from None
    return result.normalized.lower()


@lru_cache(maxsize=4096)
def _checked_domain(domain: str) -> str | None:
    """The normalised domain if email-validator accepts it; None sends the caller the slow,
    complete way (which says why it is refused)."""
    try:
        return str(validate_email(f"a@{domain}", check_deliverability=False).domain).lower()
    except EmailNotValidError:
        return None


def normalise_country(raw: str, field: str = "country") -> str:
    """ISO 3166-1 alpha-2 from a code (GB, GBR) or an English name (United Kingdom)."""
    code = _country_code(raw.strip())
    if code is None:
        raise InvalidValue(field, f"{raw!r} is not an ISO 3166 country code or name")
    return code


@lru_cache(maxsize=1024)
def _country_code(text: str) -> str | None:
    try:
        return str(pycountry.countries.lookup(text).alpha_2)
    except LookupError:
        return None


def normalise_phone(raw: str, default_region: str | None = None) -> str:
    """E.164 (``+442071838750``); numbers without a country code need ``default_region``."""
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as error:
        raise InvalidValue("phone", f"cannot read {raw!r} as a phone number: {error}") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidValue("phone", f"{raw!r} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
