"""The 360-degree view of a customer (a contact or an organisation) from the read models."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from crm_analytics.adapters import read_model as rm
from crm_analytics.application.generations import LiveGeneration
from crm_shared.errors import NotFound
from crm_shared.sql import DriverReads, pooled_reads

RELATED_LIMIT = 200


class CustomerViews:
    def __init__(self, engine: AsyncEngine, live: LiveGeneration) -> None:
        self.engine = engine
        self.live = live

    @property
    def schema(self) -> str:
        return self.live.schema

    async def view(self, tenant_id: str, customer_id: str, timeline_limit: int) -> dict[str, Any]:
        async with pooled_reads(self.engine) as reads:
            facts = await rm.customer_facts(
                reads,
                self.schema,
                tenant_id,
                customer_id,
                ("opportunity", "case", "activity"),
                RELATED_LIMIT,
                timeline_limit + 1,
            )
        if not facts.known:
            raise NotFound(f"no customer {customer_id}")
        kind = "account" if facts.is_account else "contact"
        related = facts.related
        return {
            "customer_id": facts.current,
            "merged_from": customer_id if facts.current != customer_id else None,
            "kind": kind,
            "profile": facts.named.get(kind, {}),
            "consent": facts.consents,
            "organisations" if kind == "contact" else "people": facts.members,
            "opportunities": _opportunities(related["opportunity"]),
            "cases": _cases(related["case"]),
            "activities": [_row(a) for a in related["activity"]],
            "timeline": page(facts.timeline, timeline_limit),
        }

    async def timeline(
        self, tenant_id: str, customer_id: str, limit: int, before: tuple[datetime, str] | None
    ) -> dict[str, Any]:
        async with pooled_reads(self.engine) as reads:
            current = await self._known(reads, tenant_id, customer_id)
            entries = await rm.timeline(reads, self.schema, tenant_id, current, limit + 1, before)
        return page(entries, limit)

    async def _known(self, reads: DriverReads, tenant_id: str, customer_id: str) -> str:
        """The customer as it now lives on (a merged contact: its survivor); 404 if unknown."""
        current = await rm.survivor(reads, self.schema, tenant_id, customer_id)
        if not await rm.is_known(reads, self.schema, tenant_id, current):
            raise NotFound(f"no customer {customer_id}")
        return current


def page(entries: list[dict[str, Any]], limit: int) -> dict[str, Any]:
    more = len(entries) > limit
    entries = entries[:limit]
    return {
        "items": entries,
        "next": (entries[-1]["at"], entries[-1]["event_id"]) if more and entries else None,
    }


def _row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["entity_id"],
        "contact_id": row["contact_id"],
        "account_id": row["account_id"],
        **row["data"],
    }


def _opportunities(rows: list[dict[str, Any]]) -> dict[str, Any]:
    items = [_row(r) for r in rows]
    totals: dict[str, dict[str, Decimal]] = {}
    for item in items:
        if item.get("amount") is None or item.get("currency") is None:
            continue
        by_status = totals.setdefault(item["currency"], {"open": Decimal(0), "won": Decimal(0)})
        if item.get("status") in by_status:
            by_status[item["status"]] += Decimal(item["amount"])
    return {
        "open": [i for i in items if i.get("status") == "open"],
        "closed": [i for i in items if i.get("status") in ("won", "lost")],
        "totals": {
            currency: {status: str(amount) for status, amount in sums.items()}
            for currency, sums in totals.items()
        },
    }


def _cases(rows: list[dict[str, Any]]) -> dict[str, Any]:
    items = [_row(r) for r in rows]
    scores = [i["satisfaction"] for i in items if i.get("satisfaction") is not None]
    return {
        "open": [i for i in items if i.get("status") not in ("resolved", "closed")],
        "closed": [i for i in items if i.get("status") in ("resolved", "closed")],
        "sla_breached": sum(
            1 for i in items if "breached" in (i.get("sla_first_response"), i.get("sla_resolution"))
        ),
        "satisfaction": {
            "answers": len(scores),
            "average": round(sum(scores) / len(scores), 2) if scores else None,
        },
    }
