"""Domain errors, each carrying the HTTP status an API answers with."""

from __future__ import annotations

from crm_shared.errors import InvalidValue, PlatformError

__all__ = ["InvalidValue", "NotAllowedNow", "SurveyAlreadyAnswered", "SurveyLinkInvalid"]


class NotAllowedNow(PlatformError):
    """The case's life cycle does not allow this from where it stands (a closed case, say)."""

    status_code = 409
    code = "not_allowed_now"


class SurveyAlreadyAnswered(PlatformError):
    status_code = 409
    code = "survey_already_answered"


class SurveyLinkInvalid(PlatformError):
    status_code = 403
    code = "survey_link_invalid"
