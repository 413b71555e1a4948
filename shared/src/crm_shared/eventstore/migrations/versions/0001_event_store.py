"""Event store: the append-only events table, relay checkpoints, consumer idempotency keys.

Revision ID: 0001_event_store
Revises:
Create Date: 2026-11-24
"""

from alembic import op

from crm_shared.eventstore.migrate import target_schema

revision = "0001_event_store"
down_revision = None
branch_labels = ("eventstore",)
depends_on = None


def upgrade() -> None:
    s = target_schema()
    op.execute(f"""
        CREATE TABLE "{s}".events (
            global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            event_id uuid NOT NULL,
            stream_id text NOT NULL,
            stream_version integer NOT NULL CHECK (stream_version >= 1),
            event_type text NOT NULL,
            schema_version integer NOT NULL CHECK (schema_version >= 1),
            partition_key text NOT NULL,
            subject text,
            tenant_id text NOT NULL,
            data jsonb NOT NULL,
            metadata jsonb NOT NULL,
            occurred_at timestamptz NOT NULL,
            recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            CONSTRAINT events_event_id_key UNIQUE (event_id),
            CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version)
        )
    """)
    # The log is immutable: history is corrected by new events, never by rewriting old ones.
    op.execute(f"""
        CREATE FUNCTION "{s}".events_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'events are immutable: % refused on %.events', TG_OP, TG_TABLE_SCHEMA
                USING ERRCODE = 'restrict_violation';
        END $$
    """)
    op.execute(f"""
        CREATE TRIGGER events_immutable BEFORE UPDATE OR DELETE ON "{s}".events
        FOR EACH ROW EXECUTE FUNCTION "{s}".events_are_immutable()
    """)
    op.execute(f"""
        CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON "{s}".events
        FOR EACH STATEMENT EXECUTE FUNCTION "{s}".events_are_immutable()
    """)
    op.execute(f"""
        CREATE TABLE "{s}".relay_checkpoints (
            topic text PRIMARY KEY,
            position bigint NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now()
        )
    """)
    op.execute(f"""
        CREATE TABLE "{s}".processed_events (
            consumer text NOT NULL,
            event_id text NOT NULL,
            processed_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (consumer, event_id)
        )
    """)


def downgrade() -> None:
    s = target_schema()
    op.execute(f'DROP TABLE "{s}".processed_events')
    op.execute(f'DROP TABLE "{s}".relay_checkpoints')
    op.execute(f'DROP TABLE "{s}".events')
    op.execute(f'DROP FUNCTION "{s}".events_are_immutable()')
