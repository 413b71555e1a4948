"""CSV imports: jobs with their progress and lease, the uploaded file in chunks, and the
errors of every bad row.

Revision ID: c0007_imports
Revises: c0006_accounts
Create Date: 2026-11-24
"""

from alembic import op

from crm_shared.eventstore.migrate import target_schema

revision = "c0007_imports"
down_revision = "c0006_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    s = target_schema()
    op.execute(f"""
        CREATE TABLE "{s}".imports (
            import_id text PRIMARY KEY,
            tenant_id text NOT NULL,
            actor text NOT NULL,
            file_sha256 text NOT NULL,
            file_bytes bigint NOT NULL,
            mapping jsonb NOT NULL,
            mode text NOT NULL,
            on_duplicate text NOT NULL,
            status text NOT NULL,
            rows_done integer NOT NULL DEFAULT 0,
            created integer NOT NULL DEFAULT 0,
            updated integer NOT NULL DEFAULT 0,
            skipped integer NOT NULL DEFAULT 0,
            unchanged integer NOT NULL DEFAULT 0,
            failed integer NOT NULL DEFAULT 0,
            lease_owner text,
            lease_until timestamptz,
            problem text,
            created_at timestamptz NOT NULL DEFAULT now(),
            finished_at timestamptz
        )
    """)
    op.execute(
        f'CREATE INDEX imports_waiting ON "{s}".imports (created_at)'
        " WHERE status IN ('queued', 'running')"
    )
    op.execute(f"""
        CREATE TABLE "{s}".import_chunks (
            import_id text NOT NULL,
            seq integer NOT NULL,
            data bytea NOT NULL,
            PRIMARY KEY (import_id, seq)
        )
    """)
    op.execute(f"""
        CREATE TABLE "{s}".import_errors (
            import_id text NOT NULL,
            line integer NOT NULL,
            field text NOT NULL,
            reason text NOT NULL,
            PRIMARY KEY (import_id, line, field)
        )
    """)


def downgrade() -> None:
    s = target_schema()
    for table in ("import_errors", "import_chunks", "imports"):
        op.execute(f'DROP TABLE "{s}".{table}')
