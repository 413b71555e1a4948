"""Erasure: an erased contact keeps its row, with no personal value left (no last name).

Revision ID: c0005_erasure
Revises: c0002_contact_identifiers
Create Date: 2026-11-24
"""

from alembic import op

from crm_shared.eventstore.migrate import target_schema

revision = "c0005_erasure"
down_revision = "c0002_contact_identifiers"
branch_labels = None
depends_on = "k0001_subject_keys"


def upgrade() -> None:
    s = target_schema()
    op.execute(f'ALTER TABLE "{s}".contacts ALTER COLUMN last_name DROP NOT NULL')
    op.execute(f'ALTER TABLE "{s}".contacts ADD COLUMN erased boolean NOT NULL DEFAULT false')


def downgrade() -> None:
    s = target_schema()
    op.execute(f'ALTER TABLE "{s}".contacts DROP COLUMN erased')
