"""Activities (tasks, calls, meetings) and calendar feed tokens.

Revision ID: s0004_activities
Revises: s0003_leads
Create Date: 2026-11-24
"""

from alembic import op

from crm_shared.eventstore.migrate import target_schema

revision = "s0004_activities"
down_revision = "s0003_leads"
branch_labels = None
depends_on = None


def upgrade() -> None:
    s = target_schema()
    op.execute(f"""
        CREATE TABLE "{s}".activities (
            activity_id text PRIMARY KEY,
            tenant_id text NOT NULL,
            version integer NOT NULL,
            kind text NOT NULL,
            status text NOT NULL,
            owner_id text NOT NULL,
            attendees text[] NOT NULL,
            contact_id text,
            account_id text,
            lead_id text,
            opportunity_id text,
            starts_at timestamptz NOT NULL,
            ends_at timestamptz,
            time_zone text,
            reminder_at timestamptz,
            reminded boolean NOT NULL DEFAULT false,
            overdue boolean NOT NULL DEFAULT false,
            details jsonb NOT NULL,
            erased boolean NOT NULL DEFAULT false,
            updated_at timestamptz NOT NULL
        )
    """)
    op.execute(f'CREATE INDEX activities_calendar ON "{s}".activities USING gin (attendees)')
    op.execute(f'CREATE INDEX activities_contact ON "{s}".activities (tenant_id, contact_id)')
    op.execute(
        f'CREATE INDEX activities_open_tasks ON "{s}".activities (starts_at)'
        " WHERE kind = 'task' AND status = 'open' AND NOT overdue"
    )
    op.execute(
        f'CREATE INDEX activities_reminders ON "{s}".activities (reminder_at)'
        " WHERE kind = 'task' AND status = 'open' AND NOT reminded"
    )
    op.execute(f"""
        CREATE TABLE "{s}".calendar_feeds (
            token_hash text PRIMARY KEY,
            tenant_id text NOT NULL,
            user_id text,
            team_id text,
            created_at timestamptz NOT NULL DEFAULT now()
        )
    """)


def downgrade() -> None:
    s = target_schema()
    op.execute(f'DROP TABLE "{s}".calendar_feeds')
    op.execute(f'DROP TABLE "{s}".activities')
