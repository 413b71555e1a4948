"""The leads tables, lead routing, round-robin positions and web forms."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from crm_sales.domain.lead import ERASED, Lead
from crm_shared.contracts.sales import LeadRoutingDefined
from crm_shared.sql import sql


async def save_lead(
    connection: AsyncConnection, schema: str, tenant_id: str, lead: Lead, at: datetime
) -> None:
    state = lead.state
    await connection.execute(
        sql(
            f'INSERT INTO "{schema}".leads (lead_id, tenant_id, version, status, owner_id,'
            " team_id, company, country, region, source, details, erased, created_at,"
            " updated_at) VALUES (:id, :tenant, :version, :status, :owner, :team, :company,"
            " :country, :region, :source, CAST(:details AS jsonb), :erased, :at, :at)"
            " ON CONFLICT (lead_id) DO UPDATE SET version = excluded.version,"
            " status = excluded.status, owner_id = excluded.owner_id,"
            " team_id = excluded.team_id, details = excluded.details,"
            " erased = excluded.erased, updated_at = excluded.updated_at"
        ),
        {
            "id": lead.lead_id,
            "tenant": tenant_id,
            "version": lead.version,
            "status": lead.status,
            "owner": state.get("owner_id"),
            "team": state.get("team_id"),
            "company": state.get("company"),
            "country": state.get("country"),
            "region": state.get("region"),
            "source": state["source"],
            "details": json.dumps({**state, **(ERASED if lead.erased else {})}),
            "erased": lead.erased,
            "at": at,
        },
    )


async def get_lead(
    connection: AsyncConnection, schema: str, tenant_id: str, lead_id: str
) -> dict[str, Any] | None:
    result = await connection.execute(
        sql(
            "SELECT lead_id, version, status, details, erased, created_at, updated_at"
            f' FROM "{schema}".leads WHERE tenant_id = :tenant AND lead_id = :id'
        ),
        {"tenant": tenant_id, "id": lead_id},
    )
    row = result.one_or_none()
    return dict(row._mapping) if row else None


async def save_routing(
    connection: AsyncConnection, schema: str, routing: LeadRoutingDefined, version: int
) -> None:
    await connection.execute(
        sql(
            f'INSERT INTO "{schema}".lead_routing (tenant_id, version, definition)'
            " VALUES (:tenant, :version, CAST(:definition AS jsonb))"
            " ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version,"
            " definition = excluded.definition"
        ),
        {"tenant": routing.tenant_id, "version": version, "definition": routing.model_dump_json()},
    )


async def routing(
    connection: AsyncConnection, schema: str, tenant_id: str
) -> tuple[LeadRoutingDefined | None, int]:
    result = await connection.execute(
        sql(f'SELECT definition, version FROM "{schema}".lead_routing WHERE tenant_id = :tenant'),
        {"tenant": tenant_id},
    )
    row = result.one_or_none()
    if row is None:
        return None, 0
    return LeadRoutingDefined.model_validate(row.definition), row.version


async def next_in_turn(
    connection: AsyncConnection, schema: str, tenant_id: str, team_id: str
) -> str | None:
    """The team member whose turn it is, moving the turn on (atomic under concurrency)."""
    result = await connection.execute(
        sql(
            f'INSERT INTO "{schema}".round_robin (tenant_id, team_id, assigned)'
            " VALUES (:tenant, :team, 1) ON CONFLICT (tenant_id, team_id)"
            " DO UPDATE SET assigned = round_robin.assigned + 1 RETURNING assigned"
        ),
        {"tenant": tenant_id, "team": team_id},
    )
    turn = int(result.scalar_one()) - 1
    members = await connection.execute(
        sql(f'SELECT members FROM "{schema}".teams WHERE tenant_id = :tenant AND team_id = :team'),
        {"tenant": tenant_id, "team": team_id},
    )
    row = members.one_or_none()
    if row is None or not row.members:
        return None
    return str(sorted(row.members)[turn % len(row.members)])


async def save_web_form(
    connection: AsyncConnection, schema: str, tenant_id: str, form_id: str, name: str, active: bool
) -> None:
    await connection.execute(
        sql(
            f'INSERT INTO "{schema}".web_forms (form_id, tenant_id, name, active)'
            " VALUES (:id, :tenant, :name, :active) ON CONFLICT (form_id) DO UPDATE"
            " SET name = excluded.name, active = excluded.active"
            " WHERE web_forms.tenant_id = excluded.tenant_id"
        ),
        {"id": form_id, "tenant": tenant_id, "name": name, "active": active},
    )


async def web_form_tenant(connection: AsyncConnection, schema: str, form_id: str) -> str | None:
    """The tenant of an active form (None: no such form, or switched off)."""
    result = await connection.execute(
        sql(f'SELECT tenant_id FROM "{schema}".web_forms WHERE form_id = :id AND active'),
        {"id": form_id},
    )
    tenant = result.scalar_one_or_none()
    return str(tenant) if tenant is not None else None


async def recent_submissions(
    connection: AsyncConnection, schema: str, form_id: str, client: str, since: datetime
) -> int:
    """Count this client's submissions since ``since``, and note this one."""
    await connection.execute(
        sql(f'DELETE FROM "{schema}".web_form_submissions WHERE form_id = :form AND at < :since'),
        {"form": form_id, "since": since},
    )
    result = await connection.execute(
        sql(
            f'SELECT count(*) FROM "{schema}".web_form_submissions'
            " WHERE form_id = :form AND client = :client AND at >= :since"
        ),
        {"form": form_id, "client": client, "since": since},
    )
    count = int(result.scalar_one())
    await connection.execute(
        sql(
            f'INSERT INTO "{schema}".web_form_submissions (form_id, client) VALUES (:form, :client)'
        ),
        {"form": form_id, "client": client},
    )
    return count


async def page_leads(
    connection: AsyncConnection,
    schema: str,
    tenant_id: str,
    status: str | None,
    owner_id: str | None,
    limit: int,
    after: tuple[datetime, str] | None,
) -> list[dict[str, Any]]:
    clauses = ["tenant_id = :tenant"]
    params: dict[str, Any] = {"tenant": tenant_id, "limit": limit}
    if status:
        clauses.append("status = :status")
        params["status"] = status
    if owner_id:
        clauses.append("owner_id = :owner")
        params["owner"] = owner_id
    if after:
        clauses.append("(updated_at, lead_id) > (:after_at, :after_id)")
        params["after_at"], params["after_id"] = after
    result = await connection.execute(
        sql(
            "SELECT lead_id, version, status, details, erased, created_at, updated_at"
            f' FROM "{schema}".leads WHERE {" AND ".join(clauses)}'
            " ORDER BY updated_at, lead_id LIMIT :limit"
        ),
        params,
    )
    return [dict(row._mapping) for row in result]
