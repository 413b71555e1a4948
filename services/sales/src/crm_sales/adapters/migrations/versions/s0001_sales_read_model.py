"""Sales read model: pipelines, teams, opportunities and their versions over time.

``opportunity_versions`` keeps every state of every opportunity with the interval it held
(valid_from, valid_to): the forecast as of any past moment is a query over it.

Revision ID: s0001_sales_read_model
Revises:
Create Date: 2026-11-24
"""

from alembic import op

from crm_shared.eventstore.migrate import target_schema

revision = "s0001_sales_read_model"
down_revision = None
branch_labels = ("sales",)
depends_on = "0001_event_store"


def upgrade() -> None:
    s = target_schema()
    op.execute(f"""
        CREATE TABLE "{s}".pipelines (
            tenant_id text NOT NULL,
            pipeline_id text NOT NULL,
            version integer NOT NULL,
            name text NOT NULL,
            stages jsonb NOT NULL,
            PRIMARY KEY (tenant_id, pipeline_id)
        )
    """)
    op.execute(f"""
        CREATE TABLE "{s}".teams (
            tenant_id text NOT NULL,
            team_id text NOT NULL,
            version integer NOT NULL,
            name text NOT NULL,
            members text[] NOT NULL,
            PRIMARY KEY (tenant_id, team_id)
        )
    """)
    op.execute(f"""
        CREATE TABLE "{s}".opportunities (
            opportunity_id text PRIMARY KEY,
            tenant_id text NOT NULL,
            version integer NOT NULL,
            pipeline_id text NOT NULL,
            name text NOT NULL,
            stage_id text NOT NULL,
            status text NOT NULL,
            probability integer NOT NULL,
            forecast_category text NOT NULL,
            amount numeric(24, 4) NOT NULL,
            currency char(3) NOT NULL,
            expected_close_date date NOT NULL,
            owner_id text NOT NULL,
            contact_id text,
            account_id text,
            close_reason text,
            competitor text,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL
        )
    """)
    op.execute(
        f'CREATE INDEX opportunities_page ON "{s}".opportunities'
        " (tenant_id, updated_at, opportunity_id)"
    )
    op.execute(
        f'CREATE INDEX opportunities_stage ON "{s}".opportunities'
        " (tenant_id, pipeline_id, stage_id) WHERE status = 'open'"
    )
    op.execute(f'CREATE INDEX opportunities_contact ON "{s}".opportunities (tenant_id, contact_id)')
    op.execute(f"""
        CREATE TABLE "{s}".opportunity_versions (
            opportunity_id text NOT NULL,
            version integer NOT NULL,
            tenant_id text NOT NULL,
            valid_from timestamptz NOT NULL,
            valid_to timestamptz,
            status text NOT NULL,
            stage_id text NOT NULL,
            probability integer NOT NULL,
            forecast_category text NOT NULL,
            amount numeric(24, 4) NOT NULL,
            currency char(3) NOT NULL,
            expected_close_date date NOT NULL,
            owner_id text NOT NULL,
            PRIMARY KEY (opportunity_id, version)
        )
    """)
    op.execute(
        f'CREATE INDEX opportunity_versions_forecast ON "{s}".opportunity_versions'
        " (tenant_id, expected_close_date, valid_from)"
    )
    op.execute(
        f'CREATE INDEX opportunity_versions_current ON "{s}".opportunity_versions'
        " (tenant_id, expected_close_date) WHERE valid_to IS NULL"
    )


def downgrade() -> None:
    s = target_schema()
    for table in ("opportunity_versions", "opportunities", "teams", "pipelines"):
        op.execute(f'DROP TABLE "{s}".{table}')
