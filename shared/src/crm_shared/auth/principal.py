"""The authenticated caller and the two ways a request is refused."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from crm_shared.errors import PlatformError

DEPARTMENT_ROLES = ("sales", "marketing", "support", "analyst", "admin")
"""The roles a person's token may carry; ``service`` is for the services' own accounts."""
SERVICE_ROLE = "service"


@dataclass(frozen=True)
class Principal:
    subject: str
    """The token's ``sub``: the user or service account."""
    tenant_id: str | None
    """None for a service account, which names the tenant it acts for per request."""
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_service(self) -> bool:
        return SERVICE_ROLE in self.roles


class Unauthenticated(PlatformError):
    """No token, or one that is not valid: expired, wrongly signed, for someone else."""

    status_code = 401
    code = "unauthenticated"
    headers: ClassVar[dict[str, str]] = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


class Forbidden(PlatformError):
    """A valid token whose roles do not allow this."""

    status_code = 403
    code = "forbidden"
