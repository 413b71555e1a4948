"""The sales service's own settings (prefix ``SALES_``); shared ones: PlatformSettings."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SalesSettings(BaseSettings):
    """Settings of the sales service."""

    model_config = SettingsConfigDict(env_prefix="SALES_", extra="ignore", frozen=True)

    db_schema: str = Field(
        "sales", description="PostgreSQL schema holding the service's events and tables."
    )
    http_host: str = Field("127.0.0.1", description="Address the HTTP API listens on.")
    http_port: int = Field(8102, description="Port of the HTTP API.")
    run_relay: bool = Field(
        True, description="Run the outbox relay in this process (one replica publishes)."
    )
    run_consumer: bool = Field(
        True,
        description="Consume crm.contacts.events in this process (merges re-point"
        " opportunities to the surviving contact).",
    )
