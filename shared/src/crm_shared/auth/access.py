"""Which department roles may read and change each resource of the API: the one table the
gateway and every service apply (a request that goes around the gateway meets the same rule).

A resource is the first segment of a path (``/cases/...`` is ``cases``); ``admin`` may do
everything; a service account (role ``service``) acts for the person it names and is let
through (the person's own request was checked where it came in).
"""

from __future__ import annotations

from dataclasses import dataclass

from crm_shared.auth.principal import DEPARTMENT_ROLES

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
EVERYONE: frozenset[str] = frozenset(DEPARTMENT_ROLES)


@dataclass(frozen=True)
class Access:
    """Who may read and who may change a resource."""

    read: frozenset[str]
    write: frozenset[str]


def _access(read: set[str] | frozenset[str], write: set[str]) -> Access:
    return Access(frozenset(read) | {"admin"}, frozenset(write) | {"admin"})


SALES_AND_ANALYSTS = {"sales", "analyst"}
RESOURCE_ACCESS: dict[str, Access] = {
    # the customers themselves: every department reads them, those who talk to them change them
    "contacts": _access(EVERYONE, {"sales", "marketing", "support"}),
    "accounts": _access(EVERYONE, {"sales", "marketing", "support"}),
    "custom-fields": _access(EVERYONE, set()),
    "imports": _access({"sales", "marketing"}, {"sales", "marketing"}),
    "privacy": _access(set(), set()),
    # sales
    "pipelines": _access(SALES_AND_ANALYSTS, set()),
    "opportunities": _access(SALES_AND_ANALYSTS, {"sales"}),
    "teams": _access(SALES_AND_ANALYSTS, set()),
    "forecast": _access(SALES_AND_ANALYSTS, set()),
    "products": _access(SALES_AND_ANALYSTS, set()),
    "price-books": _access(SALES_AND_ANALYSTS, set()),
    "quotes": _access({"sales"}, {"sales"}),
    "leads": _access({"sales", "marketing", "analyst"}, {"sales", "marketing"}),
    "lead-routing": _access({"sales"}, set()),
    "web-forms": _access({"sales", "marketing"}, {"marketing"}),
    "tasks": _access({"sales", "support"}, {"sales", "support"}),
    "calls": _access({"sales", "support"}, {"sales", "support"}),
    "meetings": _access({"sales", "support"}, {"sales", "support"}),
    "activities": _access({"sales", "support"}, {"sales", "support"}),
    "calendar": _access({"sales", "support"}, set()),
    "calendar-feeds": _access({"sales", "support"}, {"sales", "support"}),
    # support
    "cases": _access({"support", "sales", "analyst"}, {"support"}),
    "queues": _access({"support", "analyst"}, set()),
    "sla-policy": _access({"support", "analyst"}, set()),
    "mailboxes": _access({"support"}, set()),
    "articles": _access(EVERYONE, {"support"}),
    # analytics
    "customers": _access(EVERYONE, set()),
    "kpis": _access({"analyst", "sales", "support", "marketing"}, set()),
    "admin": _access(set(), set()),
}

SEES_AMOUNTS: frozenset[str] = frozenset({"sales", "analyst", "admin"})
"""Who sees the money of opportunities in a customer's view (support agents do not)."""


def resource_of(path: str) -> str | None:
    segments = [s for s in path.split("/") if s]
    return segments[0] if segments else None


def access_of(path: str) -> Access | None:
    """The rule for ``path``; None for paths no rule covers (``/public/...``, probes)."""
    resource = resource_of(path)
    return RESOURCE_ACCESS.get(resource) if resource else None


def allowed(access: Access, method: str, roles: frozenset[str]) -> bool:
    needed = access.read if method.upper() in READ_METHODS else access.write
    return bool(needed & roles)
