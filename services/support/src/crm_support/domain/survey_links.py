"""Signed survey links: the customer answers without logging in, and only for their case."""

from __future__ import annotations

import base64
import hashlib
import hmac

from crm_support.domain.errors import SurveyLinkInvalid


def survey_token(secret: bytes, tenant_id: str, case_id: str) -> str:
    subject = base64.urlsafe_b64encode(f"{tenant_id}\n{case_id}".encode()).decode().rstrip("=")
    return f"{subject}.{_signature(secret, subject)}"


def read_survey_token(secret: bytes, token: str) -> tuple[str, str]:
    """(tenant, case) of a token this service signed; anything else is refused."""
    subject, _, signature = token.partition(".")
    if not signature or not hmac.compare_digest(signature, _signature(secret, subject)):
        raise SurveyLinkInvalid("this survey link is not valid")
    decoded = base64.urlsafe_b64decode(subject + "=" * (-len(subject) % 4)).decode()
    tenant_id, _, case_id = decoded.partition("\n")
    return tenant_id, case_id


def _signature(secret: bytes, subject: str) -> str:
    digest = hmac.new(secret, subject.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")
