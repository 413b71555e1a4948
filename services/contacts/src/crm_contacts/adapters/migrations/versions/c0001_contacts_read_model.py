"""Contacts read model: the current state of each contact, written with its events.

Revision ID: c0001_contacts_read_model
Revises:
Create Date: 2026-11-24
"""

from alembic import op

from crm_shared.eventstore.migrate import target_schema

revision = "c0001_contacts_read_model"
down_revision = None
branch_labels = ("contacts",)
depends_on = "0001_event_store"


def upgrade() -> None:
    s = target_schema()
    op.execute(f"""
        CREATE TABLE "{s}".contacts (
            contact_id text PRIMARY KEY,
            tenant_id text NOT NULL,
            version integer NOT NULL,
            first_name text,
            last_name text NOT NULL,
            primary_email text,
            primary_phone text,
            lifecycle_stage text NOT NULL,
            owner_id text,
            tags text[] NOT NULL DEFAULT '{{}}',
            details jsonb NOT NULL,
            archived boolean NOT NULL DEFAULT false,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL
        )
    """)
    op.execute(
        f'CREATE INDEX contacts_tenant_updated ON "{s}".contacts'
        " (tenant_id, updated_at, contact_id)"
    )
    op.execute(f'CREATE INDEX contacts_tags ON "{s}".contacts USING gin (tags)')
    op.execute(f'CREATE INDEX contacts_email ON "{s}".contacts (tenant_id, primary_email)')


def downgrade() -> None:
    op.execute(f'DROP TABLE "{target_schema()}".contacts')
