"""Which service answers a public path, and which roles may call it.

The public API is one origin: a path's first segment names the resource (``/contacts/...``,
``/cases/...``), and the resource belongs to one service, which gets the path unchanged. Paths
under ``/public/`` are for people without an account (web forms, surveys, calendar feeds,
mail providers): they pass without a token and each service guards them itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Service = Literal["contacts", "sales", "support", "analytics"]
Role = Literal["sales", "marketing", "support", "analyst", "admin"]

READ_METHODS = frozenset({"GET", "HEAD"})
EVERYONE: frozenset[str] = frozenset({"sales", "marketing", "support", "analyst", "admin"})


@dataclass(frozen=True)
class Access:
    """Who may read and who may change a resource."""

    read: frozenset[str]
    write: frozenset[str]


def _access(read: set[str], write: set[str]) -> Access:
    return Access(frozenset(read | {"admin"}), frozenset(write | {"admin"}))


RESOURCES: dict[str, tuple[Service, Access]] = {
    # the customers themselves: every department reads them, those who talk to them change them
    "contacts": ("contacts", _access(set(EVERYONE), {"sales", "marketing", "support"})),
    "accounts": ("contacts", _access(set(EVERYONE), {"sales", "marketing", "support"})),
    "custom-fields": ("contacts", _access(set(EVERYONE), set())),
    "imports": ("contacts", _access({"sales", "marketing"}, {"sales", "marketing"})),
    "privacy": ("contacts", _access(set(), set())),
    # sales
    "pipelines": ("sales", _access({"sales", "analyst"}, set())),
    "opportunities": ("sales", _access({"sales", "analyst"}, {"sales"})),
    "teams": ("sales", _access({"sales", "analyst"}, set())),
    "forecast": ("sales", _access({"sales", "analyst"}, set())),
    "products": ("sales", _access({"sales", "analyst"}, set())),
    "price-books": ("sales", _access({"sales", "analyst"}, set())),
    "quotes": ("sales", _access({"sales"}, {"sales"})),
    "leads": ("sales", _access({"sales", "marketing", "analyst"}, {"sales", "marketing"})),
    "lead-routing": ("sales", _access({"sales"}, set())),
    "web-forms": ("sales", _access({"sales", "marketing"}, {"marketing"})),
    "tasks": ("sales", _access({"sales", "support"}, {"sales", "support"})),
    "calls": ("sales", _access({"sales", "support"}, {"sales", "support"})),
    "meetings": ("sales", _access({"sales", "support"}, {"sales", "support"})),
    "activities": ("sales", _access({"sales", "support"}, {"sales", "support"})),
    "calendar": ("sales", _access({"sales", "support"}, set())),
    "calendar-feeds": ("sales", _access({"sales", "support"}, {"sales", "support"})),
    # support
    "cases": ("support", _access({"support", "sales", "analyst"}, {"support"})),
    "queues": ("support", _access({"support", "analyst"}, set())),
    "sla-policy": ("support", _access({"support", "analyst"}, set())),
    "mailboxes": ("support", _access({"support"}, set())),
    "articles": ("support", _access(set(EVERYONE), {"support"})),
    # analytics
    "customers": ("analytics", _access(set(EVERYONE), set())),
    "kpis": ("analytics", _access({"analyst", "sales", "support", "marketing"}, set())),
    "admin": ("analytics", _access(set(), set())),
}

PUBLIC: dict[str, Service] = {
    "web-forms": "sales",
    "calendars": "sales",
    "surveys": "support",
    "inbound-email": "support",
}


@dataclass(frozen=True)
class Route:
    service: Service
    public: bool
    access: Access | None


def route(path: str) -> Route | None:
    """The service behind ``path`` (None: no such resource)."""
    segments = [s for s in path.split("/") if s]
    if not segments:
        return None
    if segments[0] == "public":
        service = PUBLIC.get(segments[1]) if len(segments) > 1 else None
        return Route(service, True, None) if service else None
    found = RESOURCES.get(segments[0])
    return Route(found[0], False, found[1]) if found else None


def allowed(access: Access, method: str, roles: frozenset[str]) -> bool:
    needed = access.read if method.upper() in READ_METHODS else access.write
    return bool(needed & roles)


SEES_AMOUNTS: frozenset[str] = frozenset({"sales", "analyst", "admin"})
"""Who sees the money of opportunities in a customer's view (support agents do not)."""
