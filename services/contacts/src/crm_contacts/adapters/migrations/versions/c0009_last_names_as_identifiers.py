"""Last names are identifiers: the duplicate look-up finds them by key in contact_identifiers.

As an index of the contacts table, (tenant, lower(last_name)) stood beside (tenant,
updated_at); for a tenant newer than the table's statistics the planner took the latter and
filtered the whole tenant on every create.

Revision ID: c0009_last_names_as_identifiers
Revises: c0008_idempotency_keys
Create Date: 2026-12-02
"""

from alembic import op

from crm_shared.eventstore.migrate import target_schema

revision = "c0009_last_names_as_identifiers"
down_revision = "c0008_idempotency_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    s = target_schema()
    op.execute(
        f'ALTER TABLE "{s}".contact_identifiers DROP CONSTRAINT contact_identifiers_kind_check,'
        " ADD CONSTRAINT contact_identifiers_kind_check"
        " CHECK (kind IN ('email', 'phone', 'last_name'))"
    )
    op.execute(f"""
        INSERT INTO "{s}".contact_identifiers (tenant_id, kind, value, contact_id)
        SELECT tenant_id, 'last_name', lower(last_name), contact_id FROM "{s}".contacts
        WHERE NOT archived AND last_name <> ''
        ON CONFLICT DO NOTHING
    """)
    op.execute(f'DROP INDEX "{s}".contacts_last_name')


def downgrade() -> None:
    s = target_schema()
    op.execute(f'CREATE INDEX contacts_last_name ON "{s}".contacts (tenant_id, lower(last_name))')
    op.execute(f"""DELETE FROM "{s}".contact_identifiers WHERE kind = 'last_name'""")
    op.execute(
        f'ALTER TABLE "{s}".contact_identifiers DROP CONSTRAINT contact_identifiers_kind_check,'
        " ADD CONSTRAINT contact_identifiers_kind_check CHECK (kind IN ('email', 'phone'))"
    )
