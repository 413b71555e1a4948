"""Lead conversions: the saga's retry bookkeeping, and a way to find the unfinished ones.

Revision ID: s0005_lead_conversions
Revises: s0004_activities
Create Date: 2026-11-24
"""

from alembic import op

from crm_shared.eventstore.migrate import target_schema

revision = "s0005_lead_conversions"
down_revision = "s0004_activities"
branch_labels = None
depends_on = None


def upgrade() -> None:
    s = target_schema()
    op.execute(f"""
        CREATE TABLE "{s}".lead_conversion_retries (
            lead_id text PRIMARY KEY,
            tenant_id text NOT NULL,
            retries integer NOT NULL,
            last_error text NOT NULL,
            next_attempt_at timestamptz NOT NULL
        )
    """)
    op.execute(
        f"CREATE INDEX leads_converting ON \"{s}\".leads (updated_at) WHERE status = 'converting'"
    )


def downgrade() -> None:
    s = target_schema()
    op.execute(f'DROP INDEX "{s}".leads_converting')
    op.execute(f'DROP TABLE "{s}".lead_conversion_retries')
