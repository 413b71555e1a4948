"""Analytics read models: every entity the other services tell of (contacts, accounts,
opportunities, cases, activities) with its non-personal facts and its links to customers,
consent, memberships, merges, and the timeline of each customer.

Revision ID: an0001_read_models
Revises:
Create Date: 2026-11-24
"""

from alembic import op

from crm_shared.eventstore.migrate import target_schema

revision = "an0001_read_models"
down_revision = None
branch_labels = ("analytics",)
depends_on = "0001_event_store"


def upgrade() -> None:
    s = target_schema()
    op.execute(f"""
        CREATE TABLE "{s}".entities (
            tenant_id text NOT NULL,
            kind text NOT NULL,
            entity_id text NOT NULL,
            contact_id text,
            account_id text,
            data jsonb NOT NULL,
            updated_at timestamptz NOT NULL,
            PRIMARY KEY (tenant_id, kind, entity_id)
        )
    """)
    op.execute(f'CREATE INDEX entities_of_contact ON "{s}".entities (tenant_id, contact_id)')
    op.execute(f'CREATE INDEX entities_of_account ON "{s}".entities (tenant_id, account_id)')
    op.execute(f"""
        CREATE TABLE "{s}".consents (
            tenant_id text NOT NULL,
            contact_id text NOT NULL,
            channel text NOT NULL,
            status text NOT NULL,
            lawful_basis text NOT NULL,
            source text NOT NULL,
            at timestamptz NOT NULL,
            PRIMARY KEY (tenant_id, contact_id, channel)
        )
    """)
    op.execute(f"""
        CREATE TABLE "{s}".memberships (
            tenant_id text NOT NULL,
            account_id text NOT NULL,
            contact_id text NOT NULL,
            role text,
            is_primary boolean NOT NULL,
            PRIMARY KEY (tenant_id, account_id, contact_id)
        )
    """)
    op.execute(f'CREATE INDEX memberships_of_contact ON "{s}".memberships (tenant_id, contact_id)')
    op.execute(f"""
        CREATE TABLE "{s}".merges (
            tenant_id text NOT NULL,
            merged_id text NOT NULL,
            survivor_id text NOT NULL,
            PRIMARY KEY (tenant_id, merged_id)
        )
    """)
    op.execute(f"""
        CREATE TABLE "{s}".timeline (
            tenant_id text NOT NULL,
            customer_id text NOT NULL,
            event_id text NOT NULL,
            at timestamptz NOT NULL,
            kind text NOT NULL,
            entity_id text NOT NULL,
            what text NOT NULL,
            details jsonb NOT NULL,
            PRIMARY KEY (tenant_id, customer_id, event_id)
        )
    """)
    op.execute(
        f'CREATE INDEX timeline_newest_first ON "{s}".timeline'
        " (tenant_id, customer_id, at DESC, event_id DESC)"
    )


def downgrade() -> None:
    s = target_schema()
    for table in ("timeline", "merges", "memberships", "consents", "entities"):
        op.execute(f'DROP TABLE "{s}".{table}')
