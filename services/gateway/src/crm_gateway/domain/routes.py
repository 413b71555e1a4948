"""Which service answers a public path, and which roles may call it.

The public API is one origin: a path's first segment names the resource (``/contacts/...``,
``/cases/...``), and the resource belongs to one service, which gets the path unchanged. Paths
under ``/public/`` are for people without an account (web forms, surveys, calendar feeds,
mail providers): they pass without a token and each service guards them itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from crm_shared.auth.access import RESOURCE_ACCESS, Access

Service = Literal["contacts", "sales", "support", "analytics"]

RESOURCE_SERVICES: dict[str, Service] = {
    **dict.fromkeys(("contacts", "accounts", "custom-fields", "imports", "privacy"), "contacts"),
    **dict.fromkeys(
        (
            "pipelines",
            "opportunities",
            "teams",
            "forecast",
            "products",
            "price-books",
            "quotes",
            "leads",
            "lead-routing",
            "web-forms",
            "tasks",
            "calls",
            "meetings",
            "activities",
            "calendar",
            "calendar-feeds",
        ),
        "sales",
    ),
    **dict.fromkeys(("cases", "queues", "sla-policy", "mailboxes", "articles"), "support"),
    **dict.fromkeys(("customers", "kpis", "admin"), "analytics"),
}
"""Which service owns each resource; who may use it is ``crm_shared.auth.access``."""

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
    service = RESOURCE_SERVICES.get(segments[0])
    access = RESOURCE_ACCESS.get(segments[0])
    return Route(service, False, access) if service and access else None
