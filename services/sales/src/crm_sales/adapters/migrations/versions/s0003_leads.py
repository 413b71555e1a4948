"""Leads, lead routing (with each team's round-robin position) and public web forms.

Revision ID: s0003_leads
Revises: s0002_products_and_quotes
Create Date: 2026-11-24
"""

from alembic import op

from crm_shared.eventstore.migrate import target_schema

revision = "s0003_leads"
down_revision = "s0002_products_and_quotes"
branch_labels = None
depends_on = "k0001_subject_keys"


def upgrade() -> None:
    s = target_schema()
    op.execute(f"""
        CREATE TABLE "{s}".leads (
            lead_id text PRIMARY KEY,
            tenant_id text NOT NULL,
            version integer NOT NULL,
            status text NOT NULL,
            owner_id text,
            team_id text,
            company text,
            country text,
            region text,
            source text NOT NULL,
            details jsonb NOT NULL,
            erased boolean NOT NULL DEFAULT false,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL
        )
    """)
    op.execute(f'CREATE INDEX leads_page ON "{s}".leads (tenant_id, updated_at, lead_id)')
    op.execute(f"""
        CREATE TABLE "{s}".lead_routing (
            tenant_id text PRIMARY KEY,
            version integer NOT NULL,
            definition jsonb NOT NULL
        )
    """)
    op.execute(f"""
        CREATE TABLE "{s}".round_robin (
            tenant_id text NOT NULL,
            team_id text NOT NULL,
            assigned bigint NOT NULL DEFAULT 0,
            PRIMARY KEY (tenant_id, team_id)
        )
    """)
    op.execute(f"""
        CREATE TABLE "{s}".web_forms (
            form_id text PRIMARY KEY,
            tenant_id text NOT NULL,
            name text NOT NULL,
            active boolean NOT NULL
        )
    """)
    op.execute(f"""
        CREATE TABLE "{s}".web_form_submissions (
            form_id text NOT NULL,
            client text NOT NULL,
            at timestamptz NOT NULL DEFAULT now()
        )
    """)
    op.execute(
        f'CREATE INDEX web_form_submissions_recent ON "{s}".web_form_submissions'
        " (form_id, client, at)"
    )


def downgrade() -> None:
    s = target_schema()
    for table in ("web_form_submissions", "web_forms", "round_robin", "lead_routing", "leads"):
        op.execute(f'DROP TABLE "{s}".{table}')
