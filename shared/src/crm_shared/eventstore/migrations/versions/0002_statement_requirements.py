"""require(condition, refusal): a statement that checks what must hold for it to be kept.

A command written as one statement that is a transaction of its own (no BEGIN and COMMIT
round trips) cannot check afterwards and roll back; it checks inside itself (see
``crm_shared.eventstore.requirements``), and the error undoes all of it.

Revision ID: 0002_statement_requirements
Revises: 0001_event_store
Create Date: 2026-12-02
"""

from alembic import op

from crm_shared.eventstore.migrate import target_schema

revision = "0002_statement_requirements"
down_revision = "0001_event_store"
branch_labels = None
depends_on = None


def upgrade() -> None:
    s = target_schema()
    op.execute(f"""
        CREATE FUNCTION "{s}".require(condition boolean, refusal text) RETURNS boolean
        LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
            IF condition IS NOT TRUE THEN
                RAISE EXCEPTION USING ERRCODE = 'CRM01', MESSAGE = refusal;
            END IF;
            RETURN true;
        END
        $$
    """)


def downgrade() -> None:
    s = target_schema()
    op.execute(f'DROP FUNCTION "{s}".require(boolean, text)')
