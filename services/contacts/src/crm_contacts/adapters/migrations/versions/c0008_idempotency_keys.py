"""Idempotency keys: a retried create (same key) answers with what the first one made.

Revision ID: c0008_idempotency_keys
Revises: c0007_imports
Create Date: 2026-11-24
"""

from alembic import op

from crm_shared.eventstore.migrate import target_schema

revision = "c0008_idempotency_keys"
down_revision = "c0007_imports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    s = target_schema()
    op.execute(f"""
        CREATE TABLE "{s}".idempotency_keys (
            tenant_id text NOT NULL,
            key text NOT NULL,
            resource_id text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, key)
        )
    """)


def downgrade() -> None:
    op.execute(f'DROP TABLE "{target_schema()}".idempotency_keys')
