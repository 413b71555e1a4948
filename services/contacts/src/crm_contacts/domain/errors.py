"""Domain errors, each carrying the HTTP status an API answers with."""

from __future__ import annotations

from crm_shared.errors import PlatformError


class InvalidValue(PlatformError):
    """A value that breaks a rule; names the field and why (answered as 422)."""

    status_code = 422
    code = "validation_failed"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}", fields=[{"field": field, "reason": reason}])
        self.field = field
        self.reason = reason


class ContactIsArchived(PlatformError):
    status_code = 409
    code = "contact_archived"


class ContactWasMerged(PlatformError):
    status_code = 409
    code = "contact_merged"
