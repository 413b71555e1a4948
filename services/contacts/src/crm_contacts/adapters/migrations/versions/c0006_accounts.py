"""Accounts (organisations) and the people who work at them.

Revision ID: c0006_accounts
Revises: c0005_erasure
Create Date: 2026-11-24
"""

from alembic import op

from crm_shared.eventstore.migrate import target_schema

revision = "c0006_accounts"
down_revision = "c0005_erasure"
branch_labels = None
depends_on = None


def upgrade() -> None:
    s = target_schema()
    op.execute(f"""
        CREATE TABLE "{s}".accounts (
            account_id text PRIMARY KEY,
            tenant_id text NOT NULL,
            version integer NOT NULL,
            name text NOT NULL,
            domain text,
            owner_id text,
            tags text[] NOT NULL DEFAULT '{{}}',
            parent_account_id text,
            details jsonb NOT NULL,
            archived boolean NOT NULL DEFAULT false,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL
        )
    """)
    op.execute(f'CREATE INDEX accounts_page ON "{s}".accounts (tenant_id, updated_at, account_id)')
    op.execute(f'CREATE INDEX accounts_name ON "{s}".accounts (tenant_id, lower(name))')
    op.execute(f'CREATE INDEX accounts_parent ON "{s}".accounts (tenant_id, parent_account_id)')
    op.execute(f"""
        CREATE TABLE "{s}".account_contacts (
            tenant_id text NOT NULL,
            account_id text NOT NULL,
            contact_id text NOT NULL,
            role text,
            is_primary boolean NOT NULL DEFAULT false,
            PRIMARY KEY (account_id, contact_id)
        )
    """)
    op.execute(
        f'CREATE INDEX account_contacts_contact ON "{s}".account_contacts (tenant_id, contact_id)'
    )


def downgrade() -> None:
    s = target_schema()
    op.execute(f'DROP TABLE "{s}".account_contacts')
    op.execute(f'DROP TABLE "{s}".accounts')
