"""Who is calling: OAuth2/OIDC bearer tokens (JWT) checked against the configured issuer's
keys, the tenant and the roles they carry, and the role checks every API applies."""

from crm_shared.auth.principal import (
    DEPARTMENT_ROLES,
    Forbidden,
    Principal,
    Unauthenticated,
)
from crm_shared.auth.tokens import TokenVerifier

__all__ = ["DEPARTMENT_ROLES", "Forbidden", "Principal", "TokenVerifier", "Unauthenticated"]
