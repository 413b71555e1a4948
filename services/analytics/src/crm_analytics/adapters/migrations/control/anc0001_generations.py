"""The generations of the read models: which schema serves (live), which is being rebuilt from
offset zero beside it (building), and which served before (retired, kept for a rollback).

Revision ID: anc0001_generations
Revises:
Create Date: 2026-11-24
"""

from alembic import op

from crm_shared.eventstore.migrate import target_schema

revision = "anc0001_generations"
down_revision = None
branch_labels = ("analytics_control",)
depends_on = None


def upgrade() -> None:
    s = target_schema()
    op.execute(f"""
        CREATE TABLE "{s}".generations (
            generation integer PRIMARY KEY,
            schema_name text NOT NULL UNIQUE,
            consumer_group text NOT NULL UNIQUE,
            state text NOT NULL CHECK (state IN ('building', 'live', 'retired')),
            created_at timestamptz NOT NULL DEFAULT now(),
            live_since timestamptz,
            applied bigint NOT NULL DEFAULT 0,
            events_per_s double precision,
            lag bigint,
            progress_at timestamptz
        )
    """)
    op.execute(
        f'CREATE UNIQUE INDEX one_live_generation ON "{s}".generations ((true))'
        " WHERE state = 'live'"
    )
    op.execute(
        f'CREATE UNIQUE INDEX one_generation_building ON "{s}".generations ((true))'
        " WHERE state = 'building'"
    )


def downgrade() -> None:
    op.execute(f'DROP TABLE "{target_schema()}".generations')
