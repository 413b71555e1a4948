"""Queues and articles are keyed by tenant and id: their ids are the tenant's own words
("tier1", "reset-password"), and two tenants may choose the same.

Revision ID: su0002_tenant_keys
Revises: su0001_support
Create Date: 2026-11-24
"""

from alembic import op

from crm_shared.eventstore.migrate import target_schema

revision = "su0002_tenant_keys"
down_revision = "su0001_support"
branch_labels = None
depends_on = None

KEYS = {
    "queues": ("queue_id", "tenant_id, queue_id"),
    "articles": ("article_id", "tenant_id, article_id"),
    "article_cases": ("article_id, case_id", "tenant_id, article_id, case_id"),
}


def upgrade() -> None:
    s = target_schema()
    for table, (_, key) in KEYS.items():
        op.execute(f'ALTER TABLE "{s}".{table} DROP CONSTRAINT {table}_pkey')
        op.execute(f'ALTER TABLE "{s}".{table} ADD PRIMARY KEY ({key})')


def downgrade() -> None:
    s = target_schema()
    for table, (key, _) in KEYS.items():
        op.execute(f'ALTER TABLE "{s}".{table} DROP CONSTRAINT {table}_pkey')
        op.execute(f'ALTER TABLE "{s}".{table} ADD PRIMARY KEY ({key})')
