"""PostgreSQL and event-store adapters of the contacts service."""
