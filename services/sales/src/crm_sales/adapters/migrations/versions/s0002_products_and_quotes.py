"""Products, price books, an opportunity's line items, and quotes.

Revision ID: s0002_products_and_quotes
Revises: s0001_sales_read_model
Create Date: 2026-11-24
"""

from alembic import op

from crm_shared.eventstore.migrate import target_schema

revision = "s0002_products_and_quotes"
down_revision = "s0001_sales_read_model"
branch_labels = None
depends_on = None


def upgrade() -> None:
    s = target_schema()
    op.execute(f"""
        CREATE TABLE "{s}".products (
            tenant_id text NOT NULL,
            product_id text NOT NULL,
            version integer NOT NULL,
            definition jsonb NOT NULL,
            PRIMARY KEY (tenant_id, product_id)
        )
    """)
    op.execute(f"""
        CREATE TABLE "{s}".price_books (
            tenant_id text NOT NULL,
            price_book_id text NOT NULL,
            version integer NOT NULL,
            definition jsonb NOT NULL,
            PRIMARY KEY (tenant_id, price_book_id)
        )
    """)
    op.execute(f"""
        CREATE TABLE "{s}".quotes (
            quote_id text PRIMARY KEY,
            tenant_id text NOT NULL,
            opportunity_id text NOT NULL,
            quote_number integer NOT NULL,
            document jsonb NOT NULL,
            issued_at timestamptz NOT NULL,
            UNIQUE (opportunity_id, quote_number)
        )
    """)
    op.execute(
        f'ALTER TABLE "{s}".opportunities ADD COLUMN price_book_id text,'
        " ADD COLUMN line_items jsonb NOT NULL DEFAULT '[]'"
    )


def downgrade() -> None:
    s = target_schema()
    op.execute(f'ALTER TABLE "{s}".opportunities DROP COLUMN price_book_id, DROP COLUMN line_items')
    for table in ("quotes", "price_books", "products"):
        op.execute(f'DROP TABLE "{s}".{table}')
