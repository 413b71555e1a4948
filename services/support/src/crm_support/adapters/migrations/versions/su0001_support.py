"""Support read model: cases and their thread, queues, the SLA policy, mailboxes, the
knowledge base, and the durable SLA timers.

``sla_timers`` holds every timer a case needs (a warning, a breach, the closing of a resolved
case): written in the transaction that changes the case, fired (and marked fired) in the
transaction that records what the timer does, so a restart loses none and none fires twice.

Revision ID: su0001_support
Revises:
Create Date: 2026-11-24
"""

from alembic import op

from crm_shared.eventstore.migrate import target_schema

revision = "su0001_support"
down_revision = None
branch_labels = ("support",)
depends_on = "0001_event_store"


def upgrade() -> None:
    s = target_schema()
    op.execute(f"""
        CREATE TABLE "{s}".cases (
            case_id text PRIMARY KEY,
            tenant_id text NOT NULL,
            number bigint NOT NULL,
            version integer NOT NULL,
            status text NOT NULL,
            priority text NOT NULL,
            tier text NOT NULL,
            channel text NOT NULL,
            category text,
            queue_id text,
            assignee_id text,
            contact_id text,
            account_id text,
            details jsonb NOT NULL,
            erased boolean NOT NULL DEFAULT false,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            UNIQUE (tenant_id, number)
        )
    """)
    op.execute(f'CREATE INDEX cases_by_update ON "{s}".cases (tenant_id, updated_at, case_id)')
    op.execute(f'CREATE INDEX cases_by_contact ON "{s}".cases (tenant_id, contact_id)')
    op.execute(
        f'CREATE INDEX cases_open_by_assignee ON "{s}".cases (tenant_id, assignee_id)'
        " WHERE status NOT IN ('resolved', 'closed')"
    )
    op.execute(f"""
        CREATE TABLE "{s}".case_numbers (
            tenant_id text PRIMARY KEY,
            last bigint NOT NULL
        )
    """)
    op.execute(f"""
        CREATE TABLE "{s}".interactions (
            interaction_id text PRIMARY KEY,
            case_id text NOT NULL,
            tenant_id text NOT NULL,
            at timestamptz NOT NULL,
            visibility text NOT NULL,
            author text NOT NULL,
            author_id text NOT NULL,
            channel text NOT NULL,
            body text,
            attachments jsonb NOT NULL,
            message_id text
        )
    """)
    op.execute(f'CREATE INDEX interactions_of_case ON "{s}".interactions (case_id, at)')
    op.execute(
        f'CREATE UNIQUE INDEX interactions_by_message ON "{s}".interactions'
        " (tenant_id, message_id) WHERE message_id IS NOT NULL"
    )
    op.execute(f"""
        CREATE TABLE "{s}".queues (
            queue_id text PRIMARY KEY,
            tenant_id text NOT NULL,
            version integer NOT NULL,
            definition jsonb NOT NULL,
            turn bigint NOT NULL DEFAULT 0
        )
    """)
    op.execute(f"""
        CREATE TABLE "{s}".sla_policies (
            tenant_id text PRIMARY KEY,
            version integer NOT NULL,
            definition jsonb NOT NULL
        )
    """)
    op.execute(f"""
        CREATE TABLE "{s}".sla_timers (
            case_id text NOT NULL,
            kind text NOT NULL,
            tenant_id text NOT NULL,
            due_at timestamptz NOT NULL,
            fired_at timestamptz,
            PRIMARY KEY (case_id, kind, due_at)
        )
    """)
    op.execute(f'CREATE INDEX sla_timers_due ON "{s}".sla_timers (due_at) WHERE fired_at IS NULL')
    op.execute(f"""
        CREATE TABLE "{s}".mailboxes (
            address text PRIMARY KEY,
            tenant_id text NOT NULL,
            queue_id text,
            priority text NOT NULL,
            category text
        )
    """)
    op.execute(f"""
        CREATE TABLE "{s}".articles (
            article_id text PRIMARY KEY,
            tenant_id text NOT NULL,
            version integer NOT NULL,
            title text NOT NULL,
            body text NOT NULL,
            tags text[] NOT NULL,
            updated_at timestamptz NOT NULL,
            search tsvector GENERATED ALWAYS AS (
                setweight(to_tsvector('english', title), 'A')
                || setweight(to_tsvector('english', body), 'B')
            ) STORED
        )
    """)
    op.execute(f'CREATE INDEX articles_search ON "{s}".articles USING gin (search)')
    op.execute(f"""
        CREATE TABLE "{s}".article_cases (
            article_id text NOT NULL,
            case_id text NOT NULL,
            tenant_id text NOT NULL,
            PRIMARY KEY (article_id, case_id)
        )
    """)


def downgrade() -> None:
    s = target_schema()
    for table in (
        "article_cases",
        "articles",
        "mailboxes",
        "sla_timers",
        "sla_policies",
        "queues",
        "interactions",
        "case_numbers",
        "cases",
    ):
        op.execute(f'DROP TABLE "{s}".{table}')
