"""Data keys of data subjects (wrapped) and the tombstones of erased subjects.

Revision ID: k0001_subject_keys
Revises:
Create Date: 2026-11-24
"""

from alembic import op

from crm_shared.eventstore.migrate import target_schema

revision = "k0001_subject_keys"
down_revision = None
branch_labels = ("privacy",)
depends_on = "0001_event_store"


def upgrade() -> None:
    s = target_schema()
    op.execute(f"""
        CREATE TABLE "{s}".subject_keys (
            subject_id text PRIMARY KEY,
            tenant_id text NOT NULL,
            wrapped_key bytea NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        )
    """)
    op.execute(f"""
        CREATE TABLE "{s}".erased_subjects (
            subject_id text PRIMARY KEY,
            tenant_id text NOT NULL,
            erased_at timestamptz NOT NULL DEFAULT now()
        )
    """)


def downgrade() -> None:
    s = target_schema()
    op.execute(f'DROP TABLE "{s}".erased_subjects')
    op.execute(f'DROP TABLE "{s}".subject_keys')
