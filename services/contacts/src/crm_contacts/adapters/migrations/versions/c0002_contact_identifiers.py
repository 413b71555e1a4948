"""Contact identifiers (every email and phone) and last names, for finding duplicates.

Revision ID: c0002_contact_identifiers
Revises: c0001_contacts_read_model
Create Date: 2026-11-24
"""

from alembic import op

from crm_shared.eventstore.migrate import target_schema

revision = "c0002_contact_identifiers"
down_revision = "c0001_contacts_read_model"
branch_labels = None
depends_on = None


def upgrade() -> None:
    s = target_schema()
    op.execute(f"""
        CREATE TABLE "{s}".contact_identifiers (
            tenant_id text NOT NULL,
            kind text NOT NULL CHECK (kind IN ('email', 'phone')),
            value text NOT NULL,
            contact_id text NOT NULL,
            PRIMARY KEY (tenant_id, kind, value, contact_id)
        )
    """)
    op.execute(f'CREATE INDEX contacts_last_name ON "{s}".contacts (tenant_id, lower(last_name))')


def downgrade() -> None:
    s = target_schema()
    op.execute(f'DROP INDEX "{s}".contacts_last_name')
    op.execute(f'DROP TABLE "{s}".contact_identifiers')
