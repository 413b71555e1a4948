"""Domain errors, each carrying the HTTP status an API answers with."""

from __future__ import annotations

from crm_shared.errors import InvalidValue, PlatformError

__all__ = ["ContactIsArchived", "ContactWasMerged", "InvalidValue"]


class ContactIsArchived(PlatformError):
    status_code = 409
    code = "contact_archived"


class ContactWasMerged(PlatformError):
    status_code = 409
    code = "contact_merged"
