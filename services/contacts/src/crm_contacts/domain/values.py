"""Normalised values: an email is lower-cased and checked, a phone number is E.164."""

from crm_shared.values import normalise_country, normalise_email, normalise_phone

__all__ = ["normalise_country", "normalise_email", "normalise_phone"]
