"""require(condition, refusal): a statement that checks what must hold for it to be kept.

A create is one statement that is a transaction of its own (no BEGIN and COMMIT round trips),
so what was checked after it and undone by a rollback (the custom fields it was validated
against are still current, its data key and its events were written) is checked inside it:
an error there undoes all of it.

Revision ID: c0010_statement_requirements
Revises: c0009_last_names_as_identifiers
Create Date: 2026-12-02
"""

from alembic import op

from crm_shared.eventstore.migrate import target_schema

revision = "c0010_statement_requirements"
down_revision = "c0009_last_names_as_identifiers"
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
