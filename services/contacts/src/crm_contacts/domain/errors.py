"""Domain errors, each carrying the HTTP status an API answers with."""

from __future__ import annotations

from crm_shared.errors import InvalidValue, PlatformError

__all__ = ["AccountIsArchived", "ContactIsArchived", "ContactWasMerged", "InvalidValue"]


class ContactIsArchived(PlatformError):
    status_code = 409
    code = "contact_archived"


class ContactWasMerged(PlatformError):
    status_code = 409
    code = "contact_merged"


class AccountIsArchived(PlatformError):
    status_code = 409
    code = "account_archived"
